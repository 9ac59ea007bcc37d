package httpretry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/httpretry"
)

// flaky answers each request with the next of replies, then 200 with the
// request's method and body.
func flaky(replies ...func(w http.ResponseWriter)) *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := int(n.Add(1)) - 1; i < len(replies) {
			replies[i](w)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.Method, body)
	}))
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(code), code)
	}
}

func printResponse(resp *http.Response, err error) {
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s: %s\n", resp.Status, strings.TrimSpace(string(body)))
}

// A client whose requests are retried on 429, 502, 503 and 504, honouring
// Retry-After.
func Example() {
	srv := flaky(status(503, "0"), status(429, "0"))
	defer srv.Close()

	tr, err := httpretry.New(http.DefaultTransport, httpretry.Policy(
		backoff.OnBackoff(func(ev backoff.Event[*http.Response]) {
			fmt.Printf("try %d: %s, retrying in %v\n", ev.Tries, ev.Value.Status, ev.Wait)
		}),
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: tr}
	printResponse(client.Get(srv.URL))
	// Output:
	// try 1: 503 Service Unavailable, retrying in 0s
	// try 2: 429 Too Many Requests, retrying in 0s
	// 200 OK: GET
}

// A Retry-After beyond the cap is cut to the cap, not obeyed.
func ExampleMaxRetryAfter() {
	srv := flaky(status(503, "86400"))
	defer srv.Close()

	tr, err := httpretry.New(nil,
		httpretry.MaxRetryAfter(10*time.Millisecond),
		httpretry.Policy(backoff.OnBackoff(func(ev backoff.Event[*http.Response]) {
			asked, _ := backoff.ParseRetryAfter(ev.Value.Header.Get("Retry-After"), time.Now())
			fmt.Printf("server asked for %v, waiting %v\n", asked, ev.Wait)
		})),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	printResponse((&http.Client{Transport: tr}).Get(srv.URL))
	// Output:
	// server asked for 24h0m0s, waiting 10ms
	// 200 OK: GET
}

// Do retries one request through a client. A POST is retried only when it
// is marked safe to send twice, here by an Idempotency-Key; the body is
// sent again each time.
func ExampleDo() {
	srv := flaky(status(502, ""), status(502, ""))
	defer srv.Close()

	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"order":17}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Idempotency-Key", "order-17")
	printResponse(httpretry.Do(srv.Client(), req, httpretry.Policy(backoff.NoWait{})))
	// Output:
	// 200 OK: POST {"order":17}
}

// A POST without an Idempotency-Key is sent once, unless its context says
// it may be retried.
func ExampleIdempotent() {
	srv := flaky(status(503, "0"), status(503, "0"))
	defer srv.Close()
	client := &http.Client{Transport: &httpretry.Transport{}}

	post := func(req *http.Request, err error) {
		if err != nil {
			fmt.Println(err)
			return
		}
		printResponse(client.Do(req))
	}
	post(http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("plain")))
	ctx := httpretry.Idempotent(context.Background(), true)
	post(http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("marked")))
	// Output:
	// 503 Service Unavailable: Service Unavailable
	// 200 OK: POST marked
}

// Statuses replaces the set of statuses that are retried; here 500 is
// added to the defaults.
func ExampleStatuses() {
	srv := flaky(status(500, ""))
	defer srv.Close()

	tr, err := httpretry.New(nil,
		httpretry.Statuses(429, 500, 502, 503, 504),
		httpretry.Policy(backoff.NoWait{}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	printResponse((&http.Client{Transport: tr}).Get(srv.URL))
	// Output:
	// 200 OK: GET
}

// A GiveUp predicate sees a *StatusError for each retryable status; here
// a 429 is returned to the caller at once rather than retried.
func ExampleStatusError() {
	srv := flaky(status(429, "0"))
	defer srv.Close()

	tooMany := func(err error) bool {
		var se *httpretry.StatusError
		return errors.As(err, &se) && se.Response.StatusCode == http.StatusTooManyRequests
	}
	tr, err := httpretry.New(nil, httpretry.Policy(backoff.GiveUp(tooMany)))
	if err != nil {
		fmt.Println(err)
		return
	}
	printResponse((&http.Client{Transport: tr}).Get(srv.URL))
	// Output:
	// 429 Too Many Requests: Too Many Requests
}

// New names every bad option.
func ExampleNew_badInput() {
	_, err := httpretry.New(nil,
		httpretry.Statuses(200),
		httpretry.MaxRetryAfter(-time.Second),
		httpretry.Policy(backoff.MaxTries(0)),
	)
	fmt.Println(err)
	// Output:
	// httpretry: Statuses: 200 is not an error status (400 to 599)
	// httpretry: MaxRetryAfter must be > 0, got -1s
	// httpretry: Policy: backoff: MaxTries must be >= 1, got 0
}
