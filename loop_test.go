package backoff_test

// Attempts/Loop: a port of python-backoff's tests/test_retry_context.py
// (sync half; comments name the python test) and the loop's own rules.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// Ports python-backoff's test_retry_context_success.
func TestLoopSuccessAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := backoff.Attempts[string](t.Context(), backoff.NoWait{})
		calls := 0
		for a := range l.All() {
			calls++
			if calls < 3 {
				a.Fail(errRtValue)
				continue
			}
			a.Return("ok", nil)
		}
		v, err := l.Result()
		if v != "ok" || err != nil || calls != 3 || l.Tries() != 3 {
			t.Fatalf("got (%q, %v) after %d calls (Tries %d), want (ok, nil) after 3", v, err, calls, l.Tries())
		}
	})
}

// Ports python-backoff's test_retry_context_max_tries.
func TestLoopMaxTries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := backoff.Attempts[int](t.Context(), backoff.NoWait{}, backoff.MaxTries(3))
		calls := 0
		for a := range l.All() {
			calls++
			a.Fail(errRtValue)
		}
		_, err := l.Result()
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		if calls != 3 || !errors.Is(err, errRtValue) {
			t.Fatalf("%d calls, err %v", calls, err)
		}
	})
}

// Ports python-backoff's test_retry_context_no_raise_on_giveup.
func TestLoopErrorOnGiveUpFalse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := backoff.Attempts[int](t.Context(), backoff.NoWait{}, backoff.MaxTries(3), backoff.ErrorOnGiveUp(false))
		calls := 0
		for a := range l.All() {
			calls++
			a.Return(calls, errRtValue)
		}
		v, err := l.Result()
		if v != 3 || err != nil || calls != 3 {
			t.Fatalf("got (%v, %v) after %d calls, want (3, nil) after 3", v, err, calls)
		}
	})
}

// test_retry_context_unmatched_exception: python propagates after one
// call with no handler; Go gives up with ReasonNotRetryable and runs
// OnGiveUp (README, Semantics: "Give-ups").
func TestLoopUnmatchedError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec rtRec[int]
		l := backoff.Attempts[int](t.Context(), rec.with(backoff.NoWait{}, backoff.RetryOn(errRtValue))...)
		calls := 0
		for a := range l.All() {
			calls++
			a.Fail(errRtKey)
		}
		_, err := l.Result()
		rtWantGiveUp(t, err, backoff.ReasonNotRetryable, 1)
		if calls != 1 || !errors.Is(err, errRtKey) {
			t.Fatalf("%d calls, err %v", calls, err)
		}
		rec.wantCounts(t, 0, 0, 1)
	})
}

// Ports python-backoff's test_retry_context_giveup.
func TestLoopGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := backoff.Attempts[int](t.Context(), backoff.NoWait{}, backoff.GiveUp(func(error) bool { return true }))
		calls := 0
		for a := range l.All() {
			calls++
			a.Fail(errRtValue)
		}
		_, err := l.Result()
		rtWantGiveUp(t, err, backoff.ReasonGiveUp, 1)
		if calls != 1 {
			t.Fatalf("%d calls, want 1", calls)
		}
	})
}

// Ports python-backoff's test_retry_context_handlers.
func TestLoopHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec rtRec[int]
		l := backoff.Attempts[int](t.Context(), rec.with(backoff.NoWait{})...)
		calls := 0
		for a := range l.All() {
			calls++
			if calls < 3 {
				a.Fail(errRtValue)
			}
		}
		if _, err := l.Result(); err != nil {
			t.Fatal(err)
		}
		rec.wantCounts(t, 2, 1, 0)
		rtCheckEvent(t, "first backoff", rec.backoffs[0], backoff.Event[int]{Kind: backoff.EventBackoff, Tries: 1, Err: errRtValue})
		rtCheckEvent(t, "success", rec.successes[0], backoff.Event[int]{Kind: backoff.EventSuccess, Tries: 3})
	})
}

// test_retry_context_interval_exhausted: python raises even with
// raise_on_giveup=False; Go honours ErrorOnGiveUp(false) on exhaustion too
// (README, Semantics: "ErrorOnGiveUp(false)"), and the event still says why.
func TestLoopIntervalsExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, raise := range []bool{true, false} {
			var rec rtRec[int]
			l := backoff.Attempts[int](t.Context(), rec.with(backoff.Intervals{0}, backoff.ErrorOnGiveUp(raise))...)
			calls := 0
			for a := range l.All() {
				calls++
				a.Fail(errRtValue)
			}
			_, err := l.Result()
			if raise {
				rtWantGiveUp(t, err, backoff.ReasonExhausted, 2)
			} else if err != nil {
				t.Fatalf("ErrorOnGiveUp(false): err %v, want nil", err)
			}
			if calls != 2 {
				t.Fatalf("%d calls, want 2", calls)
			}
			rec.wantCounts(t, 1, 0, 1)
			rtCheckEvent(t, "give-up", rec.giveUp[0], backoff.Event[int]{
				Kind: backoff.EventGiveUp, Tries: 2, Reason: backoff.ReasonExhausted, Err: errRtValue,
			})
		}
	})
}

// The loop waits between attempts; Number counts from 1.
func TestLoopWaitsAndNumbers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := backoff.Attempts[int](t.Context(), backoff.Constant{Interval: 2 * time.Second}, backoff.NoJitter, backoff.MaxTries(3))
		start := time.Now()
		var nums []int
		var at []time.Duration
		for a := range l.All() {
			nums = append(nums, a.Number())
			at = append(at, time.Since(start))
			a.Fail(errRtBoom)
		}
		_, err := l.Result()
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		if len(nums) != 3 || nums[0] != 1 || nums[1] != 2 || nums[2] != 3 {
			t.Fatalf("Number() = %v, want [1 2 3]", nums)
		}
		rtEqualWaits(t, at, rtSecs(0, 2, 4))
	})
}

func TestLoopBreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Break after Fail: a give-up with ReasonCanceled, handlers told.
		var rec rtRec[int]
		l := backoff.Attempts[int](t.Context(), rec.with(backoff.NoWait{})...)
		for a := range l.All() {
			a.Return(5, errRtBoom)
			if a.Number() == 2 {
				break
			}
		}
		v, err := l.Result()
		rtWantGiveUp(t, err, backoff.ReasonCanceled, 2)
		if v != 5 || !errors.Is(err, errRtBoom) {
			t.Fatalf("got (%v, %v)", v, err)
		}
		rec.wantCounts(t, 1, 0, 1)

		// Break without Fail: success.
		var rec2 rtRec[int]
		l = backoff.Attempts[int](t.Context(), rec2.with(backoff.NoWait{})...)
		for a := range l.All() {
			if a.Number() == 2 {
				break
			}
			a.Fail(errRtBoom)
		}
		if v, err := l.Result(); v != 0 || err != nil || l.Tries() != 2 {
			t.Fatalf("got (%v, %v), Tries %d; want success after 2", v, err, l.Tries())
		}
		rec2.wantCounts(t, 1, 1, 0)

		// Break after Return of a value the predicate rejects: canceled.
		l = backoff.Attempts[int](t.Context(), backoff.NoWait{}, backoff.RetryOnValue(func(v int) bool { return v < 0 }))
		for a := range l.All() {
			a.Return(-1, nil)
			break
		}
		_, err = l.Result()
		rtWantGiveUp(t, err, backoff.ReasonCanceled, 1)

		// Break after Return of an accepted value: success with the value.
		l = backoff.Attempts[int](t.Context(), backoff.NoWait{}, backoff.RetryOnValue(func(v int) bool { return v < 0 }))
		for a := range l.All() {
			a.Return(8, nil)
			break
		}
		if v, err := l.Result(); v != 8 || err != nil {
			t.Fatalf("got (%v, %v), want (8, nil)", v, err)
		}
	})
}

// A body that reports nothing succeeded at once.
func TestLoopBodyWithoutFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec rtRec[int]
		l := backoff.Attempts[int](t.Context(), rec.with(backoff.MaxTries(5))...)
		calls := 0
		for range l.All() {
			calls++
		}
		if v, err := l.Result(); v != 0 || err != nil || calls != 1 {
			t.Fatalf("got (%v, %v) after %d calls, want success after 1", v, err, calls)
		}
		rec.wantCounts(t, 0, 1, 0)
		// Fail(nil) reports success too.
		calls = 0
		l = backoff.Attempts[int](t.Context(), backoff.MaxTries(5))
		for a := range l.All() {
			calls++
			a.Fail(nil)
		}
		if _, err := l.Result(); err != nil || calls != 1 {
			t.Fatalf("Fail(nil): err %v after %d calls", err, calls)
		}
	})
}

// Return(v, nil) is judged by the value predicate.
func TestLoopReturnValuePredicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec rtRec[string]
		l := backoff.Attempts[string](t.Context(), rec.with(backoff.NoWait{},
			backoff.RetryOnValue(func(s string) bool { return s != "ready" }))...)
		states := []string{"pending", "running", "ready"}
		for a := range l.All() {
			a.Return(states[a.Number()-1], nil)
		}
		v, err := l.Result()
		if v != "ready" || err != nil || l.Tries() != 3 {
			t.Fatalf("got (%q, %v) after %d tries", v, err, l.Tries())
		}
		if rec.backoffs[0].Value != "pending" || rec.backoffs[1].Value != "running" || rec.successes[0].Value != "ready" {
			t.Fatalf("event values %q %q %q", rec.backoffs[0].Value, rec.backoffs[1].Value, rec.successes[0].Value)
		}
	})
}

func TestLoopBadOptions(t *testing.T) {
	l := backoff.Attempts[int](t.Context(), backoff.MaxTries(0))
	calls := 0
	for range l.All() {
		calls++
	}
	_, err := l.Result()
	if calls != 0 || err == nil || !strings.Contains(err.Error(), "MaxTries") || l.Tries() != 0 {
		t.Fatalf("%d calls, err %v, Tries %d", calls, err, l.Tries())
	}
	var nilCtx context.Context
	l = backoff.Attempts[int](nilCtx)
	for range l.All() {
		calls++
	}
	if _, err := l.Result(); calls != 0 || err == nil || !strings.Contains(err.Error(), "ctx is nil") {
		t.Fatalf("nil ctx: %d calls, err %v", calls, err)
	}
}

// Result before the loop has ended is an error; a Loop runs once.
func TestLoopResultEarlyAndRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := backoff.Attempts[int](t.Context(), backoff.NoWait{})
		if _, err := l.Result(); err == nil {
			t.Fatal("Result before the loop: no error")
		}
		for a := range l.All() {
			if _, err := l.Result(); err == nil || !strings.Contains(err.Error(), "not ended") {
				t.Fatalf("Result inside the body: err %v", err)
			}
			a.Return(1, nil)
		}
		if v, err := l.Result(); v != 1 || err != nil {
			t.Fatalf("got (%v, %v)", v, err)
		}
		calls := 0
		for range l.All() {
			calls++
		}
		if calls != 0 {
			t.Fatalf("second All yielded %d attempts", calls)
		}
		if v, err := l.Result(); v != 1 || err != nil {
			t.Fatalf("after second All: got (%v, %v)", v, err)
		}
	})
}

// The context ending during a wait ends the loop at once.
func TestLoopCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		time.AfterFunc(time.Second, cancel)
		l := backoff.Attempts[int](ctx, backoff.Constant{Interval: 30 * time.Minute}, backoff.NoJitter)
		start := time.Now()
		calls := 0
		for a := range l.All() {
			calls++
			a.Fail(errRtBoom)
		}
		_, err := l.Result()
		rtWantGiveUp(t, err, backoff.ReasonContext, 1)
		if time.Since(start) != time.Second || calls != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, errRtBoom) {
			t.Fatalf("%d calls in %v, err %v", calls, time.Since(start), err)
		}
	})
}

// With AttemptTimeout each attempt has its own context, ended after the
// body; without it the attempt's context is the loop's.
func TestLoopAttemptContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ctxs []context.Context
		l := backoff.Attempts[int](t.Context(), backoff.NoWait{}, backoff.AttemptTimeout(time.Second), backoff.MaxTries(2))
		for a := range l.All() {
			ctxs = append(ctxs, a.Context())
			if _, ok := a.Context().Deadline(); !ok || a.Context().Err() != nil {
				t.Fatal("attempt context has no deadline or is already done")
			}
			<-a.Context().Done()
			a.Fail(a.Context().Err())
		}
		_, err := l.Result()
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 2)
		if !errors.Is(err, context.DeadlineExceeded) || len(ctxs) != 2 || ctxs[0] == ctxs[1] {
			t.Fatalf("err %v, %d contexts", err, len(ctxs))
		}
		l = backoff.Attempts[int](t.Context())
		for a := range l.All() {
			if a.Context() != t.Context() {
				t.Fatal("without AttemptTimeout the attempt context is not the loop's")
			}
		}
	})
}
