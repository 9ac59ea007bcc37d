package httpretry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/httpretry"
)

// TestStatuses checks which statuses are retried by default and with
// Statuses.
func TestStatuses(t *testing.T) {
	all500 := httpretry.Statuses(429, 500, 502, 503, 504)
	cases := []struct {
		status int
		opts   []httpretry.Option
		want   int64 // attempts
	}{
		{429, nil, 2}, {502, nil, 2}, {503, nil, 2}, {504, nil, 2},
		{500, nil, 1}, {501, nil, 1}, {400, nil, 1}, {404, nil, 1}, {408, nil, 1},
		{500, []httpretry.Option{all500}, 2},
		{503, []httpretry.Option{httpretry.Statuses(500)}, 1},
		{503, []httpretry.Option{httpretry.Statuses()}, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%d options", c.status, len(c.opts)), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
					if n == 1 {
						reply(w, c.status, "first", "Retry-After", "1")
						return
					}
					reply(w, 200, "ok")
				})
				resp, err := get(t.Context(), t, s.transport(t, c.opts...), s.URL)
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, resp)
				if got := s.attempts.Load(); got != c.want {
					t.Errorf("%d attempts, want %d", got, c.want)
				}
				if want := map[int64]int{1: c.status, 2: 200}[c.want]; resp.StatusCode != want {
					t.Errorf("status %d, want %d", resp.StatusCode, want)
				}
			})
		})
	}
}

// TestIdempotence checks which requests are retried: idempotent methods,
// an Idempotency-Key header, and the Idempotent mark either way.
func TestIdempotence(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		method string
		header string
		mark   *bool
		want   int64 // attempts
	}{
		{http.MethodGet, "", nil, 2},
		{"", "", nil, 2},
		{http.MethodHead, "", nil, 2},
		{http.MethodOptions, "", nil, 2},
		{http.MethodTrace, "", nil, 2},
		{http.MethodPut, "", nil, 2},
		{http.MethodDelete, "", nil, 2},
		{http.MethodPost, "", nil, 1},
		{http.MethodPatch, "", nil, 1},
		{http.MethodPost, "Idempotency-Key", nil, 2},
		{http.MethodPost, "X-Idempotency-Key", nil, 2},
		{http.MethodPost, "", &yes, 2},
		{http.MethodPatch, "", &yes, 2},
		{http.MethodGet, "", &no, 1},
		{http.MethodPost, "Idempotency-Key", &no, 1},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%q %s", c.method, c.header)
		if c.mark != nil {
			name += fmt.Sprintf(" Idempotent(%v)", *c.mark)
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var bodies []string
				s := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
					b, _ := io.ReadAll(r.Body)
					bodies = append(bodies, string(b))
					if n == 1 {
						reply(w, 503, "", "Retry-After", "0")
						return
					}
					reply(w, 200, "ok")
				})
				var rec recorder
				tr := s.transport(t, rec.options())
				ctx := t.Context()
				if c.mark != nil {
					ctx = httpretry.Idempotent(ctx, *c.mark)
				}
				req, err := http.NewRequestWithContext(ctx, c.method, s.URL, strings.NewReader("order 17"))
				if err != nil {
					t.Fatal(err)
				}
				if c.header != "" {
					req.Header.Set(c.header, "k-17")
				}
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, resp)
				if got := s.attempts.Load(); got != c.want {
					t.Errorf("%d attempts, want %d", got, c.want)
				}
				if c.want == 1 && (resp.StatusCode != 503 || len(rec.events) != 0) {
					t.Errorf("not retried: got %d and %d events, want the 503 and none", resp.StatusCode, len(rec.events))
				}
				for i, b := range bodies {
					if b != "order 17" && c.method != http.MethodHead {
						t.Errorf("attempt %d sent body %q", i+1, b)
					}
				}
			})
		})
	}
}

// TestRequestBodyRewound checks that every attempt sends the whole body,
// through both the Transport and Do.
func TestRequestBodyRewound(t *testing.T) {
	for _, via := range []string{"Transport", "Do"} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				payload := strings.Repeat("payload ", 10000)
				s := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
					b, err := io.ReadAll(r.Body)
					if err != nil || string(b) != payload || r.ContentLength != int64(len(payload)) {
						t.Errorf("attempt %d: body of %d bytes (Content-Length %d), err %v", n, len(b), r.ContentLength, err)
					}
					if n < 3 {
						reply(w, 503, "", "Retry-After", "1")
						return
					}
					reply(w, 200, "stored")
				})
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, s.URL, bytes.NewReader([]byte(payload)))
				if err != nil {
					t.Fatal(err)
				}
				var resp *http.Response
				if via == "Do" {
					resp, err = httpretry.Do(&http.Client{Transport: s.base}, req)
				} else {
					resp, err = s.transport(t).RoundTrip(req)
				}
				if err != nil {
					t.Fatal(err)
				}
				if body := readAll(t, resp); body != "stored" || s.attempts.Load() != 3 {
					t.Errorf("got %q after %d attempts, want \"stored\" after 3", body, s.attempts.Load())
				}
				// A second connection would mean that net/http had to resend a
				// body that this package failed to rewind.
				if n := s.ln.accepted.Load(); n != 1 {
					t.Errorf("%d connections, want 1", n)
				}
			})
		})
	}
}

// onlyReader hides the type of its reader, so that http.NewRequest cannot
// set GetBody.
type onlyReader struct{ io.Reader }

// TestRequestBodyNotRewindable checks that a request whose body cannot be
// sent again is not retried: a status is returned as it came, and a
// transport error says why it was not retried.
func TestRequestBodyNotRewindable(t *testing.T) {
	t.Run("status", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				io.Copy(io.Discard, r.Body)
				reply(w, 503, "busy", "Retry-After", "1")
			})
			var rec recorder
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, s.URL, onlyReader{strings.NewReader("stream")})
			resp, err := s.transport(t, rec.options()).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); resp.StatusCode != 503 || body != "busy" {
				t.Errorf("got %d %q, want the 503 with its body", resp.StatusCode, body)
			}
			ev := rec.last()
			if s.attempts.Load() != 1 || ev.Reason != backoff.ReasonPermanent || !errors.Is(ev.Err, httpretry.ErrBodyNotRewindable) {
				t.Errorf("%d attempts, give-up %v (%v): want 1, permanent, ErrBodyNotRewindable", s.attempts.Load(), ev.Reason, ev.Err)
			}
		})
	})
	t.Run("transport error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serve(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
				io.Copy(io.Discard, r.Body)
				panic(http.ErrAbortHandler)
			})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, s.URL, onlyReader{strings.NewReader("stream")})
			start := time.Now()
			resp, err := s.transport(t).RoundTrip(req)
			if resp != nil || !errors.Is(err, httpretry.ErrBodyNotRewindable) || s.attempts.Load() != 1 {
				t.Fatalf("got %v, %v after %d attempts: want ErrBodyNotRewindable after 1", resp, err, s.attempts.Load())
			}
			var gu *backoff.GiveUpError
			if !errors.As(err, &gu) || gu.Tries != 1 || gu.Reason != backoff.ReasonPermanent || time.Since(start) != 0 {
				t.Errorf("error %v after %v: want a permanent give-up after 1 try, without a wait", err, time.Since(start))
			}
		})
	})
}

// TestDiscardedBodiesDrained checks that each discarded response is
// drained and closed: short bodies leave their connection to carry the
// next attempt, long ones are closed after 64 KiB. A body left open would
// keep the server's Close waiting, which fails the bubble as deadlocked.
func TestDiscardedBodiesDrained(t *testing.T) {
	cases := []struct {
		name        string
		size        int
		connections int64
	}{
		{"short bodies keep the connection", 32 << 10, 1},
		{"long bodies are closed", 1 << 20, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
					if n < 4 {
						reply(w, 503, strings.Repeat("x", c.size), "Retry-After", "1")
						return
					}
					reply(w, 200, "ok")
				})
				resp, err := get(t.Context(), t, s.transport(t), s.URL)
				if err != nil {
					t.Fatal(err)
				}
				if got := s.closes.Load(); got != 3 {
					t.Errorf("%d bodies closed before the caller's, want 3", got)
				}
				if body := readAll(t, resp); body != "ok" {
					t.Errorf("body %q", body)
				}
				if got := s.ln.accepted.Load(); got != c.connections {
					t.Errorf("%d connections, want %d", got, c.connections)
				}
			})
		})
	}
}

// TestContextCancel checks that the caller's context ending stops the
// request at once, in a wait or in an attempt, and is never retried.
func TestContextCancel(t *testing.T) {
	for _, during := range []string{"wait", "attempt"} {
		t.Run(during, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
					if during == "attempt" {
						sleep(r, time.Minute)
					}
					reply(w, 503, "busy", "Retry-After", "30")
				})
				var rec recorder
				tr := s.transport(t, rec.options())
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				time.AfterFunc(5*time.Second, cancel)
				start := time.Now()
				resp, err := get(ctx, t, tr, s.URL)
				if resp != nil || !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v, %v: want context.Canceled", resp, err)
				}
				if took := time.Since(start); took != 5*time.Second {
					t.Errorf("returned after %v, want 5s", took)
				}
				if n := s.attempts.Load(); n != 1 || rec.last().Reason != backoff.ReasonContext {
					t.Errorf("%d attempts, reason %v: want 1, %v", n, rec.last().Reason, backoff.ReasonContext)
				}
			})
		})
	}
}

// TestContextEndsWithResponse checks that a response is closed, not
// returned, when the caller's context ends as it arrives, or when an
// OnBackoff handler panics.
func TestContextEndsWithResponse(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, 503, "busy") })
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			tr, err := httpretry.New(roundTripFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := s.countingBase().RoundTrip(req)
				cancel()
				return resp, err
			}))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := get(ctx, t, tr, s.URL)
			if resp != nil || !errors.Is(err, context.Canceled) || s.closes.Load() != 1 {
				t.Errorf("got %v, %v, %d bodies closed: want context.Canceled and the body closed", resp, err, s.closes.Load())
			}
		})
	})
	t.Run("panic", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, 503, "busy") })
			tr := s.transport(t, httpretry.Policy(backoff.OnBackoff(func(backoff.Event[*http.Response]) { panic("handler bug") })))
			resp, err := get(t.Context(), t, tr, s.URL)
			var pe *backoff.PanicError
			if resp != nil || !errors.As(err, &pe) || pe.Value != "handler bug" || s.closes.Load() != 1 {
				t.Errorf("got %v, %v, %d bodies closed: want the panic and the body closed", resp, err, s.closes.Load())
			}
		})
	})
}

// TestContextDeadline checks that a wait that would pass the context's
// deadline is not started: the last response comes back at once.
func TestContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			reply(w, 503, "busy", "Retry-After", "30")
		})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := get(ctx, t, s.transport(t), s.URL)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); resp.StatusCode != 503 || body != "busy" || time.Since(start) != 0 {
			t.Errorf("got %d %q after %v: want the 503 at once", resp.StatusCode, body, time.Since(start))
		}
	})
}

// TestGiveUpReturnsLastResponse checks that whatever limit ends the
// retries of a status, the caller gets the last response, body intact,
// and no error.
func TestGiveUpReturnsLastResponse(t *testing.T) {
	stop503 := func(err error) bool {
		var se *httpretry.StatusError
		return errors.As(err, &se) && se.Response.StatusCode == 503
	}
	cases := []struct {
		name     string
		opts     []backoff.Option
		header   []string
		attempts int64
		waits    string
		reason   backoff.Reason
	}{
		{"MaxTries", []backoff.Option{backoff.MaxTries(3)}, []string{"Retry-After", "1"}, 3, "1s 1s", backoff.ReasonMaxTries},
		{"default MaxTries", nil, []string{"Retry-After", "1"}, httpretry.DefaultMaxTries, "1s 1s 1s", backoff.ReasonMaxTries},
		{"MaxTime", []backoff.Option{backoff.MaxTime(90 * time.Second)}, []string{"Retry-After", "60"}, 3, "1m0s 30s", backoff.ReasonMaxTime},
		{"strategy exhausted", []backoff.Option{backoff.Intervals{time.Second}, backoff.NoJitter}, nil, 2, "1s", backoff.ReasonExhausted},
		{"GiveUp", []backoff.Option{backoff.GiveUp(stop503)}, nil, 1, "", backoff.ReasonGiveUp},
		{"ErrorOnGiveUp(false)", []backoff.Option{backoff.MaxTries(2), backoff.ErrorOnGiveUp(false)}, []string{"Retry-After", "1"}, 2, "1s", backoff.ReasonMaxTries},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
					reply(w, 503, fmt.Sprintf("busy %d", n), c.header...)
				})
				var rec recorder
				resp, err := get(t.Context(), t, s.transport(t, httpretry.Policy(c.opts...), rec.options()), s.URL)
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("busy %d", c.attempts)
				if body := readAll(t, resp); resp.StatusCode != 503 || body != want {
					t.Errorf("got %d %q, want 503 %q", resp.StatusCode, body, want)
				}
				if got := join(rec.waits()); got != c.waits {
					t.Errorf("waits %q, want %q", got, c.waits)
				}
				if ev := rec.last(); ev.Kind != backoff.EventGiveUp || ev.Reason != c.reason || ev.Value != resp {
					t.Errorf("last event %v %v, want give-up %v with the response", ev.Kind, ev.Reason, c.reason)
				}
			})
		})
	}
}

// TestTransportErrors checks that transport errors are retried, and that
// when they last, the error wraps the last one and the reason.
func TestTransportErrors(t *testing.T) {
	t.Run("retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n < 3 {
					panic(http.ErrAbortHandler) // the connection drops without a response
				}
				reply(w, 200, "ok")
			})
			var rec recorder
			resp, err := get(t.Context(), t, s.transport(t, httpretry.Policy(backoff.NoWait{}), rec.options()), s.URL)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); body != "ok" || s.attempts.Load() != 3 {
				t.Errorf("got %q after %d attempts", body, s.attempts.Load())
			}
			for _, ev := range rec.events[:2] {
				if ev.Kind != backoff.EventBackoff || ev.Err == nil || ev.Value != nil {
					t.Errorf("event %v with error %v and value %v: want a backoff with an error", ev.Kind, ev.Err, ev.Value)
				}
			}
		})
	})
	for _, quiet := range []bool{false, true} {
		t.Run(fmt.Sprintf("give up, ErrorOnGiveUp(%v)", !quiet), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := serve(t, func(http.ResponseWriter, *http.Request, int) { panic(http.ErrAbortHandler) })
				tr := s.transport(t, httpretry.Policy(backoff.NoWait{}, backoff.MaxTries(2), backoff.ErrorOnGiveUp(!quiet)))
				resp, err := (&http.Client{Transport: tr}).Get(s.URL)
				if resp != nil || err == nil {
					t.Fatalf("got %v, %v: want an error", resp, err)
				}
				var gu *backoff.GiveUpError
				if !quiet && (!errors.As(err, &gu) || gu.Reason != backoff.ReasonMaxTries || gu.Tries != 2) {
					t.Errorf("error %v: want a give-up after 2 tries", err)
				}
				// Without the give-up error, the last attempt's error is returned.
				if quiet && (errors.As(err, &gu) || !errors.Is(err, io.EOF)) {
					t.Errorf("error %v: want the last attempt's", err)
				}
				if s.attempts.Load() != 2 {
					t.Errorf("%d attempts, want 2", s.attempts.Load())
				}
			})
		})
	}
}

// TestCertificateErrorNotRetried checks that a certificate the client
// rejects fails once, not once per try.
func TestCertificateErrorNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newMemListener()
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.Listener.Close()
		srv.Listener = ln
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		base := &http.Transport{DialContext: ln.DialContext}
		defer func() {
			base.CloseIdleConnections()
			srv.Close()
		}()
		tr, err := httpretry.New(base, httpretry.Policy(backoff.NoWait{}))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := get(t.Context(), t, tr, srv.URL)
		var gu *backoff.GiveUpError
		if resp != nil || !errors.As(err, &gu) || gu.Reason != backoff.ReasonNotRetryable {
			t.Fatalf("got %v, %v: want a give-up as not retryable", resp, err)
		}
		if n := ln.accepted.Load(); n != 1 {
			t.Errorf("%d connections, want 1", n)
		}
	})
}

type countingObserver struct{ kinds [8]atomic.Int64 }

func (o *countingObserver) Observe(ob backoff.Observation) { o.kinds[ob.Kind].Add(1) }

// TestEvents checks that the backoff package's handlers, logger and
// observer see each retry and the outcome, typed on *http.Response.
func TestEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
			switch n {
			case 1:
				reply(w, 503, "", "Retry-After", "2")
			case 2:
				reply(w, 429, "", "Retry-After", "1")
			default:
				reply(w, 200, "ok")
			}
		})
		var (
			logs bytes.Buffer
			obs  countingObserver
			kind []string
		)
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))
		record := func(ev backoff.Event[*http.Response]) {
			kind = append(kind, fmt.Sprintf("%v %d %d %v", ev.Kind, ev.Tries, ev.Value.StatusCode, ev.Wait))
		}
		tr := s.transport(t, httpretry.Policy(
			backoff.OnBackoff(record), backoff.OnSuccess(record),
			backoff.OnBackoff(func(ev backoff.Event[*http.Response]) {
				var se *httpretry.StatusError
				if !errors.As(ev.Err, &se) || se.Response != ev.Value {
					t.Errorf("backoff event error %v: want a *StatusError with the response", ev.Err)
				}
			}),
			backoff.WithLogger(logger), backoff.WithObserver(&obs), backoff.Name("search"),
		))
		resp, err := get(t.Context(), t, tr, s.URL+"/q")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if got, want := strings.Join(kind, ", "), "backoff 1 503 2s, backoff 2 429 1s, success 3 200 0s"; got != want {
			t.Errorf("events %q, want %q", got, want)
		}
		if want := `msg="Backing off search(...) for 2.0s (httpretry: GET http://server.test:80/q: 503 Service Unavailable)"`; !strings.Contains(logs.String(), want) {
			t.Errorf("log:\n%s\nwant a line with %s", logs.String(), want)
		}
		if b, ok := obs.kinds[backoff.ObserveBackoff].Load(), obs.kinds[backoff.ObserveSuccess].Load(); b != 2 || ok != 1 {
			t.Errorf("observer saw %d backoffs and %d successes, want 2 and 1", b, ok)
		}
	})
}

// TestSharedBudget checks that a budget shared by two transports caps
// their retries together, and that a request it stops returns its last
// response.
func TestSharedBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			if r.URL.Path == "/ok" {
				reply(w, 200, "ok")
				return
			}
			reply(w, 503, "busy")
		})
		budget, err := backoff.NewBudget(backoff.BudgetConfig{Ratio: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		var failed atomic.Int64
		opts := httpretry.Policy(backoff.WithBudget(budget, backoff.GiveUpWhenEmpty), backoff.NoWait{}, backoff.MaxTries(10),
			backoff.OnGiveUp(func(ev backoff.Event[*http.Response]) {
				if ev.Reason == backoff.ReasonBudget {
					failed.Add(1)
				}
			}))
		a, b := s.transport(t, opts), s.transport(t, opts)
		for _, tr := range []*httpretry.Transport{a, b, a, b} { // 4 first attempts earn 2 retries
			resp, err := get(t.Context(), t, tr, s.URL+"/ok")
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
		}
		attempts := func(tr *httpretry.Transport) int64 {
			before := s.attempts.Load()
			resp, err := get(t.Context(), t, tr, s.URL+"/fail")
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); resp.StatusCode != 503 || body != "busy" {
				t.Errorf("got %d %q, want the last 503", resp.StatusCode, body)
			}
			return s.attempts.Load() - before
		}
		// 5 first attempts allow 2.5 retries: 2 are made.
		if n := attempts(a); n != 3 {
			t.Errorf("first failing request: %d attempts, want 3", n)
		}
		// 6 first attempts allow 3 retries, 2 already made.
		if n := attempts(b); n != 2 {
			t.Errorf("second failing request: %d attempts, want 2", n)
		}
		if st := budget.Stats(); st.Retries != 3 || st.Denied != 2 || failed.Load() != 2 {
			t.Errorf("budget %+v, %d give-ups for it: want 3 retries, 2 denied, 2 give-ups", st, failed.Load())
		}
	})
}

// TestAttemptTimeout checks that AttemptTimeout bounds each attempt, and
// that the body of the response that is returned can be read after the
// attempt's context has ended.
func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				sleep(r, 10*time.Second)
			}
			io.WriteString(w, "o")
			w.(http.Flusher).Flush()
			time.Sleep(time.Second) // the rest of the body comes after the attempt returned
			io.WriteString(w, "k")
		})
		start := time.Now()
		resp, err := get(t.Context(), t, s.transport(t, httpretry.Policy(backoff.AttemptTimeout(2*time.Second), backoff.NoWait{})), s.URL)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); body != "ok" || s.attempts.Load() != 2 {
			t.Errorf("got %q after %d attempts, want \"ok\" after 2", body, s.attempts.Load())
		}
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("took %v, want 3s: a 2s timeout and a 1s body", took)
		}
	})
}

// TestWithClock checks that backoff.WithClock is accepted, unlike by
// backoff.NewPolicy, and that the waits run on that clock.
func TestWithClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
			if n == 1 {
				reply(w, 503, "", "Retry-After", "5")
				return
			}
			reply(w, 200, "ok")
		})
		mock := clock.NewMock()
		tr := s.transport(t, httpretry.Policy(backoff.WithClock(mock)))
		done := make(chan string)
		go func() {
			resp, err := get(t.Context(), t, tr, s.URL)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- readAll(t, resp)
		}()
		synctest.Wait()
		if n := s.attempts.Load(); n != 1 {
			t.Fatalf("%d attempts before the mock moved, want 1", n)
		}
		mock.Add(5 * time.Second)
		if got := <-done; got != "ok" {
			t.Errorf("got %q", got)
		}
	})
}

// TestPolicyValue checks that a *backoff.Policy replaces the defaults.
func TestPolicyValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, 502, "down") })
		p, err := backoff.NewPolicy[*http.Response](backoff.MaxTries(6), backoff.Constant{Interval: time.Second}, backoff.NoJitter)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := get(t.Context(), t, s.transport(t, httpretry.Policy(p)), s.URL)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		// The policy's strategy and its NoJitter apply, not the defaults.
		if n, took := s.attempts.Load(), time.Since(start); n != 6 || took != 5*time.Second {
			t.Errorf("%d attempts in %v, want 6 in 5s", n, took)
		}
	})
}

// TestBadInput checks that bad options and arguments are errors naming
// them, from New and from Do, and that nothing is sent.
func TestBadInput(t *testing.T) {
	cases := []struct {
		opt  httpretry.Option
		want string
	}{
		{httpretry.Statuses(503, 200), "httpretry: Statuses: 200 is not an error status"},
		{httpretry.Statuses(600), "httpretry: Statuses: 600"},
		{httpretry.MaxRetryAfter(0), "httpretry: MaxRetryAfter must be > 0, got 0s"},
		{httpretry.MaxRetryAfter(-time.Second), "httpretry: MaxRetryAfter must be > 0, got -1s"},
		{nil, "httpretry: option 0 is nil"},
		{httpretry.Policy(nil), "httpretry: Policy: backoff: nil Option"},
		{httpretry.Policy(backoff.MaxTries(0)), "httpretry: Policy: backoff: MaxTries must be >= 1, got 0"},
		{httpretry.Policy(backoff.OnBackoff(func(backoff.Event[string]) {})), "OnBackoff: handler func(backoff.Event[string]) does not match the op's value type *http.Response"},
		{httpretry.Policy(backoff.Expo{Base: 0.5}), "Expo.Base"},
		{httpretry.Policy(backoff.Constant{Interval: -time.Second}), "Constant.Interval"},
		{httpretry.Policy(backoff.Constant{Interval: -time.Second}, backoff.NoJitter), "Constant.Interval"},
		{httpretry.Policy(backoff.WithClock(nil)), "WithClock: clock is nil"},
		{httpretry.Policy(backoff.WithBudget(nil, backoff.GiveUpWhenEmpty)), "WithBudget: budget is nil"},
	}
	for _, c := range cases {
		if tr, err := httpretry.New(nil, c.opt); tr != nil || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New: got %v, %v; want an error with %q", tr, err, c.want)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, 200, "ok") })
		client := &http.Client{Transport: s.base}
		for _, c := range cases {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req, _ := http.NewRequestWithContext(t.Context(), method, s.URL, nil)
				if resp, err := httpretry.Do(client, req, c.opt); resp != nil || err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("Do %s: got %v, %v; want an error with %q", method, resp, err, c.want)
				}
			}
		}
		if n := s.attempts.Load(); n != 0 {
			t.Errorf("%d requests sent with bad options", n)
		}
	})

	req := httptest.NewRequest(http.MethodGet, "http://server.test/", nil)
	if _, err := httpretry.Do(nil, nil); err == nil || !strings.Contains(err.Error(), "httpretry: Do: request is nil") {
		t.Errorf("Do(nil, nil): %v", err)
	}
	var zero httpretry.Transport
	if _, err := zero.RoundTrip(nil); err == nil || !strings.Contains(err.Error(), "httpretry: RoundTrip: request is nil") {
		t.Errorf("RoundTrip(nil): %v", err)
	}
	var none *httpretry.Transport
	if _, err := none.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "nil *Transport") {
		t.Errorf("nil Transport: %v", err)
	}
}

// TestDo checks Do through a client: retries, the client's own redirects
// inside each attempt, and a POST sent once.
func TestDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch {
			case r.URL.Path == "/old":
				http.Redirect(w, r, "/new", http.StatusFound)
			case n == 2:
				reply(w, 503, "", "Retry-After", "1")
			default:
				reply(w, 200, r.Method+" "+r.URL.Path)
			}
		})
		client := &http.Client{Transport: s.base}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/old", nil)
		resp, err := httpretry.Do(client, req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); body != "GET /new" || s.attempts.Load() != 4 {
			t.Errorf("got %q after %d requests, want \"GET /new\" after 4 (two redirected attempts)", body, s.attempts.Load())
		}

		req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/new", nil)
		resp, err = httpretry.Do(client, req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); body != "POST /new" {
			t.Errorf("got %q", body)
		}
	})
}

// TestZeroTransport checks that the zero Transport works, over
// http.DefaultTransport and a real socket (no wait is on the wall clock:
// the server asks for none).
func TestZeroTransport(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			reply(w, 503, "", "Retry-After", "0")
			return
		}
		reply(w, 200, "ok")
	}))
	defer srv.Close()
	client := &http.Client{Transport: &httpretry.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "ok" || n.Load() != 2 {
		t.Errorf("got %q after %d attempts, want \"ok\" after 2", body, n.Load())
	}
}

// TestUnsendableNotRetried checks that a request that fails before it is
// sent, the same way each time, fails at once rather than after waits.
func TestUnsendableNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, 200, "ok") })
		start := time.Now()
		noURL, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL, nil)
		noURL.URL = nil
		if resp, err := s.transport(t).RoundTrip(noURL); resp != nil || err == nil {
			t.Errorf("no URL: got %v, %v; want an error", resp, err)
		}
		incoming := httptest.NewRequest(http.MethodGet, s.URL, nil) // has RequestURI, which clients refuse
		if resp, err := httpretry.Do(&http.Client{Transport: s.base}, incoming); resp != nil || err == nil {
			t.Errorf("server request: got %v, %v; want an error", resp, err)
		}
		if took := time.Since(start); took != 0 || s.attempts.Load() != 0 {
			t.Errorf("failed after %v and %d requests, want at once and none", took, s.attempts.Load())
		}
	})
}

// nilErr's Error dereferences its receiver: a typed nil *nilErr returned
// as an error panics when it is formatted.
type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

// A transport error whose Error method panics (a typed nil) is logged as
// fmt prints it, and RoundTrip returns the give-up instead of panicking.
func TestPanickingTransportError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs strings.Builder
		var typedNil *nilErr
		tr, err := httpretry.New(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, typedNil }),
			httpretry.Policy(backoff.MaxTries(2), backoff.NoWait{}, backoff.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://example.test/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if resp != nil || !errors.Is(err, backoff.ReasonMaxTries) {
			t.Fatalf("RoundTrip = %v, %v; want a MaxTries give-up", resp, err)
		}
		if got := err.Error(); !strings.Contains(got, "<nil>") {
			t.Errorf("give-up error %q does not print the typed nil as fmt does", got)
		}
		if !strings.Contains(logs.String(), "(<nil>)") {
			t.Errorf("log %q does not print the typed nil as fmt does", logs.String())
		}
	})
}
