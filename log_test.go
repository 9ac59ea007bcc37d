package backoff_test

// Log records: python-backoff's two default messages, words and levels
// (README, python-backoff mapping), through a recording slog.Handler.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// recHandler is a slog.Handler that keeps every record at or above min.
type recHandler struct {
	min  slog.Level
	mu   *sync.Mutex
	recs *[]slog.Record
}

func newRecHandler(min slog.Level) *recHandler {
	return &recHandler{min: min, mu: new(sync.Mutex), recs: new([]slog.Record)}
}

func (h *recHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }
func (h *recHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, r.Clone())
	return nil
}
func (h *recHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recHandler) WithGroup(string) slog.Handler      { return h }

func (h *recHandler) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), *h.recs...)
}

// lines renders records as "LEVEL message".
func (h *recHandler) lines() []string {
	var out []string
	for _, r := range h.records() {
		out = append(out, r.Level.String()+" "+r.Message)
	}
	return out
}

func recAttrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	return m
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// test_on_exception_logger_default / _logger_user: MaxTries(3) → two
// "Backing off" at INFO and one "Giving up" at ERROR.
func TestLogMessages(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		h := newRecHandler(slog.LevelDebug)
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			backoff.WithLogger(slog.New(h)), backoff.NoWait{}, backoff.MaxTries(3))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		wantLines(t, h.lines(),
			"INFO Backing off op(...) for 0.0s (boom)",
			"INFO Backing off op(...) for 0.0s (boom)",
			"ERROR Giving up op(...) after 3 tries (boom)")
	})
}

// Name changes "op"; the wait is printed with one decimal, after jitter.
func TestLogNameAndWait(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		h := newRecHandler(slog.LevelDebug)
		_, err := r.run(t.Context(), func(context.Context) (int, error) { time.Sleep(time.Second); return 0, errRtBoom },
			backoff.WithLogger(slog.New(h)), backoff.Name("fetch"), backoff.Constant{Interval: 1500 * time.Millisecond},
			backoff.NoJitter, backoff.MaxTries(2))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 2)
		wantLines(t, h.lines(),
			"INFO Backing off fetch(...) for 1.5s (boom)",
			"ERROR Giving up fetch(...) after 2 tries (boom)")
		recs := h.records()
		b, g := recAttrs(recs[0]), recAttrs(recs[1])
		if b["op"] != "fetch" || b["tries"] != "1" || b["wait"] != "1.5s" || b["elapsed"] != "1s" || b["error"] != "boom" {
			t.Errorf("backoff attrs %v", b)
		}
		if g["op"] != "fetch" || g["tries"] != "2" || g["reason"] != "max tries" || g["elapsed"] != "3.5s" {
			t.Errorf("give-up attrs %v", g)
		}
		if _, ok := g["wait"]; ok {
			t.Errorf("give-up record has a wait: %v", g)
		}
	})
}

// For a rejected value the parenthesised detail is the value.
func TestLogPredicateValue(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		h := newRecHandler(slog.LevelDebug)
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, nil },
			backoff.WithLogger(slog.New(h)), backoff.NoWait{}, backoff.MaxTries(2), backoff.RetryOnValue(func(v int) bool { return v == 0 }))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 2)
		wantLines(t, h.lines(),
			"INFO Backing off op(...) for 0.0s (0)",
			"ERROR Giving up op(...) after 2 tries (0)")
	})
}

// Success is never logged; a give-up for any reason is (litl#217: a
// GiveUp-predicate stop still logs at ERROR).
func TestLogSuccessAndGiveUpPredicate(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		h := newRecHandler(slog.LevelDebug)
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) {
			calls++
			if calls == 1 {
				return 0, errRtBoom
			}
			return 1, nil
		}, backoff.WithLogger(slog.New(h)), backoff.NoWait{})
		if err != nil {
			t.Fatal(err)
		}
		wantLines(t, h.lines(), "INFO Backing off op(...) for 0.0s (boom)")

		h = newRecHandler(slog.LevelDebug)
		_, err = r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtKey },
			backoff.WithLogger(slog.New(h)), backoff.GiveUp(func(error) bool { return true }))
		rtWantGiveUp(t, err, backoff.ReasonGiveUp, 1)
		wantLines(t, h.lines(), "ERROR Giving up op(...) after 1 tries (KeyError)")
		if g := recAttrs(h.records()[0]); g["reason"] != "give-up predicate" {
			t.Fatalf("reason attr %q", g["reason"])
		}
	})
}

// test_event_log_levels: the levels are fixed (INFO, ERROR); a handler
// that only takes ERROR gets only the give-up.
func TestLogLevels(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		h := newRecHandler(slog.LevelError)
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			backoff.WithLogger(slog.New(h)), backoff.NoWait{}, backoff.MaxTries(3))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		wantLines(t, h.lines(), "ERROR Giving up op(...) after 3 tries (boom)")
	})
}

// test_on_exception_logger_none: without WithLogger nothing is logged, not
// even to slog's default logger.
func TestLogNoLogger(t *testing.T) {
	h := newRecHandler(slog.LevelDebug)
	old := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(old)
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			backoff.NoWait{}, backoff.MaxTries(3), backoff.OnSuccess(func(backoff.Event[int]) { panic("x") }))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		_, err = r.run(t.Context(), func(context.Context) (int, error) { return 0, nil },
			backoff.OnSuccess(func(backoff.Event[int]) { panic("x") }))
		if err != nil {
			t.Fatal(err)
		}
	})
	if lines := h.lines(); len(lines) != 0 {
		t.Fatalf("records without a logger: %q", lines)
	}
}

// A panic in OnSuccess or OnGiveUp is logged to the job's logger (the
// outcome is unchanged; see TestRetryOutcomeHandlerPanics).
func TestLogHandlerPanic(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		h := newRecHandler(slog.LevelDebug)
		v, err := r.run(t.Context(), func(context.Context) (int, error) { return 1, nil },
			backoff.WithLogger(slog.New(h)), backoff.OnSuccess(func(backoff.Event[int]) { panic("oops") }))
		if v != 1 || err != nil {
			t.Fatalf("got (%v, %v)", v, err)
		}
		recs := h.records()
		if len(recs) != 1 || recs[0].Level != slog.LevelError || !strings.Contains(recs[0].Message, "panic") ||
			recAttrs(recs[0])["panic"] != "oops" {
			t.Fatalf("records %q, want one ERROR about the handler panic", h.lines())
		}
	})
}

// The logger sees the same wait as the OnBackoff handler.
func TestLogWaitMatchesEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRecHandler(slog.LevelInfo)
		var rec rtRec[int]
		_, err := backoff.Retry(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			rec.with(backoff.WithLogger(slog.New(h)), backoff.Expo{}, backoff.MaxTries(6))...)
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 6)
		recs := h.records()
		for i, w := range rec.waits() {
			if got, want := recs[i].Message, fmt.Sprintf("Backing off op(...) for %.1fs (boom)", w.Seconds()); got != want {
				t.Fatalf("record %d %q, want %q", i, got, want)
			}
			if recAttrs(recs[i])["wait"] != w.String() {
				t.Fatalf("record %d wait attr %q, want %v", i, recAttrs(recs[i])["wait"], w)
			}
		}
	})
}
