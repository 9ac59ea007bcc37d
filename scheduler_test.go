package backoff_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/backoff-go/backoff"
)

// Helpers shared by the scheduler tests (scheduler_test.go, submit_test.go,
// handle_test.go, fanin_test.go).

var errFail = errors.New("fail")

func newSched(t *testing.T, opts ...backoff.SchedulerOption) *backoff.Scheduler {
	t.Helper()
	s, err := backoff.NewScheduler(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// failing returns an op that always fails with errFail.
func failing(ctx context.Context) (int, error) { return 0, errFail }

// giveUp asserts that err is a *GiveUpError with reason r.
func giveUp(t *testing.T, err error, r backoff.Reason) *backoff.GiveUpError {
	t.Helper()
	var ge *backoff.GiveUpError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v, want a *GiveUpError", err)
	}
	if ge.Reason != r || !errors.Is(err, r) {
		t.Fatalf("reason = %v (err %v), want %v", ge.Reason, err, r)
	}
	return ge
}

// blockingCtx is a context whose Done blocks the first caller until
// release is closed. The scheduler's owner goroutine calls Done when it
// takes a job in (to derive the job's context), so submitting a job under
// a blockingCtx holds the owner still: a deterministic way to test what
// happens while the owner has not yet taken jobs in.
type blockingCtx struct {
	context.Context
	once    sync.Once
	entered chan struct{}
	release chan struct{}
	done    chan struct{}
}

func newBlockingCtx() *blockingCtx {
	return &blockingCtx{
		Context: context.Background(),
		entered: make(chan struct{}),
		release: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

func (c *blockingCtx) Done() <-chan struct{} {
	c.once.Do(func() {
		close(c.entered)
		<-c.release
	})
	return c.done
}

// holdOwner submits a job under a blockingCtx and waits until the owner is
// stuck in it. Call the returned func to let the owner go.
func holdOwner(t *testing.T, s *backoff.Scheduler) (release func()) {
	t.Helper()
	bc := newBlockingCtx()
	if _, err := backoff.SubmitTo(bc, s, func(context.Context) (int, error) { return 0, nil },
		make(chan backoff.Event[int], 1), backoff.NonBlocking()); err != nil {
		t.Fatal(err)
	}
	<-bc.entered
	synctest.Wait()
	return func() { close(bc.release) }
}

// 1. Wait schedule exactness.

func TestScheduleExpoSubmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		start := time.Now()
		var at []time.Duration
		h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			at = append(at, time.Since(start))
			return len(at), errFail
		}, backoff.Expo{}, backoff.NoJitter, backoff.MaxTries(4))
		if err != nil {
			t.Fatal(err)
		}
		v, err := h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonMaxTries)
		if !errors.Is(err, errFail) || v != 4 || ge.Tries != 4 || ge.Elapsed != 7*time.Second {
			t.Fatalf("v=%d err=%v tries=%d elapsed=%v", v, err, ge.Tries, ge.Elapsed)
		}
		checkTimes(t, at, 0, time.Second, 3*time.Second, 7*time.Second)
		if d := time.Since(start); d != 7*time.Second {
			t.Fatalf("Result returned at %v, want 7s", d)
		}
	})
}

func TestScheduleExpoSubmitTo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		start := time.Now()
		var at []time.Duration
		res := make(chan backoff.Event[int], 1)
		id, err := backoff.SubmitTo(t.Context(), s, func(ctx context.Context) (int, error) {
			at = append(at, time.Since(start))
			return len(at), errFail
		}, res, backoff.Expo{}, backoff.NoJitter, backoff.MaxTries(4), backoff.Key("expo"))
		if err != nil {
			t.Fatal(err)
		}
		ev := <-res
		if ev.ID != id || ev.Key != "expo" || ev.Kind != backoff.EventGiveUp || ev.Reason != backoff.ReasonMaxTries ||
			ev.Tries != 4 || ev.Elapsed != 7*time.Second || ev.Value != 4 || !errors.Is(ev.Err, errFail) {
			t.Fatalf("event %+v (id %d)", ev, id)
		}
		checkTimes(t, at, 0, time.Second, 3*time.Second, 7*time.Second)
		synctest.Wait()
		if len(res) != 0 {
			t.Fatalf("more than one event: %+v", <-res)
		}
	})
}

// With a clock.Mock, attempts happen exactly when the mock reaches them,
// never a nanosecond early.
func TestScheduleExpoMockClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := clock.NewMock()
		s := newSched(t, backoff.WithClock(m))
		defer s.Close()
		start := m.Now()
		var n atomic.Int32
		var mu sync.Mutex
		var at []time.Duration
		h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			mu.Lock()
			at = append(at, m.Since(start))
			mu.Unlock()
			n.Add(1)
			return 0, errFail
		}, backoff.Expo{}, backoff.NoJitter, backoff.MaxTries(4))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n.Load() != 1 {
			t.Fatalf("tries at start = %d, want 1", n.Load())
		}
		for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			m.Add(wait - time.Nanosecond)
			synctest.Wait()
			if got := n.Load(); got != int32(i+1) {
				t.Fatalf("attempt %d ran early: tries %d", i+2, got)
			}
			m.Add(time.Nanosecond)
			synctest.Wait()
			if got := n.Load(); got != int32(i+2) {
				t.Fatalf("attempt %d did not run on time: tries %d", i+2, got)
			}
		}
		_, err = h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonMaxTries)
		if ge.Elapsed != 7*time.Second {
			t.Fatalf("elapsed %v, want 7s on the mock", ge.Elapsed)
		}
		mu.Lock()
		checkTimes(t, at, 0, time.Second, 3*time.Second, 7*time.Second)
		mu.Unlock()
	})
}

// InitialDelay on a mock clock: the first attempt waits for it, and
// Elapsed does not count it.
func TestInitialDelayMockClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := clock.NewMock()
		s := newSched(t, backoff.WithClock(m))
		defer s.Close()
		start := m.Now()
		var n atomic.Int32
		res := make(chan backoff.Event[int], 1)
		_, err := backoff.SubmitTo(t.Context(), s, func(ctx context.Context) (int, error) {
			n.Add(1)
			return 0, errFail
		}, res, backoff.InitialDelay(5*time.Second), backoff.Constant{Interval: time.Second},
			backoff.NoJitter, backoff.MaxTries(2))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		m.Add(5*time.Second - time.Nanosecond)
		synctest.Wait()
		if n.Load() != 0 {
			t.Fatal("first attempt ran before the initial delay")
		}
		m.Add(time.Nanosecond)
		synctest.Wait()
		if n.Load() != 1 {
			t.Fatalf("tries = %d after the initial delay, want 1", n.Load())
		}
		m.Add(time.Second)
		ev := <-res
		if ev.Tries != 2 || ev.Elapsed != time.Second || ev.Reason != backoff.ReasonMaxTries {
			t.Fatalf("event %+v; want 2 tries, elapsed 1s (initial delay not counted)", ev)
		}
		if d := m.Since(start); d != 6*time.Second {
			t.Fatalf("mock time %v", d)
		}
	})
}

func checkTimes(t *testing.T, got []time.Duration, want ...time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("attempts at %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("attempts at %v, want %v", got, want)
		}
	}
}

// 2. 100,000 jobs: constant goroutines, one terminal event each.
func TestHundredThousandJobs(t *testing.T) {
	const n = 100_000
	if testing.Short() {
		t.Skip("100k jobs")
	}
	synctest.Test(t, func(t *testing.T) {
		res := make(chan backoff.Event[int], n)
		s := newSched(t, backoff.Workers(8))
		defer s.Close()
		// The 8 workers start with the first burst, and stay.
		base, baseBubble := runtime.NumGoroutine()+8, bubbleGoroutines()+8
		pol, err := backoff.NewPolicy[int](backoff.Constant{Interval: time.Minute}, backoff.NoJitter, backoff.MaxTries(2))
		if err != nil {
			t.Fatal(err)
		}
		ids := make(map[uint64]bool, n)
		start := time.Now()
		for range n {
			id, err := backoff.SubmitTo(t.Context(), s, failing, res, pol)
			if err != nil {
				t.Fatal(err)
			}
			if ids[id] {
				t.Fatalf("duplicate ID %d", id)
			}
			ids[id] = true
		}
		synctest.Wait()
		checkGoroutines(t, base, baseBubble)
		if d := time.Since(start); d != 0 {
			t.Fatalf("time passed before the waits: %v", d)
		}
		st := s.Stats()
		if st.Submitted != n || st.Attempts != n || st.Waiting != n || st.Pending != n || len(res) != 0 {
			t.Fatalf("while waiting: %+v, %d events", st, len(res))
		}
		seen := make(map[uint64]bool, n)
		for range n {
			ev := <-res
			if !ids[ev.ID] || seen[ev.ID] {
				t.Fatalf("unknown or duplicate terminal event for ID %d", ev.ID)
			}
			seen[ev.ID] = true
			if ev.Kind != backoff.EventGiveUp || ev.Reason != backoff.ReasonMaxTries || ev.Tries != 2 || ev.Elapsed != time.Minute {
				t.Fatalf("event %+v", ev)
			}
		}
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("all ended at %v, want 1m", d)
		}
		synctest.Wait()
		if len(res) != 0 {
			t.Fatalf("%d extra events", len(res))
		}
		st = s.Stats()
		if st.Submitted != n || st.GaveUpBy[backoff.ReasonMaxTries] != n || st.GaveUp != n || st.Attempts != 2*n ||
			st.Pending != 0 || st.Waiting != 0 || st.Undelivered != 0 || st.Succeeded != 0 {
			t.Fatalf("stats %+v", st)
		}
		checkGoroutines(t, base, baseBubble)
	})
}

// checkGoroutines compares the goroutine count with the one taken right
// after NewScheduler. runtime.NumGoroutine counts the whole process, so a
// goroutine outside the bubble that exits meanwhile (another test's) could
// lower it: it must not grow, and the count of this bubble's goroutines,
// read from their stack headers, must be exactly the same.
func checkGoroutines(t *testing.T, base, baseBubble int) {
	t.Helper()
	if g, b := runtime.NumGoroutine(), bubbleGoroutines(); g > base || b != baseBubble {
		t.Fatalf("goroutines: %d in the process, %d in the bubble; right after NewScheduler: %d and %d", g, b, base, baseBubble)
	}
}

// bubbleGoroutines counts the goroutines of the caller's synctest bubble.
func bubbleGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	self := make([]byte, 256)
	self = self[:runtime.Stack(self, false)]
	line, _, _ := strings.Cut(string(self), "\n")
	i := strings.Index(line, "synctest bubble ")
	if i < 0 {
		panic("not in a bubble: " + line)
	}
	tag := line[i : strings.LastIndex(line, "]")+1] // "synctest bubble N]"
	count := 0
	for _, l := range strings.Split(string(buf), "\n") {
		if strings.HasPrefix(l, "goroutine ") && strings.HasSuffix(l, tag+":") {
			count++
		}
	}
	return count
}

// 3. Worker limit: never more than Workers ops at once, never two attempts
// of one job at once.
func TestWorkerLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, jobs = 3, 50
		s := newSched(t, backoff.Workers(workers))
		defer s.Close()
		release := make(chan struct{})
		var inflight, peak atomic.Int32
		var overlap atomic.Bool
		res := make(chan backoff.Event[int], jobs)
		for range jobs {
			var mine atomic.Int32
			_, err := backoff.SubmitTo(t.Context(), s, func(ctx context.Context) (int, error) {
				if mine.Add(1) != 1 {
					overlap.Store(true)
				}
				defer mine.Add(-1)
				cur := inflight.Add(1)
				defer inflight.Add(-1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				<-release
				return 0, errFail
			}, res, backoff.NoWait{}, backoff.MaxTries(3))
			if err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := inflight.Load(); got != workers {
			t.Fatalf("in flight with all workers busy = %d, want %d", got, workers)
		}
		st := s.Stats()
		if st.Pending != jobs || st.Attempts != 0 {
			t.Fatalf("stats %+v", st)
		}
		close(release)
		for range jobs {
			if ev := <-res; ev.Reason != backoff.ReasonMaxTries || ev.Tries != 3 {
				t.Fatalf("event %+v", ev)
			}
		}
		if p := peak.Load(); p != workers {
			t.Fatalf("peak concurrency %d, want %d", p, workers)
		}
		if overlap.Load() {
			t.Fatal("a job ran two attempts at once")
		}
		if a := s.Stats().Attempts; a != 3*jobs {
			t.Fatalf("attempts %d", a)
		}
	})
}

// 7. Close and Shutdown.

func TestCloseEndsWaitingAndRunningJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		var hs []*backoff.Handle[int]
		for range 5 {
			h, err := backoff.Submit(t.Context(), s, failing, backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		running, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 7, ctx.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		res := make(chan backoff.Event[int], 1)
		if _, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.Constant{Interval: time.Hour}, backoff.NoJitter); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("Close took %v of fake time", d)
		}
		for _, h := range hs {
			_, err := h.Result(t.Context())
			ge := giveUp(t, err, backoff.ReasonClosed)
			if !errors.Is(err, errFail) || ge.Tries != 1 {
				t.Fatalf("err %v", err)
			}
		}
		v, err := running.Result(t.Context())
		giveUp(t, err, backoff.ReasonClosed)
		if v != 7 {
			t.Fatalf("value %d", v)
		}
		if ev := <-res; ev.Reason != backoff.ReasonClosed {
			t.Fatalf("fan-in event %+v", ev)
		}
		st := s.Stats()
		if st.GaveUpBy[backoff.ReasonClosed] != 7 || st.Pending != 0 {
			t.Fatalf("stats %+v", st)
		}
		if _, err := backoff.Submit(t.Context(), s, failing); !errors.Is(err, backoff.ErrClosed) {
			t.Fatalf("Submit after Close: %v", err)
		}
		if _, err := backoff.SubmitTo(t.Context(), s, failing, res); !errors.Is(err, backoff.ErrClosed) {
			t.Fatalf("SubmitTo after Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := s.Shutdown(t.Context()); err != nil {
			t.Fatalf("Shutdown after Close: %v", err)
		}
	})
}

func TestShutdownLetsJobsFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		var hs []*backoff.Handle[int]
		for i := range 10 {
			n := 0
			h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
				n++
				if n < 3 {
					return 0, errFail
				}
				return i, nil
			}, backoff.Constant{Interval: time.Second}, backoff.NoJitter)
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		synctest.Wait()
		start := time.Now()
		if err := s.Shutdown(t.Context()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("Shutdown returned after %v, want 2s", d)
		}
		for i, h := range hs {
			if v, err := h.Result(t.Context()); v != i || err != nil {
				t.Fatalf("job %d: %v %v", i, v, err)
			}
		}
		if _, err := backoff.Submit(t.Context(), s, failing); !errors.Is(err, backoff.ErrClosed) {
			t.Fatalf("Submit after Shutdown: %v", err)
		}
		if st := s.Stats(); st.Succeeded != 10 || st.Pending != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestShutdownTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		release := make(chan struct{})
		stubborn, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			<-release // ignores ctx
			return 0, errFail
		})
		if err != nil {
			t.Fatal(err)
		}
		waiting, err := backoff.Submit(t.Context(), s, failing, backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Shutdown returned after %v", d)
		}
		// The waiting job was cancelled as Close does.
		_, err = waiting.Result(t.Context())
		giveUp(t, err, backoff.ReasonClosed)
		close(release)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err = stubborn.Result(t.Context())
		giveUp(t, err, backoff.ReasonClosed)
	})
}

// Workers start as attempts fall due, not with the scheduler: a scheduler
// with 65,536 workers starts one goroutine, and a burst of ten jobs starts
// ten workers, which stay, idle, until Close.
func TestWorkersStartWithWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := bubbleGoroutines()
		s := newSched(t, backoff.Workers(1<<16))
		if got := bubbleGoroutines() - base; got != 1 {
			t.Fatalf("%d goroutines after NewScheduler(Workers(65536)), want the owner alone", got)
		}
		release := make(chan struct{})
		var hs []*backoff.Handle[int]
		for range 10 {
			hs = append(hs, mustSubmit(t, s, func(context.Context) (int, error) { <-release; return 1, nil }))
		}
		synctest.Wait()
		if got := bubbleGoroutines() - base; got != 1+10 {
			t.Fatalf("%d goroutines with 10 attempts running, want the owner and 10 workers", got)
		}
		close(release)
		for _, h := range hs {
			expectResult(t, h, 1, backoff.ReasonNone, 0)
		}
		synctest.Wait()
		if got := bubbleGoroutines() - base; got != 1+10 {
			t.Fatalf("%d goroutines once idle, want the owner and 10 idle workers", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// A goroutine Close waited for may still be returning from its
		// last call; none may be left blocked.
		synctest.Wait()
		if got := bubbleGoroutines() - base; got != 0 {
			t.Fatalf("%d goroutines after Close", got)
		}
	})
}

// 9. Refused submissions.

// A submission that MaxPending refuses leaves nothing behind: its key is
// free, it is counted as rejected, and it never runs; a blocking one gets
// in when a job ends.
func TestRefusedSubmissionsLeaveNoKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.MaxPending(1))
		defer s.Close()
		res := make(chan backoff.Event[int], 10)
		id1, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.NonBlocking(), backoff.Key("a"),
			backoff.Constant{Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.NonBlocking(), backoff.Key("b")); !errors.Is(err, backoff.ErrPendingFull) {
			t.Fatalf("NonBlocking SubmitTo at MaxPending: %v", err)
		}
		if _, err := backoff.Submit(t.Context(), s, failing, backoff.NonBlocking()); !errors.Is(err, backoff.ErrPendingFull) {
			t.Fatalf("NonBlocking Submit at MaxPending: %v", err)
		}
		// A blocking submit waits until its ctx ends.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		if _, err := backoff.SubmitTo(ctx, s, failing, res, backoff.Key("c")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("blocking Submit at MaxPending: %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("blocking Submit returned after %v", d)
		}
		if st := s.Stats(); st.Submitted != 1 || st.Pending != 1 || st.Rejected != 2 {
			t.Fatalf("refused jobs counted: %+v", st)
		}
		// Refused jobs left their keys free; the accepted one holds its key.
		if s.Trigger("b") || s.Trigger("c") {
			t.Fatal("a refused job's key is live")
		}
		// A blocking submit gets in once the first job ends.
		done := make(chan error)
		go func() {
			_, err := backoff.SubmitTo(t.Context(), s, failing, res, backoff.MaxTries(1), backoff.Key("b"))
			done <- err
		}()
		synctest.Wait()
		if !s.Cancel("a") {
			t.Fatal("the accepted job's key is not live")
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		for range 2 {
			ev := <-res
			if ev.Key == "a" && ev.ID != id1 {
				t.Fatalf("event %+v", ev)
			}
			keys[ev.Key] = true
		}
		if !keys["a"] || !keys["b"] {
			t.Fatalf("events for keys %v", keys)
		}
		synctest.Wait()
		if st := s.Stats(); st.Submitted != 2 || st.Pending != 0 || st.GaveUpBy[backoff.ReasonMaxTries] != 1 ||
			st.GaveUpBy[backoff.ReasonCanceled] != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// 10. Panics.

func TestOpPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(1))
		defer s.Close()
		other, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) { return 1, nil },
			backoff.InitialDelay(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) { panic("boom") })
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonPanic)
		var pe *backoff.PanicError
		if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 || ge.Tries != 1 {
			t.Fatalf("err %v", err)
		}
		if v, err := other.Result(t.Context()); v != 1 || err != nil {
			t.Fatalf("other job: %v %v", v, err)
		}
		// The single worker survived: a new job still runs.
		after, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) { return 2, nil })
		if err != nil {
			t.Fatal(err)
		}
		if v, err := after.Result(t.Context()); v != 2 || err != nil {
			t.Fatalf("job after the panic: %v %v", v, err)
		}
		if st := s.Stats(); st.GaveUpBy[backoff.ReasonPanic] != 1 || st.Succeeded != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestOnBackoffPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		calls := 0
		h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			calls++
			return 0, errFail
		}, backoff.OnBackoff(func(backoff.Event[int]) { panic("handler") }))
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		giveUp(t, err, backoff.ReasonPanic)
		var pe *backoff.PanicError
		if !errors.As(err, &pe) || pe.Value != "handler" || !errors.Is(err, errFail) || calls != 1 {
			t.Fatalf("err %v calls %d", err, calls)
		}
	})
}

func TestOnSuccessAndOnGiveUpPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) { return 5, nil },
			backoff.OnSuccess(func(backoff.Event[int]) { panic("success handler") }))
		if err != nil {
			t.Fatal(err)
		}
		if v, err := h.Result(t.Context()); v != 5 || err != nil {
			t.Fatalf("success did not stand: %v %v", v, err)
		}
		synctest.Wait()
		if st := s.Stats(); st.HandlerPanics != 1 || st.Succeeded != 1 || st.GaveUp != 0 {
			t.Fatalf("stats %+v", st)
		}
		g, err := backoff.Submit(t.Context(), s, failing, backoff.MaxTries(1),
			backoff.OnGiveUp(func(backoff.Event[int]) { panic("giveup handler") }))
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Result(t.Context())
		giveUp(t, err, backoff.ReasonMaxTries)
		if st := s.Stats(); st.HandlerPanics != 2 || st.GaveUpBy[backoff.ReasonMaxTries] != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// 11. Bad input: an error naming the field, never a panic.
func TestBadInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		ctx := t.Context()
		res := make(chan backoff.Event[int], 1)
		var nilSched *backoff.Scheduler
		var nilCtx context.Context
		m := clock.NewMock()
		cases := []struct {
			name, want string
			call       func() error
		}{
			{"nil scheduler", "scheduler", func() error { _, err := backoff.Submit(ctx, nilSched, failing); return err }},
			{"nil scheduler SubmitTo", "scheduler", func() error { _, err := backoff.SubmitTo(ctx, nilSched, failing, res); return err }},
			{"nil ctx", "ctx", func() error { _, err := backoff.Submit(nilCtx, s, failing); return err }},
			{"nil ctx SubmitTo", "ctx", func() error { _, err := backoff.SubmitTo(nilCtx, s, failing, res); return err }},
			{"nil op", "op", func() error { _, err := backoff.Submit[int](ctx, s, nil); return err }},
			{"nil op SubmitTo", "op", func() error { _, err := backoff.SubmitTo[int](ctx, s, nil, res); return err }},
			{"nil results", "results", func() error { _, err := backoff.SubmitTo(ctx, s, failing, nil); return err }},
			{"WithClock to Submit", "WithClock", func() error { _, err := backoff.Submit(ctx, s, failing, backoff.WithClock(m)); return err }},
			{"WithClock to SubmitTo", "WithClock", func() error { _, err := backoff.SubmitTo(ctx, s, failing, res, backoff.WithClock(m)); return err }},
			{"MaxTries(0)", "MaxTries", func() error { _, err := backoff.Submit(ctx, s, failing, backoff.MaxTries(0)); return err }},
			{"nil option", "nil Option", func() error { _, err := backoff.Submit(ctx, s, failing, nil); return err }},
			{"handler type", "OnBackoff", func() error {
				_, err := backoff.Submit(ctx, s, failing, backoff.OnBackoff(func(backoff.Event[string]) {}))
				return err
			}},
			{"Workers(0)", "Workers", func() error { _, err := backoff.NewScheduler(backoff.Workers(0)); return err }},
			{"WithClock(nil)", "WithClock", func() error { _, err := backoff.NewScheduler(backoff.WithClock(nil)); return err }},
			{"nil SchedulerOption", "nil SchedulerOption", func() error { _, err := backoff.NewScheduler(nil); return err }},
		}
		// t.Run is not allowed inside a bubble: one loop, named failures.
		for _, c := range cases {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: panic: %v", c.name, r)
					}
				}()
				err = c.call()
			}()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: err = %v, want one naming %q", c.name, err, c.want)
			}
		}
		synctest.Wait()
		if st := s.Stats(); st.Submitted != 0 || st.Pending != 0 {
			t.Fatalf("bad input submitted a job: %+v", st)
		}
	})
}

// 12. StartJitter spreads first attempts; neither it nor InitialDelay counts
// in Elapsed.
func TestStartJitterSpreads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 1000
		s := newSched(t)
		defer s.Close()
		start := time.Now()
		res := make(chan backoff.Event[int], n)
		var mu sync.Mutex
		first := map[time.Duration]int{}
		for range n {
			_, err := backoff.SubmitTo(t.Context(), s, func(ctx context.Context) (int, error) {
				mu.Lock()
				first[time.Since(start)]++
				mu.Unlock()
				return 0, errFail
			}, res, backoff.StartJitter(10*time.Second), backoff.InitialDelay(time.Second),
				backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTries(2))
			if err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			ev := <-res
			if ev.Elapsed != time.Second || ev.Tries != 2 {
				t.Fatalf("event %+v: elapsed must count from the first attempt", ev)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		var lo, hi time.Duration = time.Hour, 0
		total := 0
		for d, c := range first {
			lo, hi = min(lo, d), max(hi, d)
			total += c
		}
		if total != 2*n {
			t.Fatalf("%d attempts", total)
		}
		// 2n attempts at distinct nanoseconds, except by rare chance.
		if len(first) < n || lo < time.Second || hi >= 12*time.Second {
			t.Fatalf("first attempts not spread: %d distinct times in [%v, %v]", len(first), lo, hi)
		}
	})
}

// Shutdown of a scheduler that has already finished reports nil, even with
// an ended ctx.
func TestShutdownAfterFinishEndedCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		if err := s.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for range 100 {
			if err := s.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown of a finished scheduler: %v", err)
			}
		}
	})
}
