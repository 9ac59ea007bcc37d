package backoff_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// 8. A shared results channel that is not being read.

func succeed(ctx context.Context) (int, error) { return 1, nil }

// submitSucceeding submits n jobs that succeed at once, all reporting to res.
func submitSucceeding(t *testing.T, s *backoff.Scheduler, res chan<- backoff.Event[int], n int) {
	t.Helper()
	for range n {
		if _, err := backoff.SubmitTo(t.Context(), s, succeed, res); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFanInBacklogDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		s := newSched(t)
		defer s.Close()
		res := make(chan backoff.Event[int], 1)
		ids := map[uint64]bool{}
		for range n {
			id, err := backoff.SubmitTo(t.Context(), s, succeed, res)
			if err != nil {
				t.Fatal(err)
			}
			ids[id] = true
		}
		synctest.Wait()
		st := s.Stats()
		if st.Undelivered != n-1 || st.Succeeded != n || st.Pending != 0 || len(res) != 1 {
			t.Fatalf("stats %+v, %d in the channel", st, len(res))
		}
		for range n {
			ev := <-res
			if !ids[ev.ID] || ev.Kind != backoff.EventSuccess {
				t.Fatalf("unknown or repeated event %+v", ev)
			}
			delete(ids, ev.ID)
		}
		synctest.Wait()
		if len(res) != 0 {
			t.Fatalf("extra event %+v", <-res)
		}
		if st := s.Stats(); st.Undelivered != 0 || st.Discarded != 0 {
			t.Fatalf("stats %+v", st)
		}
		// A drained channel takes events directly again.
		if _, err := backoff.SubmitTo(t.Context(), s, succeed, res); err != nil {
			t.Fatal(err)
		}
		<-res
	})
}

// submitEndingEachSecond submits n jobs to one results channel with room for
// a single event; job i returns i at i seconds.
func submitEndingEachSecond(t *testing.T, s *backoff.Scheduler, n int) chan backoff.Event[int] {
	t.Helper()
	res := make(chan backoff.Event[int], 1)
	for i := range n {
		if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) { return i, nil }, res,
			backoff.InitialDelay(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// Events queued behind a backlog keep the order in which jobs ended.
func TestFanInBacklogOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		s := newSched(t)
		defer s.Close()
		res := submitEndingEachSecond(t, s, n)
		time.Sleep(time.Minute)
		if st := s.Stats(); st.Undelivered != n-1 {
			t.Fatalf("stats %+v", st)
		}
		for i := range n {
			if ev := <-res; ev.Value != i {
				t.Fatalf("event %d has value %d", i, ev.Value)
			}
		}
	})
}

// A backlog longer than the flusher takes at once is sent in order, and
// counts as undelivered until each event is in the channel, the ones the
// flusher holds included.
func TestFanInLongBacklogOrderAndCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 3*64 + 5 // more than three of the flusher's batches
		s := newSched(t)
		defer s.Close()
		res := submitEndingEachSecond(t, s, n)
		time.Sleep(time.Hour)
		for i := range n {
			if st := s.Stats(); st.Undelivered != n-1-i {
				t.Fatalf("%d events read: %d undelivered, want %d", i, st.Undelivered, n-1-i)
			}
			if ev := <-res; ev.Value != i {
				t.Fatalf("event %d has value %d", i, ev.Value)
			}
			synctest.Wait()
		}
		if len(res) != 0 {
			t.Fatalf("extra event %+v", <-res)
		}
	})
}

// Two channels: a stalled one does not hold up the other.
func TestFanInStalledChannelIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		stalled := make(chan backoff.Event[int], 1)
		live := make(chan backoff.Event[string], 1)
		for range 5 {
			if _, err := backoff.SubmitTo(t.Context(), s, succeed, stalled); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		for range 5 {
			if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (string, error) { return "x", nil }, live); err != nil {
				t.Fatal(err)
			}
			if ev := <-live; ev.Value != "x" {
				t.Fatalf("event %+v", ev)
			}
		}
		if st := s.Stats(); st.Undelivered != 4 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestFanInCloseDiscards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		s := newSched(t)
		defer s.Close()
		res := make(chan backoff.Event[int], 1)
		submitSucceeding(t, s, res, n)
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Discarded != n-1 || st.Undelivered != 0 || st.Succeeded != n {
			t.Fatalf("stats %+v", st)
		}
		if len(res) != 1 {
			t.Fatalf("%d events in the channel", len(res))
		}
	})
}

// Close ends waiting jobs, whose terminal events then meet a full channel:
// they are discarded too, and Close still returns.
func TestFanInCloseDiscardsWaitingJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		s := newSched(t)
		defer s.Close()
		res := make(chan backoff.Event[int], 1)
		for range n {
			if _, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.Constant{Interval: time.Hour}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		if st.Discarded != n-1 || st.Undelivered != 0 || st.GaveUpBy[backoff.ReasonClosed] != n {
			t.Fatalf("stats %+v", st)
		}
		if ev := <-res; ev.Reason != backoff.ReasonClosed {
			t.Fatalf("event %+v", ev)
		}
	})
}

// Shutdown waits for a backlog to be read; if its ctx ends first, the
// backlog is discarded.
func TestFanInShutdownWaitsForReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		res := make(chan backoff.Event[int], 1)
		submitSucceeding(t, s, res, 3)
		synctest.Wait()
		done := make(chan error)
		go func() { done <- s.Shutdown(t.Context()) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v with a backlog unread", err)
		default:
		}
		for range 3 {
			<-res
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Discarded != 0 || st.Undelivered != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestFanInShutdownTimeoutDiscards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		res := make(chan backoff.Event[int], 1)
		submitSucceeding(t, s, res, 3)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Discarded != 2 || st.Undelivered != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// A results channel gets the event the job's end decided, as its handlers
// got it: the owner sends it later, but a handler that changes the
// GiveUpError it was given does not change the event's Reason, Tries or
// Elapsed.
func TestFanInEventIsTheDecidedOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		res := make(chan backoff.Event[int], 1)
		var seen backoff.Event[int]
		meddle := backoff.OnGiveUp(func(ev backoff.Event[int]) {
			seen = ev
			if ge, ok := ev.Err.(*backoff.GiveUpError); ok { //nolint:errorlint // the value the handler got
				ge.Reason, ge.Tries, ge.Elapsed = backoff.ReasonCanceled, 99, time.Hour
			}
		})
		id, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.MaxTries(2), backoff.Constant{Interval: time.Second}, backoff.NoJitter, meddle)
		if err != nil {
			t.Fatal(err)
		}
		ev := <-res
		if ev.ID != id || ev.Kind != backoff.EventGiveUp || ev.Reason != backoff.ReasonMaxTries || ev.Tries != 2 ||
			ev.Elapsed != time.Second || ev.Elapsed != seen.Elapsed || !errors.Is(ev.Err, seen.Err) {
			t.Fatalf("event %+v; want the give-up for max tries after 2 tries and 1s, with the handler's error", ev)
		}
	})
}
