package backoff_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// 6. The job's context.

func TestContextCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h, err := backoff.Submit(ctx, s, failing, backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		cancel()
		_, err = h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonContext)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errFail) || ge.Tries != 1 {
			t.Fatalf("err %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("job ended %v after its ctx", d)
		}
	})
}

func TestContextRunningOpSeesCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		ctx, cancel := context.WithCancelCause(t.Context())
		cause := errors.New("caller gone")
		h, err := backoff.Submit(ctx, s, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		cancel(cause)
		_, err = h.Result(t.Context())
		giveUp(t, err, backoff.ReasonContext)
		if !errors.Is(err, cause) {
			t.Fatalf("err %v does not carry the ctx's cause", err)
		}
	})
}

type ctxKey struct{}

func TestContextValuesReachOp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		ctx := context.WithValue(t.Context(), ctxKey{}, "v")
		var got []any
		h, err := backoff.Submit(ctx, s, func(ctx context.Context) (int, error) {
			got = append(got, ctx.Value(ctxKey{}))
			if len(got) < 2 {
				return 0, errFail
			}
			return 1, nil
		}, backoff.Key("k"))
		if err != nil {
			t.Fatal(err)
		}
		res := make(chan backoff.Event[int], 1)
		if _, err := backoff.SubmitTo(ctx, s, func(ctx context.Context) (int, error) {
			if ctx.Value(ctxKey{}) != "v" {
				return 0, backoff.Permanent(errors.New("no value"))
			}
			return 2, nil
		}, res); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Result(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != "v" || got[1] != "v" {
			t.Fatalf("op saw values %v", got)
		}
		if ev := <-res; ev.Kind != backoff.EventSuccess || ev.Value != 2 {
			t.Fatalf("fan-in op did not see the value: %+v", ev)
		}
	})
}

func TestContextDeadlineShorterThanWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		calls := 0
		h, err := backoff.Submit(ctx, s, func(context.Context) (int, error) {
			calls++
			return 0, errFail
		}, backoff.Constant{Interval: 4 * time.Second}, backoff.NoJitter)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonContext)
		// Attempts at 0, 4s, 8s; the next (12s) would pass the deadline.
		if d := time.Since(start); d != 8*time.Second || calls != 3 || ge.Tries != 3 || !errors.Is(err, errFail) {
			t.Fatalf("gave up at %v after %d calls: %v", d, calls, err)
		}
	})
}

func TestContextManyJobsOneCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 500
		s := newSched(t)
		defer s.Close()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		res := make(chan backoff.Event[int], n)
		var calls atomic.Int64
		failing := func(context.Context) (int, error) {
			calls.Add(1)
			return 0, errFail
		}
		var hs []*backoff.Handle[int]
		for i := range n {
			if i%2 == 0 {
				h, err := backoff.Submit(ctx, s, failing, backoff.Constant{Interval: time.Duration(i+1) * time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				hs = append(hs, h)
				continue
			}
			if _, err := backoff.SubmitTo(ctx, s, failing, res, backoff.Constant{Interval: time.Duration(i+1) * time.Minute}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if st := s.Stats(); st.Pending != n {
			t.Fatalf("stats %+v", st)
		}
		start := time.Now()
		cancel()
		for _, h := range hs {
			_, err := h.Result(t.Context())
			// No op runs again once the ctx has ended.
			if ge := giveUp(t, err, backoff.ReasonContext); ge.Tries != 1 || !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v", err)
			}
		}
		for range n / 2 {
			if ev := <-res; ev.Reason != backoff.ReasonContext || ev.Tries != 1 || !errors.Is(ev.Err, context.Canceled) {
				t.Fatalf("event %+v", ev)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("ended %v after the cancel", d)
		}
		synctest.Wait()
		if c := calls.Load(); c != n {
			t.Fatalf("%d op calls for %d jobs that each ran once before their ctx ended", c, n)
		}
		if st := s.Stats(); st.Pending != 0 || st.Waiting != 0 || st.GaveUpBy[backoff.ReasonContext] != n || st.Attempts != n {
			t.Fatalf("stats %+v", st)
		}
		// The ended context's jobs left nothing behind: a new job on
		// another context runs normally.
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 3, nil })
		if err != nil {
			t.Fatal(err)
		}
		if v, err := h.Result(t.Context()); v != 3 || err != nil {
			t.Fatal(v, err)
		}
	})
}

func TestContextOnlyItsJobsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 50
		s := newSched(t)
		defer s.Close()
		ctxA, cancelA := context.WithCancel(t.Context())
		defer cancelA()
		ctxB, cancelB := context.WithCancel(t.Context())
		defer cancelB()
		resA := make(chan backoff.Event[int], n)
		resB := make(chan backoff.Event[int], n)
		for i := range n {
			// Interleave deadlines of both groups.
			wait := backoff.Constant{Interval: time.Duration(i+1) * time.Second}
			if _, err := backoff.SubmitTo(ctxA, s, failing, resA, wait, backoff.NoJitter); err != nil {
				t.Fatal(err)
			}
			if _, err := backoff.SubmitTo(ctxB, s, failing, resB, wait, backoff.NoJitter, backoff.MaxTries(2)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		cancelA()
		synctest.Wait()
		if len(resA) != n || len(resB) != 0 {
			t.Fatalf("after cancelling A: %d events of A, %d of B", len(resA), len(resB))
		}
		if st := s.Stats(); st.Pending != n || st.Waiting != n {
			t.Fatalf("stats %+v", st)
		}
		// B's jobs still run on schedule.
		start := time.Now()
		for i := range n {
			ev := <-resB
			if ev.Reason != backoff.ReasonMaxTries || time.Since(start) != time.Duration(i+1)*time.Second {
				t.Fatalf("B event %+v at %v", ev, time.Since(start))
			}
		}
	})
}

// A context that ended before Submit is refused; one that ends while the
// job sits in the intake ends the job without running its op.
func TestContextEndedBeforeSubmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := backoff.Submit(ctx, s, failing); !errors.Is(err, context.Canceled) {
			t.Fatalf("Submit with an ended ctx: %v", err)
		}
		release := holdOwner(t, s)
		ctx2, cancel2 := context.WithCancel(t.Context())
		called := false
		h, err := backoff.Submit(ctx2, s, func(context.Context) (int, error) { called = true; return 0, nil })
		if err != nil {
			t.Fatal(err)
		}
		cancel2()
		release()
		_, err = h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonContext)
		if called || ge.Tries != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("called=%v err=%v", called, err)
		}
	})
}
