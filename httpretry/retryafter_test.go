package httpretry_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/httpretry"
)

// epoch is where a synctest bubble's clock starts.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// TestRetryAfter checks that each form of Retry-After is waited exactly,
// on fake time, before the next attempt, and that the cap holds.
func TestRetryAfter(t *testing.T) {
	skewed := time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC) // a server clock 31 years ahead of ours
	cases := []struct {
		name   string
		status int
		header []string
		opts   []httpretry.Option
		want   time.Duration
	}{
		{"503 seconds", 503, []string{"Retry-After", "3"}, nil, 3 * time.Second},
		{"429 seconds", 429, []string{"Retry-After", "7"}, nil, 7 * time.Second},
		{"zero seconds", 503, []string{"Retry-After", "0"}, nil, 0},
		{"429 HTTP-date", 429, []string{"Date", httpDate(epoch), "Retry-After", httpDate(epoch.Add(7 * time.Second))}, nil, 7 * time.Second},
		{"503 RFC 850 date", 503, []string{"Date", httpDate(epoch), "Retry-After", "Saturday, 01-Jan-00 00:00:09 GMT"}, nil, 9 * time.Second},
		// Read against our clock, this date is 31 years away and would be capped at a minute.
		{"date read against the Date header", 503, []string{"Date", httpDate(skewed), "Retry-After", httpDate(skewed.Add(5 * time.Second))}, nil, 5 * time.Second},
		{"date without a Date header read against the clock", 503, []string{"Date", "", "Retry-After", httpDate(epoch.Add(4 * time.Second))}, nil, 4 * time.Second},
		{"date with a bad Date header read against the clock", 503, []string{"Date", "yesterday", "Retry-After", httpDate(epoch.Add(4 * time.Second))}, nil, 4 * time.Second},
		{"date in the past", 503, []string{"Date", httpDate(epoch), "Retry-After", httpDate(epoch.Add(-time.Hour))}, nil, 0},
		{"484289h capped at the default minute", 503, []string{"Retry-After", "1743440400"}, nil, httpretry.DefaultMaxRetryAfter},
		{"seconds past int64 capped", 503, []string{"Retry-After", "99999999999999999999999"}, nil, time.Minute},
		{"far date capped", 429, []string{"Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"}, nil, time.Minute},
		{"MaxRetryAfter", 503, []string{"Retry-After", "3600"}, []httpretry.Option{httpretry.MaxRetryAfter(5 * time.Second)}, 5 * time.Second},
		{"MaxRetryAfter above the wait", 503, []string{"Retry-After", "3"}, []httpretry.Option{httpretry.MaxRetryAfter(time.Hour)}, 3 * time.Second},
		{"MaxWait caps it too", 503, []string{"Retry-After", "10"}, []httpretry.Option{httpretry.Policy(backoff.MaxWait(2 * time.Second))}, 2 * time.Second},
		{"unreadable: the strategy waits", 503, []string{"Retry-After", "soon"}, []httpretry.Option{httpretry.Policy(backoff.Constant{Interval: 2 * time.Second}, backoff.NoJitter)}, 2 * time.Second},
		{"none: the strategy waits", 502, nil, []httpretry.Option{httpretry.Policy(backoff.Constant{Interval: 2 * time.Second}, backoff.NoJitter)}, 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
					if n == 1 {
						reply(w, c.status, "wait", c.header...)
						return
					}
					reply(w, 200, "ok")
				})
				var rec recorder
				tr := s.transport(t, append(c.opts, rec.options())...)
				start := time.Now()
				resp, err := get(t.Context(), t, tr, s.URL)
				if err != nil {
					t.Fatal(err)
				}
				if body := readAll(t, resp); resp.StatusCode != 200 || body != "ok" {
					t.Errorf("got %d %q, want 200 \"ok\"", resp.StatusCode, body)
				}
				if got := join(rec.waits()); got != c.want.String() {
					t.Errorf("waits %q, want %v", got, c.want)
				}
				if got := time.Since(start); got != c.want {
					t.Errorf("took %v, want %v", got, c.want)
				}
				if n := s.attempts.Load(); n != 2 {
					t.Errorf("%d attempts, want 2", n)
				}
			})
		})
	}
}

// TestServerWaitsNotJittered checks that a Retry-After is waited as given
// while the strategy's waits, used when there is none, keep their jitter,
// and that a jitter given explicitly applies to both (README, Semantics:
// "Server-given waits").
func TestServerWaitsNotJittered(t *testing.T) {
	const tries = 41
	run := func(t *testing.T, opts ...httpretry.Option) (server, strategy []time.Duration) {
		s := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
			switch {
			case n == tries:
				reply(w, 200, "ok")
			case n%2 == 0:
				reply(w, 503, "", "Retry-After", "10")
			default:
				reply(w, 503, "")
			}
		})
		tr := s.transport(t, append(opts, httpretry.Policy(backoff.MaxTries(tries), backoff.Constant{Interval: 10 * time.Second},
			backoff.OnBackoff(func(ev backoff.Event[*http.Response]) {
				if ev.Value.Header.Get("Retry-After") != "" {
					server = append(server, ev.Wait)
				} else {
					strategy = append(strategy, ev.Wait)
				}
			})))...)
		resp, err := get(t.Context(), t, tr, s.URL)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		return server, strategy
	}
	spread := func(ws []time.Duration, lo, hi time.Duration) bool {
		varied := false
		for _, w := range ws {
			if w < lo || w > hi {
				return false
			}
			varied = varied || w != ws[0]
		}
		return varied
	}

	synctest.Test(t, func(t *testing.T) {
		server, strategy := run(t)
		for _, w := range server {
			if w != 10*time.Second {
				t.Errorf("Retry-After wait %v, want exactly 10s", w)
			}
		}
		if len(server) != 20 || !spread(strategy, 0, 10*time.Second) {
			t.Errorf("strategy waits %v: want 20 spread over [0, 10s]", strategy)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		server, strategy := run(t, httpretry.Policy(backoff.EqualJitter))
		if !spread(server, 5*time.Second, 10*time.Second) || !spread(strategy, 5*time.Second, 10*time.Second) {
			t.Errorf("with EqualJitter, waits %v and %v: want both spread over [5s, 10s]", server, strategy)
		}
	})
}
