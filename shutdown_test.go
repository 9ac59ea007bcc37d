package backoff_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// Close and Shutdown, one behaviour at a time; the chaos suite mixes them.

// fails returns an op that fails n times, then returns v.
func fails(n, v int) func(context.Context) (int, error) {
	calls := 0
	return func(context.Context) (int, error) {
		if calls++; calls <= n {
			return 0, errFail
		}
		return v, nil
	}
}

// mustSubmit submits op or fails the test.
func mustSubmit(t *testing.T, s *backoff.Scheduler, op func(context.Context) (int, error), opts ...backoff.Option) *backoff.Handle[int] {
	t.Helper()
	h, err := backoff.Submit(t.Context(), s, op, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// expectResult checks a Handle's outcome: v and no error for want ==
// ReasonNone, else a give-up with want after tries attempts.
func expectResult(t *testing.T, h *backoff.Handle[int], v int, want backoff.Reason, tries int) {
	t.Helper()
	got, err := h.Result(t.Context())
	if want == backoff.ReasonNone {
		if err != nil || got != v {
			t.Errorf("job %d: %v, %v; want %v", h.ID(), got, err, v)
		}
		return
	}
	var ge *backoff.GiveUpError
	if !errors.As(err, &ge) || ge.Reason != want || ge.Tries != tries {
		t.Errorf("job %d: %v; want a give-up with %v after %d tries", h.ID(), err, want, tries)
	}
}

// Shutdown lets every job end as it would have: a waiting one, a running
// one, one not yet started, one cancelled meanwhile, and fan-in results
// that wait for a late reader. It returns when the reader has taken the
// last of them, and nothing is closed or discarded.
func TestShutdownWaitsForEveryJobAndReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := bubbleGoroutines()
		s := newSched(t, backoff.Workers(4))
		defer s.Close()
		start := time.Now()
		running := mustSubmit(t, s, func(context.Context) (int, error) {
			time.Sleep(5 * time.Second) // ignores its context
			return 2, nil
		})
		// Alone on its worker: a job run in the same chunk would wait for
		// it (TestChunkDoesNotHoldRunJobBehindSlowOp).
		synctest.Wait()
		retrying := mustSubmit(t, s, fails(2, 1), backoff.Constant{Interval: time.Second}, backoff.NoJitter)
		delayed := mustSubmit(t, s, fails(0, 3), backoff.InitialDelay(3*time.Second))
		canceled := mustSubmit(t, s, failing, backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
		res := make(chan backoff.Event[int], 1)
		submitSucceeding(t, s, res, 5)
		synctest.Wait()

		shutdown := make(chan error)
		go func() { shutdown <- s.Shutdown(t.Context()) }()
		synctest.Wait()
		var ran atomic.Bool
		if _, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { ran.Store(true); return 0, nil }); !errors.Is(err, backoff.ErrClosed) {
			t.Errorf("Submit during Shutdown: %v", err)
		}
		time.Sleep(time.Second)
		canceled.Cancel() // stops still work while Shutdown waits
		expectResult(t, canceled, 0, backoff.ReasonCanceled, 1)
		expectResult(t, retrying, 1, backoff.ReasonNone, 3)
		expectResult(t, delayed, 3, backoff.ReasonNone, 1)
		expectResult(t, running, 2, backoff.ReasonNone, 1)
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("the last job ended at %v, want 5s", d)
		}
		time.Sleep(5 * time.Second)
		select {
		case err := <-shutdown:
			t.Fatalf("Shutdown returned %v with 4 fan-in results unread", err)
		default:
		}
		for range 5 {
			if ev := <-res; ev.Kind != backoff.EventSuccess {
				t.Errorf("fan-in event %+v", ev)
			}
		}
		if err := <-shutdown; err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("Shutdown returned at %v, want 10s, when the reader took the last result", d)
		}
		if ran.Load() {
			t.Error("a job refused by Shutdown ran")
		}
		st := s.Stats()
		if st.Submitted != 9 || st.Succeeded != 8 || st.GaveUpBy[backoff.ReasonCanceled] != 1 || st.GaveUp != 1 ||
			st.Discarded != 0 || st.Undelivered != 0 || st.Pending != 0 {
			t.Errorf("stats %+v", st)
		}
		synctest.Wait()
		if got := bubbleGoroutines(); got != base {
			t.Errorf("%d goroutines after Shutdown, %d before NewScheduler", got, base)
		}
	})
}

// When Shutdown's ctx ends, it ends every waiting job with ReasonClosed at
// once, discards undelivered results and returns ctx's error without
// waiting for an op that ignores its context; Close then waits for it.
func TestShutdownTimeoutLeavesStubbornOpToClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := bubbleGoroutines()
		s := newSched(t)
		defer s.Close()
		start := time.Now()
		stubborn := mustSubmit(t, s, func(context.Context) (int, error) {
			time.Sleep(time.Hour) // ignores its context
			return 9, errFail
		})
		var waiting []*backoff.Handle[int]
		for range 3 {
			waiting = append(waiting, mustSubmit(t, s, failing, backoff.Constant{Interval: time.Hour}, backoff.NoJitter))
		}
		res := make(chan backoff.Event[int], 1) // never read: 1 fits, 2 wait
		submitSucceeding(t, s, res, 3)
		synctest.Wait()

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Shutdown returned at %v, want 1s", d)
		}
		for _, h := range waiting {
			expectResult(t, h, 0, backoff.ReasonClosed, 1)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("waiting jobs ended at %v, want at once", d)
		}
		synctest.Wait()
		if st := s.Stats(); st.Running != 1 || st.Pending != 1 || st.Discarded != 2 || st.Undelivered != 0 {
			t.Errorf("stats with the stubborn op running: %+v", st)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if d := time.Since(start); d != time.Hour {
			t.Errorf("Close returned at %v, want 1h, when the stubborn op returned", d)
		}
		expectResult(t, stubborn, 0, backoff.ReasonClosed, 1)
		if v, _ := stubborn.Result(t.Context()); v != 9 {
			t.Errorf("stubborn value %d", v)
		}
		// Every fan-in result was delivered or counted as discarded.
		if st := s.Stats(); uint64(len(res))+st.Discarded != 3 || st.Pending != 0 || st.GaveUpBy[backoff.ReasonClosed] != 4 {
			t.Errorf("%d results in the channel; stats %+v", len(res), st)
		}
		synctest.Wait()
		if got := bubbleGoroutines(); got != base {
			t.Errorf("%d goroutines after Close, %d before NewScheduler", got, base)
		}
	})
}

// Close or Shutdown called from an op seals the results channels, and
// the terminal events of jobs that ended before it still go out: the
// owner, which sends them, takes those jobs back first. One worker runs A,
// then B, whose op stops the scheduler: A has ended, B ends after.
func TestStopOnWorkerKeepsEarlierEvents(t *testing.T) {
	for _, stop := range []string{"Close", "Shutdown"} {
		t.Run(stop, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSched(t, backoff.Workers(1))
				results := make(chan backoff.Event[int], 2)
				a, err := backoff.SubmitTo(t.Context(), s, succeed, results)
				if err != nil {
					t.Fatal(err)
				}
				stopped := make(chan struct{})
				stopFromOp := func(context.Context) (int, error) {
					if stop == "Close" {
						_ = s.Close()
					} else {
						_ = s.Shutdown(context.Background())
					}
					close(stopped)
					return 2, nil
				}
				if _, err := backoff.SubmitTo(t.Context(), s, stopFromOp, results); err != nil {
					t.Fatal(err)
				}
				<-stopped
				select {
				case ev := <-results:
					if ev.ID != a || ev.Kind != backoff.EventSuccess {
						t.Fatalf("got %+v, want A's success", ev)
					}
				default:
					t.Fatalf("A's event is gone, though A ended before %s (stats %+v)", stop, s.Stats())
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if st := s.Stats(); st.Discarded != 1 || len(results) != 0 {
					t.Fatalf("discarded %d, %d in the channel; want B's event discarded, as B ended after %s", st.Discarded, len(results), stop)
				}
			})
		})
	}
}

// Submissions blocked at MaxPending when Close is called are refused with
// ErrClosed (or their ctx's error) and never run; every accepted job ends
// with a terminal event.
func TestCloseWhileSubmitsBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.MaxPending(2))
		defer s.Close()
		const n = 12
		var ran atomic.Int32
		op := func(context.Context) (int, error) {
			ran.Add(1)
			return 0, errFail
		}
		res := make(chan backoff.Event[int], n)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		type submitted struct {
			id  uint64
			err error
		}
		// Two jobs fill the scheduler, the rest block. The last has a
		// context of its own, cancelled before Close.
		out := make([]chan submitted, n)
		for i := range n {
			out[i] = make(chan submitted, 1)
			go func() {
				ctx := ctx
				if i < n-1 {
					ctx = t.Context()
				}
				id, err := backoff.SubmitTo(ctx, s, op, res, backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
				out[i] <- submitted{id, err}
			}()
			synctest.Wait()
		}
		cancel()
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		accepted := map[uint64]int{}
		for i := range n {
			switch r := <-out[i]; {
			case r.err == nil:
				accepted[r.id] = i
			case i == n-1 && errors.Is(r.err, context.Canceled), i != n-1 && errors.Is(r.err, backoff.ErrClosed):
			default:
				t.Errorf("blocked SubmitTo %d: %v", i, r.err)
			}
		}
		if len(accepted) != 2 || len(res) != 2 || ran.Load() != 2 {
			t.Errorf("%d of %d submissions accepted, %d terminal events, %d ran; want the first two", len(accepted), n, len(res), ran.Load())
		}
		for range len(res) {
			ev := <-res
			if i, ok := accepted[ev.ID]; !ok || ev.Reason != backoff.ReasonClosed || ev.Tries != 1 {
				t.Errorf("event %+v of submission %d (accepted: %v)", ev, i, ok)
			}
		}
		if st := s.Stats(); st.Submitted != 2 || st.GaveUp != 2 || st.Pending != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// Close and Shutdown called at once from many goroutines, with jobs
// running: every call returns, each Shutdown with nil or its ctx's error,
// and every job ends once: its terminal event is delivered, or, when it
// ended after a Shutdown returned, discarded and counted.
func TestCloseAndShutdownConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(2))
		defer s.Close()
		const n = 200
		res := make(chan backoff.Event[int], n)
		for i := range n {
			op := fails(i%3, i)
			if _, err := backoff.SubmitTo(t.Context(), s, op, res, backoff.Constant{Interval: time.Second}, backoff.NoJitter); err != nil {
				t.Fatal(err)
			}
		}
		ended, cancel := context.WithCancel(t.Context())
		cancel()
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				switch i % 4 {
				case 0:
					if err := s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				case 1:
					if err := s.Shutdown(ended); err != nil && !errors.Is(err, context.Canceled) {
						t.Errorf("Shutdown with an ended ctx: %v", err)
					}
				case 2:
					ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i)*time.Millisecond)
					defer cancel()
					if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Shutdown with a timeout: %v", err)
					}
				default:
					if err := s.Shutdown(t.Context()); err != nil {
						t.Errorf("Shutdown: %v", err)
					}
				}
			})
		}
		wg.Wait()
		seen := map[uint64]bool{}
		for range len(res) {
			ev := <-res
			if seen[ev.ID] || !ev.Terminal() || ev.Kind == backoff.EventGiveUp && ev.Reason != backoff.ReasonClosed {
				t.Errorf("event %+v (seen before: %v)", ev, seen[ev.ID])
			}
			seen[ev.ID] = true
		}
		st := s.Stats()
		if st.Submitted != n || st.Succeeded+st.GaveUp != n || uint64(len(seen))+st.Discarded != n || st.Pending != 0 {
			t.Errorf("stats %+v; %d events delivered", st, len(seen))
		}
	})
}

// After Close every method returns at once: stops find nothing, Result
// and Events give the end, Submit is refused.
func TestStopsAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := bubbleGoroutines()
		s := newSched(t)
		// The owner is held until Events has been called, so that no
		// backoff event comes before it.
		release := holdOwner(t, s)
		waiting := mustSubmit(t, s, failing, backoff.Key("w"), backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
		listened := mustSubmit(t, s, failing, backoff.NoWait{}, backoff.MaxTries(40))
		evs := listened.Events() // never read while the job runs
		release()
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := bubbleGoroutines(); got != base {
			t.Errorf("%d goroutines after Close, %d before NewScheduler", got, base)
		}
		waiting.Cancel()
		listened.Cancel()
		if s.Cancel("w") || s.Trigger("w") {
			t.Error("a key is live after Close")
		}
		expectResult(t, waiting, 0, backoff.ReasonClosed, 1)
		expectResult(t, listened, 0, backoff.ReasonMaxTries, 40)
		var got []backoff.Event[int]
		for ev := range evs {
			got = append(got, ev)
		}
		if len(got) != 16 || got[15].Reason != backoff.ReasonMaxTries || got[14].Kind != backoff.EventBackoff {
			t.Errorf("%d events, last %+v; want 15 backoff events and the terminal one", len(got), got[len(got)-1])
		}
		if st := s.Stats(); st.DroppedEvents != 39-15 {
			t.Errorf("dropped %d backoff events, want %d", st.DroppedEvents, 39-15)
		}
		if _, err := backoff.Submit(t.Context(), s, failing); !errors.Is(err, backoff.ErrClosed) {
			t.Errorf("Submit after Close: %v", err)
		}
		if err := s.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown after Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}
