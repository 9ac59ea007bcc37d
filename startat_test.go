package backoff_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/backoff-go/backoff"
)

// StartAt on a mock clock: the first attempt runs exactly at the instant,
// not a nanosecond early; an instant already passed runs at once; beside
// a policy's InitialDelay the call's StartAt is the one that counts, and
// Elapsed does not count the wait.
func TestStartAtMockClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := clock.NewMock()
		s := newSched(t, backoff.WithClock(m))
		defer s.Close()
		var later, past atomic.Int32
		at := m.Now().Add(5 * time.Second)
		pol := mustPolicy[int](t, backoff.InitialDelay(time.Hour), backoff.MaxTries(2), backoff.Constant{Interval: time.Second}, backoff.NoJitter)
		var elapsed atomic.Int64
		h := mustSubmit(t, s, func(context.Context) (int, error) {
			if later.Add(1) == 1 {
				return 0, errFail
			}
			return 7, nil
		}, pol, backoff.StartAt(at), backoff.OnSuccess(func(ev backoff.Event[int]) { elapsed.Store(int64(ev.Elapsed)) }))
		mustSubmit(t, s, func(context.Context) (int, error) { past.Add(1); return 0, nil }, backoff.StartAt(m.Now().Add(-time.Minute)))
		synctest.Wait()
		if past.Load() != 1 {
			t.Fatalf("a job whose StartAt had passed made %d attempts, want 1 at once", past.Load())
		}
		m.Add(5*time.Second - time.Nanosecond)
		synctest.Wait()
		if n := later.Load(); n != 0 {
			t.Fatalf("the first attempt ran %d times before its StartAt", n)
		}
		m.Add(time.Nanosecond)
		synctest.Wait()
		if n := later.Load(); n != 1 {
			t.Fatalf("at its StartAt the job made %d attempts, want 1", n)
		}
		m.Add(time.Second)
		got, err := h.Result(t.Context())
		if err != nil || got != 7 {
			t.Fatalf("Result = %v, %v; want 7", got, err)
		}
		if d := time.Duration(elapsed.Load()); d != time.Second {
			t.Fatalf("Elapsed %v, want 1s: the wait for StartAt does not count", d)
		}
	})
}

// Jobs given one StartAt are released at that instant in the order they
// were submitted: one worker runs them in exactly that order.
func TestStartAtReleasesInSubmissionOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(1))
		defer s.Close()
		at := time.Now().Add(time.Minute)
		const n = 3000
		var mu sync.Mutex
		var order []int
		results := make(chan backoff.Event[int], n)
		for i := range n {
			_, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				if d := time.Until(at); d > 0 {
					t.Errorf("job %d ran %v before its StartAt", i, d)
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return i, nil
			}, results, backoff.StartAt(at))
			if err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			if ev := <-results; ev.Kind != backoff.EventSuccess {
				t.Fatalf("event %+v", ev)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(order) != n {
			t.Fatalf("%d of %d jobs ran", len(order), n)
		}
		for k := 1; k < n; k++ {
			if order[k] < order[k-1] {
				t.Fatalf("job %d ran after job %d", order[k], order[k-1])
			}
		}
	})
}

// Retry waits for StartAt before its first attempt, on its clock, and
// ends without an attempt if its context ends first.
func TestStartAtRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var ranAt time.Duration
		_, err := backoff.Retry(t.Context(), func(context.Context) (int, error) {
			ranAt = time.Since(start)
			return 1, nil
		}, backoff.StartAt(start.Add(3*time.Second)))
		if err != nil || ranAt != 3*time.Second {
			t.Fatalf("Retry: %v, first attempt at %v; want at 3s", err, ranAt)
		}

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		calls := 0
		_, err = backoff.Retry(ctx, func(context.Context) (int, error) { calls++; return 1, nil },
			backoff.StartAt(time.Now().Add(time.Hour)))
		giveUp(t, err, backoff.ReasonContext)
		if calls != 0 {
			t.Fatalf("the op ran %d times before its StartAt", calls)
		}
	})
}
