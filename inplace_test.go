package backoff_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// A retry with no wait runs on the worker that ran the last attempt, as a
// loop's would, but a job retrying with no wait for ever still lets a job
// queued behind it run: after a bounded run of attempts it queues again.
func TestZeroWaitRetriesLetQueuedJobsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(1))
		defer s.Close()
		var mu sync.Mutex
		var order []string
		queued := make(chan struct{})
		record := func(name string) func(context.Context) (int, error) {
			return func(context.Context) (int, error) {
				<-queued
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return 0, errFail
			}
		}
		const tries = 50
		a := mustSubmit(t, s, record("a"), backoff.NoWait{}, backoff.MaxTries(tries))
		b := mustSubmit(t, s, record("b"), backoff.NoWait{}, backoff.MaxTries(1))
		// a's first attempt holds the only worker until b is queued, so
		// that what follows does not depend on how fast this goroutine
		// submits.
		synctest.Wait()
		close(queued)
		expectResult(t, a, 0, backoff.ReasonMaxTries, tries)
		expectResult(t, b, 0, backoff.ReasonMaxTries, 1)
		mu.Lock()
		defer mu.Unlock()
		i := slices.Index(order, "b")
		if i < 1 || i > 8 {
			t.Fatalf("b ran after %d attempts of a (order %v), want it to run after a's first turn of at most 8", i, order)
		}
	})
}

// An attempt run back to back with the one before starts when it is
// called, not when the one before ended: the OnBackoff handler between
// them is in neither attempt's Duration, and in the next one's Elapsed.
func TestZeroWaitRetriesTimedFromTheirCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var took, elapsed []time.Duration
		obs := funcObserver(func(ob backoff.Observation) {
			mu.Lock()
			defer mu.Unlock()
			switch ob.Kind {
			case backoff.ObserveAttemptStart:
				elapsed = append(elapsed, ob.Elapsed)
			case backoff.ObserveAttemptEnd:
				took = append(took, ob.Duration)
			}
		})
		s := newSched(t, backoff.Workers(1), backoff.WithObserver(obs))
		defer s.Close()
		h := mustSubmit(t, s, func(context.Context) (int, error) {
			time.Sleep(100 * time.Millisecond)
			return 0, errFail
		}, backoff.NoWait{}, backoff.MaxTries(3), backoff.OnBackoff(func(backoff.Event[int]) { time.Sleep(time.Second) }))
		expectResult(t, h, 0, backoff.ReasonMaxTries, 3)
		mu.Lock()
		defer mu.Unlock()
		step := 1100 * time.Millisecond // an op, then a handler
		wantTook := []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
		if wantElapsed := []time.Duration{0, step, 2 * step}; !slices.Equal(took, wantTook) || !slices.Equal(elapsed, wantElapsed) {
			t.Fatalf("durations %v, elapsed at each start %v; want %v and %v", took, elapsed, wantTook, wantElapsed)
		}
	})
}

// A job stopped between two of its attempts run back to back (here by
// its OnBackoff handler, which runs after the attempt was judged) ends
// without another attempt.
func TestZeroWaitRetriesStopOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		var h *backoff.Handle[int]
		submitted := make(chan struct{})
		calls := 0
		cancelOnThird := backoff.OnBackoff(func(ev backoff.Event[int]) {
			if ev.Tries == 3 {
				h.Cancel()
			}
		})
		h = mustSubmit(t, s, func(context.Context) (int, error) {
			<-submitted
			calls++
			return 0, errFail
		}, backoff.NoWait{}, backoff.MaxTries(100), cancelOnThird)
		close(submitted)
		expectResult(t, h, 0, backoff.ReasonCanceled, 3)
		if calls != 3 {
			t.Fatalf("%d calls, want 3: none after Cancel", calls)
		}
	})
}

// A job that holds its concurrency group's only slot hands it back after
// each attempt, even with no wait, so that the group's jobs take turns.
func TestZeroWaitRetriesTakeTurnsInAGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(4), backoff.GroupLimitFor("g", 1))
		defer s.Close()
		var mu sync.Mutex
		var order []string
		release := make(chan struct{})
		op := func(name string) func(context.Context) (int, error) {
			return func(context.Context) (int, error) {
				<-release
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return 0, errFail
			}
		}
		a := mustSubmit(t, s, op("a"), backoff.Group("g"), backoff.NoWait{}, backoff.MaxTries(3))
		b := mustSubmit(t, s, op("b"), backoff.Group("g"), backoff.NoWait{}, backoff.MaxTries(3))
		synctest.Wait() // a runs, b is held by the limit
		close(release)
		expectResult(t, a, 0, backoff.ReasonMaxTries, 3)
		expectResult(t, b, 0, backoff.ReasonMaxTries, 3)
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"a", "b", "a", "b", "a", "b"}; !slices.Equal(order, want) {
			t.Fatalf("attempts ran as %v, want %v", order, want)
		}
	})
}
