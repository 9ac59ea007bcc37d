package backoff_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// 4. Handle: events and Result.

func TestHandleEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		// The initial delay lets Events be called before the first attempt.
		h, err := backoff.Submit(t.Context(), s, failing, backoff.InitialDelay(time.Second),
			backoff.Expo{}, backoff.NoJitter, backoff.MaxTries(3), backoff.Key("ev"))
		if err != nil {
			t.Fatal(err)
		}
		evs := h.Events()
		if h.Events() != evs {
			t.Fatal("Events returned a new channel on the second call")
		}
		want := []struct {
			kind  backoff.EventKind
			tries int
			wait  time.Duration
		}{
			{backoff.EventBackoff, 1, time.Second},
			{backoff.EventBackoff, 2, 2 * time.Second},
			{backoff.EventGiveUp, 3, 0},
		}
		for _, w := range want {
			ev, ok := <-evs
			if !ok {
				t.Fatal("channel closed early")
			}
			if ev.Kind != w.kind || ev.Tries != w.tries || ev.Wait != w.wait || ev.ID != h.ID() || ev.Key != "ev" || !errors.Is(ev.Err, errFail) {
				t.Fatalf("event %+v, want %+v", ev, w)
			}
			if ev.Terminal() != (w.kind != backoff.EventBackoff) {
				t.Fatalf("Terminal() wrong for %+v", ev)
			}
		}
		if ev, ok := <-evs; ok {
			t.Fatalf("event after the terminal one: %+v", ev)
		}
		// Events is one channel per job: a later call returns it, drained
		// and closed (a first call after the end is TestHandleEventsAfterEnd).
		if late := h.Events(); late != evs {
			t.Fatal("Events returned a new channel after the end")
		}
	})
}

func TestHandleEventsAfterEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 9, nil })
		if err != nil {
			t.Fatal(err)
		}
		if v, err := h.Result(t.Context()); v != 9 || err != nil {
			t.Fatal(v, err)
		}
		var got []backoff.Event[int]
		for ev := range h.Events() {
			got = append(got, ev)
		}
		if len(got) != 1 || got[0].Kind != backoff.EventSuccess || got[0].Value != 9 || got[0].Tries != 1 {
			t.Fatalf("events %+v", got)
		}
	})
}

// A channel nobody reads holds 15 backoff events and the terminal event;
// the rest are dropped and counted.
func TestHandleEventsNeverRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		const tries = 20
		h, err := backoff.Submit(t.Context(), s, failing, backoff.InitialDelay(time.Second),
			backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTries(tries))
		if err != nil {
			t.Fatal(err)
		}
		evs := h.Events()
		_, err = h.Result(t.Context())
		giveUp(t, err, backoff.ReasonMaxTries)
		if st := s.Stats(); st.DroppedEvents != tries-1-15 {
			t.Fatalf("DroppedEvents = %d, want %d", st.DroppedEvents, tries-1-15)
		}
		var got []backoff.Event[int]
		for ev := range evs {
			got = append(got, ev)
		}
		if len(got) != 16 {
			t.Fatalf("%d events buffered, want 16", len(got))
		}
		for i, ev := range got[:15] {
			if ev.Kind != backoff.EventBackoff || ev.Tries != i+1 {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		if last := got[15]; last.Kind != backoff.EventGiveUp || last.Tries != tries {
			t.Fatalf("terminal %+v", last)
		}
	})
}

// Without Events, no backoff event is made or dropped.
func TestHandleNoEventsNoDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h, err := backoff.Submit(t.Context(), s, failing, backoff.NoWait{}, backoff.MaxTries(40))
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		giveUp(t, err, backoff.ReasonMaxTries)
		if st := s.Stats(); st.DroppedEvents != 0 {
			t.Fatalf("dropped %d events nobody asked for", st.DroppedEvents)
		}
	})
}

func TestHandleResultCtxEndsFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		start := time.Now()
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 4, errFail },
			backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.MaxTries(2))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if v, err := h.Result(ctx); !errors.Is(err, context.DeadlineExceeded) || v != 0 {
			t.Fatalf("Result with a short ctx: %v %v", v, err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Result returned after %v", d)
		}
		// The job carried on.
		v, err := h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonMaxTries)
		if v != 4 || ge.Tries != 2 || time.Since(start) != time.Hour {
			t.Fatalf("v=%d err=%v at %v", v, err, time.Since(start))
		}
		v2, err2 := h.Result(t.Context())
		if v2 != v || err2 != err { //nolint:errorlint // the very same error value
			t.Fatalf("Result after the end: %v %v, first gave %v %v", v2, err2, v, err)
		}
		ended, cancel2 := context.WithCancel(t.Context())
		cancel2()
		if v3, err3 := h.Result(ended); v3 != v || err3 != err { //nolint:errorlint // the very same error value
			t.Fatalf("Result after the end with an ended ctx: %v %v", v3, err3)
		}
	})
}

func TestHandleErrorOnGiveUpFalse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 6, errFail },
			backoff.MaxTries(1), backoff.ErrorOnGiveUp(false))
		if err != nil {
			t.Fatal(err)
		}
		if v, err := h.Result(t.Context()); v != 6 || err != nil {
			t.Fatalf("%v %v", v, err)
		}
		ev := <-h.Events()
		if ev.Reason != backoff.ReasonMaxTries {
			t.Fatalf("event %+v", ev)
		}
	})
}

// 5. Cancel, Trigger and keys.

func TestCancelWaitingJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		lastErr := errors.New("last")
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 1, lastErr },
			backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		h.Cancel()
		v, err := h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonCanceled)
		if !errors.Is(err, lastErr) || v != 1 || ge.Tries != 1 {
			t.Fatalf("v=%d err=%v", v, err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("Cancel took %v", d)
		}
		h.Cancel() // after the end: nothing happens
		synctest.Wait()
		if st := s.Stats(); st.GaveUpBy[backoff.ReasonCanceled] != 1 || st.Pending != 0 || st.Waiting != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestCancelRunningOp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := s.Stats(); st.Running != 1 {
			t.Fatalf("stats %+v", st)
		}
		h.Cancel()
		_, err = h.Result(t.Context())
		giveUp(t, err, backoff.ReasonCanceled)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v does not wrap the op's error", err)
		}
	})
}

func TestCancelBeforeOwnerTookJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		release := holdOwner(t, s)
		called := false
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { called = true; return 0, nil })
		if err != nil {
			t.Fatal(err)
		}
		h.Cancel()
		release()
		_, err = h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonCanceled)
		if called || ge.Tries != 0 {
			t.Fatalf("called=%v tries=%d", called, ge.Tries)
		}
	})
}

func TestSchedulerCancelAndTriggerByKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		times := func() []time.Duration {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(at)
		}
		res := make(chan backoff.Event[int], 1)
		id, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
			mu.Lock()
			at = append(at, time.Since(start))
			mu.Unlock()
			return 0, errFail
		}, res, backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.Key("poll"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Trigger("nope") || s.Cancel("nope") {
			t.Fatal("Trigger or Cancel found an unknown key")
		}
		synctest.Wait()
		time.Sleep(time.Minute)
		if !s.Trigger("poll") {
			t.Fatal("Trigger: key not found")
		}
		synctest.Wait()
		checkTimes(t, times(), 0, time.Minute)
		// The next wait is a full interval from the triggered attempt.
		time.Sleep(time.Hour - time.Nanosecond)
		synctest.Wait()
		checkTimes(t, times(), 0, time.Minute)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		checkTimes(t, times(), 0, time.Minute, time.Hour+time.Minute)
		if !s.Cancel("poll") {
			t.Fatal("Cancel: key not found")
		}
		ev := <-res
		if ev.ID != id || ev.Key != "poll" || ev.Reason != backoff.ReasonCanceled || ev.Tries != 3 || !errors.Is(ev.Err, errFail) {
			t.Fatalf("event %+v", ev)
		}
		synctest.Wait()
		if s.Trigger("poll") || s.Cancel("poll") {
			t.Fatal("key live after the job ended")
		}
	})
}

// A Trigger that comes while an attempt runs cuts the wait after that
// attempt to 0, once; the wait after the next is the strategy's again.
func TestTriggerRunningJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		release := make(chan struct{})
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) {
			mu.Lock()
			at = append(at, time.Since(start))
			first := len(at) == 1
			mu.Unlock()
			if first {
				<-release
			}
			return 0, errFail
		}, backoff.Key("r"), backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.MaxTries(3), backoff.Subscribe())
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !s.Trigger("r") {
			t.Fatal("Trigger found no job")
		}
		close(release)
		for ev := range h.Events() {
			if ev.Kind == backoff.EventBackoff && ev.Wait != time.Hour {
				t.Errorf("event %+v; a backoff event keeps the planned wait", ev)
			}
		}
		_, err = h.Result(t.Context())
		giveUp(t, err, backoff.ReasonMaxTries)
		checkTimes(t, at, 0, 0, time.Hour)
	})
}

// Many triggers leave many stale timer entries behind; each job still
// runs exactly on its schedule.
func TestTriggerManyStaleEntries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 300
		s := newSched(t)
		defer s.Close()
		start := time.Now()
		var mu sync.Mutex
		counts := make([]int, n)
		last := make([]time.Duration, n)
		res := make(chan backoff.Event[int], n)
		keys := make([]string, n)
		for i := range n {
			keys[i] = "job-" + time.Duration(i).String()
			_, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				mu.Lock()
				counts[i]++
				last[i] = time.Since(start)
				mu.Unlock()
				return 0, errFail
			}, res, backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.MaxTries(6), backoff.Key(keys[i]))
			if err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		for round := range 4 {
			time.Sleep(time.Second)
			for _, k := range keys {
				if !s.Trigger(k) {
					t.Fatalf("round %d: %s not found", round, k)
				}
			}
			synctest.Wait()
		}
		mu.Lock()
		for i := range n {
			if counts[i] != 5 || last[i] != 4*time.Second {
				t.Errorf("job %d: %d calls, last at %v", i, counts[i], last[i])
			}
		}
		mu.Unlock()
		st := s.Stats()
		if st.Waiting != n || st.Pending != n {
			t.Fatalf("stats %+v", st)
		}
		for range n {
			ev := <-res
			if ev.Tries != 6 || time.Since(start) != time.Hour+4*time.Second {
				t.Fatalf("event %+v at %v", ev, time.Since(start))
			}
		}
	})
}

func TestDuplicateKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h, err := backoff.Submit(t.Context(), s, failing, backoff.Key("k"),
			backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.MaxTries(2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := backoff.Submit(t.Context(), s, failing, backoff.Key("k")); !errors.Is(err, backoff.ErrDuplicateKey) {
			t.Fatalf("duplicate Submit: %v", err)
		}
		res := make(chan backoff.Event[int], 1)
		if _, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.Key("k")); !errors.Is(err, backoff.ErrDuplicateKey) {
			t.Fatalf("duplicate SubmitTo: %v", err)
		}
		if _, err := h.Result(t.Context()); err == nil {
			t.Fatal("want a give-up")
		}
		// Free again as soon as the job has ended: no wait needed.
		h2, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 1, nil }, backoff.Key("k"))
		if err != nil {
			t.Fatalf("key not free after the job ended: %v", err)
		}
		if _, err := h2.Result(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.Key("k"), backoff.MaxTries(1)); err != nil {
			t.Fatalf("key not free after the job ended: %v", err)
		}
		<-res
		if st := s.Stats(); st.Submitted != 3 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// The key is free the moment Result reports the end, every time.
func TestKeyFreeWhenResultReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		for i := range 200 {
			h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return i, nil }, backoff.Key("same"))
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if _, err := h.Result(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		res := make(chan backoff.Event[int])
		for i := range 200 {
			_, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) { return i, nil }, res, backoff.Key("same"))
			if err != nil {
				t.Fatalf("fan-in round %d: %v", i, err)
			}
			<-res
		}
	})
}

// A job's own context (a Handle's) watches the context it was submitted
// under while each attempt runs, not only the attempt that first asked for
// Done: an op that waits on it in a later attempt still hears that
// context's end, and Close's.
func TestJobContextWatchedEachAttempt(t *testing.T) {
	for _, by := range []string{"context", "Close"} {
		synctest.Test(t, func(t *testing.T) {
			s := newSched(t)
			defer s.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			attempts := 0
			h, err := backoff.Submit(ctx, s, func(ctx context.Context) (int, error) {
				attempts++
				done := ctx.Done()
				if attempts == 1 {
					return 0, errFail
				}
				<-done
				return 0, ctx.Err()
			}, backoff.Constant{Interval: time.Second}, backoff.NoJitter)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // the second attempt waits on Done
			synctest.Wait()
			want := backoff.ReasonContext
			if by == "context" {
				cancel()
			} else {
				want = backoff.ReasonClosed
				go s.Close()
			}
			expectResult(t, h, 0, want, 2)
		})
	}
}
