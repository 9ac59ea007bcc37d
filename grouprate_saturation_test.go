package backoff_test

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// stallWorkers takes every one of n workers with an op of group "a" that
// sleeps for d, and returns when all are running. Their events go to res.
func stallWorkers(t *testing.T, s *backoff.Scheduler, n int, d time.Duration, res chan backoff.Event[int]) {
	t.Helper()
	for i := range n {
		if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
			time.Sleep(d)
			return -1 - i, nil
		}, res, backoff.Group("a")); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait()
	if got := s.Stats().Running; got != n {
		t.Fatalf("%d running, want every worker (%d) stalled", got, n)
	}
}

// endsOnce reads want events from res and fails unless each job ended
// once, with success.
func endsOnce(t *testing.T, res chan backoff.Event[int], want int) {
	t.Helper()
	ended := map[uint64]int{}
	for range want {
		ev := <-res
		if ev.Kind != backoff.EventSuccess {
			t.Fatalf("event %+v", ev)
		}
		if ended[ev.ID]++; ended[ev.ID] > 1 {
			t.Fatalf("job %d ended twice", ev.ID)
		}
	}
	if len(ended) != want {
		t.Fatalf("%d jobs ended, want %d", len(ended), want)
	}
}

// A rated group's jobs fall due while another group's slow ops take every
// worker. They take no tokens meanwhile: when the workers come free, their
// attempts start within burst + rate·w over every window, in the order
// they fell due, not back to back; every job ends once.
func TestGroupRateSaturated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, stall, n, perSecond, burst = 4, 2 * time.Second, 400, 100.0, 10
		s := newSched(t, backoff.Workers(workers), backoff.GroupRateFor("b", perSecond, burst))
		defer s.Close()
		res := make(chan backoff.Event[int], workers+n)
		stallWorkers(t, s, workers, stall, res)
		st := newStarts()
		for i := range n {
			if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				st.add(i)
				return i, nil
			}, res, backoff.Group("b")); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(stall / 2)
		if got := s.Stats(); got.RateHeld != n || got.Ready != 0 {
			t.Fatalf("during the stall: %+v, want all %d rate-held and none ready with a token", got, n)
		}
		endsOnce(t, res, workers+n)
		checkRate(t, st.at, perSecond, burst, time.Nanosecond, time.Millisecond, 10*time.Millisecond,
			50*time.Millisecond, 100*time.Millisecond, time.Second, 10*time.Second)
		if first := slices.Min(st.at); first != stall {
			t.Fatalf("first start at %v, want at the stall's end (%v)", first, stall)
		}
		if got := float64(n-burst) / (slices.Max(st.at) - stall).Seconds(); math.Abs(got-perSecond) > perSecond/100 {
			t.Fatalf("rate after the stall %.2f/s, want %v/s within 1%%", got, perSecond)
		}
		for i := 1; i < n; i++ {
			if a, b := st.of(i - 1)[0], st.of(i)[0]; b < a {
				t.Fatalf("job %d started at %v, before job %d at %v", i, b, i-1, a)
			}
		}
		synctest.Wait()
		if got := s.Stats(); got.RateHeld != 0 || got.Pending != 0 {
			t.Fatalf("after: %+v", got)
		}
	})
}

// GroupLimit and GroupRate under the same stall, with ops of a few
// lengths and retries with no wait: attempts in flight stay within the
// limit, and attempt starts within burst + rate·w over every window.
func TestGroupRateWithLimitSaturated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, stall, n, limit, perSecond, burst = 4, 2 * time.Second, 300, 3, 100.0, 10
		s := newSched(t, backoff.Workers(workers), backoff.GroupLimitFor("b", limit), backoff.GroupRateFor("b", perSecond, burst))
		defer s.Close()
		res := make(chan backoff.Event[int], workers+n)
		stallWorkers(t, s, workers, stall, res)
		st := newStarts()
		var (
			mu             sync.Mutex
			inFlight, peak int
		)
		for i := range n {
			tries := 0
			if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				st.add(i)
				mu.Lock()
				inFlight++
				peak = max(peak, inFlight)
				mu.Unlock()
				time.Sleep(time.Duration(i%2) * 5 * time.Millisecond)
				mu.Lock()
				inFlight--
				mu.Unlock()
				if tries++; i%4 == 0 && tries == 1 {
					return 0, errFail
				}
				return i, nil
			}, res, backoff.NoWait{}, backoff.Group("b")); err != nil {
				t.Fatal(err)
			}
		}
		endsOnce(t, res, workers+n)
		if peak > limit {
			t.Fatalf("%d in flight, limit %d", peak, limit)
		}
		if want := n + (n+3)/4; len(st.at) != want {
			t.Fatalf("%d attempts, want %d", len(st.at), want)
		}
		checkRate(t, st.at, perSecond, burst, time.Nanosecond, time.Millisecond, 10*time.Millisecond,
			25*time.Millisecond, 100*time.Millisecond, time.Second, 10*time.Second)
		synctest.Wait()
		if got := s.Stats(); got.Held != 0 || got.RateHeld != 0 || got.Pending != 0 {
			t.Fatalf("after: %+v", got)
		}
	})
}
