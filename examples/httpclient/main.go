// Command httpclient retries one GET through an httpretry.Transport against
// a local server that answers, in turn:
//
//  1. 503 with Retry-After in seconds,
//  2. 429 with Retry-After as an HTTP-date, two seconds after its Date header,
//  3. 503 with a Retry-After of 484289 hours, as one client reported
//     obeying ("retrying in 484289h"),
//  4. 200.
//
// It prints each wait the server asked for and the wait the client made:
// the first two as asked, without jitter, the third capped.
//
//	go run ./examples/httpclient
//
// The cap is set to two seconds for the demo (the default is a minute), so
// the whole run takes about five seconds: 1s, 2s and the capped 2s.
package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/httpretry"
)

const demoCap = 2 * time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "httpclient:", err)
		os.Exit(1)
	}
}

func run() error {
	srv := httptest.NewServer(serve(new(atomic.Int64)))
	defer srv.Close()

	var asked, waited time.Duration
	tr, err := httpretry.New(nil,
		httpretry.MaxRetryAfter(demoCap),
		httpretry.Policy(
			backoff.MaxTries(5),
			backoff.OnBackoff(func(ev backoff.Event[*http.Response]) {
				d := serverWait(ev.Value)
				asked, waited = asked+d, waited+ev.Wait
				how := "as asked"
				if ev.Wait < d {
					how = "capped by MaxRetryAfter"
				}
				fmt.Printf("attempt %d: %s, Retry-After %s\n", ev.Tries, ev.Value.Status, describe(ev.Value))
				fmt.Printf("           server asked for %v; waiting %v, %s\n", d, ev.Wait, how)
			}),
		),
	)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()

	start := time.Now()
	resp, err := client.Get(srv.URL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	took := time.Since(start)

	fmt.Printf("attempt 4: %s, body %q\n", resp.Status, body)
	fmt.Println()
	fmt.Printf("summary: 4 attempts; the server asked for %v of waits, the client waited %v (cap %v)\n", asked, waited, demoCap)
	fmt.Printf("         took %v\n", took.Round(100*time.Millisecond))
	return nil
}

// serve answers with the demo's sequence; n counts requests.
func serve(n *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		case 2:
			// The transport reads the date against the Date header, so a
			// skew between the two machines' clocks does not change the wait.
			now := time.Now().UTC().Truncate(time.Second)
			w.Header().Set("Date", now.Format(http.TimeFormat))
			w.Header().Set("Retry-After", now.Add(2*time.Second).Format(http.TimeFormat))
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 3:
			w.Header().Set("Retry-After", strconv.Itoa(484289*3600))
			http.Error(w, "come back next century", http.StatusServiceUnavailable)
		default:
			fmt.Fprint(w, "hello")
		}
	}
}

// serverWait is the wait resp asks for, read as the transport reads it.
func serverWait(resp *http.Response) time.Duration {
	now, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		now = time.Now()
	}
	d, err := backoff.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	if err != nil {
		return 0
	}
	return d
}

// describe tells the form of resp's Retry-After without printing the date
// itself, which changes from run to run.
func describe(resp *http.Response) string {
	v := resp.Header.Get("Retry-After")
	if _, err := strconv.ParseUint(v, 10, 64); err == nil {
		return strconv.Quote(v) + " (seconds)"
	}
	return "an HTTP-date, " + serverWait(resp).String() + " after the response's Date"
}
