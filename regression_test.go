package backoff_test

// Regression tests for defects found by using the library as its users
// do; each test names the behaviour it pins down. Tests of the same kind
// for the other modules sit beside their code (httpretry, riverbackoff).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/backoff-go/backoff"
)

// nilErr is an error type whose Error method dereferences its receiver: a
// typed nil *nilErr returned as an error panics when it is formatted.
type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

// typedNil returns a non-nil error holding a nil *nilErr.
func typedNil() error {
	var e *nilErr
	return e
}

// A panicking Error method is printed the way fmt prints it, wherever the
// library formats a user's error; the job keeps its own reason and the
// panic is counted.
func TestPanickingErrorInSchedulerLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecHandler(slog.LevelInfo)
		s := newSched(t, backoff.WithLogger(slog.New(rec)))
		defer s.Close()
		h := mustSubmit(t, s, func(context.Context) (int, error) { return 0, typedNil() },
			backoff.NoWait{}, backoff.MaxTries(2))
		expectResult(t, h, 0, backoff.ReasonMaxTries, 2)
		lines := rec.lines()
		if len(lines) != 2 || !strings.Contains(lines[0], "(<nil>)") || !strings.Contains(lines[1], "(<nil>)") {
			t.Fatalf("log lines %q; want a backoff and a give-up record, each printing the error as fmt does", lines)
		}
		if st := s.Stats(); st.HandlerPanics != 2 || st.GaveUpBy[backoff.ReasonMaxTries] != 1 {
			t.Fatalf("stats %+v; want 2 panics counted (one per record) and a MaxTries give-up", st)
		}
	})
}

func TestPanickingErrorInRetryLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecHandler(slog.LevelInfo)
		_, err := backoff.Retry(t.Context(), func(context.Context) (int, error) { return 0, typedNil() },
			backoff.NoWait{}, backoff.MaxTries(2), backoff.WithLogger(slog.New(rec)))
		giveUp(t, err, backoff.ReasonMaxTries)
		if lines := rec.lines(); len(lines) != 2 || !strings.Contains(lines[1], "(<nil>)") {
			t.Fatalf("log lines %q", lines)
		}
	})
}

func TestPanickingErrorInGiveUpError(t *testing.T) {
	ge := &backoff.GiveUpError{Reason: backoff.ReasonMaxTries, Err: typedNil(), Cause: typedNil(), Tries: 2}
	if got, want := ge.Error(), "backoff: gave up after 2 tries (max tries): <nil>: <nil>"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestPanickingErrorInPermanent(t *testing.T) {
	if got := backoff.Permanent(typedNil()).Error(); got != "<nil>" {
		t.Fatalf("Error() = %q, want %q", got, "<nil>")
	}
}

// unhashableAny is a context of a comparable type whose value cannot be
// hashed: its any field holds a slice.
type unhashableAny struct {
	context.Context
	v any
}

// Any context.Context is accepted, including one of a comparable type
// whose value is not hashable.
func TestContextWithUnhashableValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		ctxs := []context.Context{
			context.WithoutCancel(unhashableCtx{Context: t.Context(), tags: []string{"a"}}),
			unhashableAny{Context: t.Context(), v: []int{1}},
			unhashableAny{Context: t.Context(), v: []int{2}},
			unhashableAny{Context: t.Context(), v: 3},
		}
		results := make(chan backoff.Event[int], len(ctxs))
		for i, ctx := range ctxs {
			if _, err := backoff.SubmitTo(ctx, s, func(context.Context) (int, error) { return i, errFail },
				results, backoff.Constant{Interval: time.Second}, backoff.MaxTries(2)); err != nil {
				t.Fatal(err)
			}
		}
		for range ctxs {
			if ev := <-results; ev.Reason != backoff.ReasonMaxTries || ev.Tries != 2 {
				t.Fatalf("event %+v", ev)
			}
		}
	})
}

// Jobs held by their group's limit that are stopped end at once, and
// nothing of them stays in memory while their group stays busy: stopped
// by Handle.Cancel, or by their own contexts' end: no job is reachable
// once the caller lets go of it, round after round.
func TestStoppedHeldJobsAreReleased(t *testing.T) {
	for _, how := range []string{"Cancel", "context"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSched(t, backoff.Workers(4), backoff.GroupLimitFor("g", 1))
				defer s.Close()
				block := make(chan struct{})
				busy := mustSubmit(t, s, func(context.Context) (int, error) { <-block; return 1, nil }, backoff.Group("g"))
				synctest.Wait()
				const n = 2000
				for round := range 3 {
					if n := heldAndStopped(t, s, n, how)(); n > 0 {
						t.Errorf("round %d: %d stopped held jobs still reachable while their group is busy", round, n)
					}
				}
				if st := s.Stats(); st.Held != 0 || st.Pending != 1 {
					t.Fatalf("held %d, pending %d; want 0 and the busy job", st.Held, st.Pending)
				}
				close(block)
				expectResult(t, busy, 1, backoff.ReasonNone, 0)
			})
		})
	}
}

// heldAndStopped submits n jobs that their group's limit holds, stops
// them all and checks their ends. It returns a function that counts the
// jobs still reachable once the caller let go of everything.
func heldAndStopped(t *testing.T, s *backoff.Scheduler, n int, how string) (alive func() int) {
	t.Helper()
	hs := make([]*backoff.Handle[int], n)
	cancels := make([]context.CancelFunc, n)
	for i := range hs {
		ctx, cancel := context.WithCancel(t.Context())
		h, err := backoff.Submit(ctx, s, succeed, backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		hs[i], cancels[i] = h, cancel
	}
	synctest.Wait()
	if st := s.Stats(); st.Held != n {
		t.Fatalf("held %d, want %d", st.Held, n)
	}
	want := backoff.ReasonCanceled
	for i, h := range hs {
		if how == "Cancel" {
			h.Cancel()
		} else {
			cancels[i]()
			want = backoff.ReasonContext
		}
	}
	synctest.Wait()
	weaks := make([]weak.Pointer[backoff.Handle[int]], n)
	for i, h := range hs {
		expectResult(t, h, 0, want, 0)
		weaks[i] = weak.Make(h)
		cancels[i]()
	}
	return func() int { return reachable(weaks) }
}

// reachable collects garbage and counts the values still reachable.
func reachable[T any](ws []weak.Pointer[T]) int {
	runtime.GC()
	n := 0
	for _, w := range ws {
		if w.Value() != nil {
			n++
		}
	}
	return n
}

// A runtime.Goexit on a worker, from an op, a handler or an observer, ends
// that job with ReasonPanic and ErrGoexit, and a new worker takes the lost
// one's place: the next job runs, and Close returns.
func TestGoexitOnWorker(t *testing.T) {
	goexit := func(context.Context) (int, error) { runtime.Goexit(); return 0, nil }
	h := func(backoff.Event[int]) { runtime.Goexit() }
	cases := []struct {
		name   string
		op     func(context.Context) (int, error)
		opts   []backoff.Option
		want   backoff.Reason
		sched  []backoff.SchedulerOption
		panics uint64
	}{
		{name: "op", op: goexit, want: backoff.ReasonPanic},
		// The worker that exits ends the job, and the job's end exits it
		// a second time.
		{name: "op, then OnGiveUp", op: goexit, opts: []backoff.Option{backoff.OnGiveUp(h)}, want: backoff.ReasonPanic, panics: 1},
		{name: "OnBackoff", op: failing, opts: []backoff.Option{backoff.OnBackoff(h)}, want: backoff.ReasonPanic},
		{name: "OnGiveUp", op: failing, opts: []backoff.Option{backoff.MaxTries(1), backoff.OnGiveUp(h)},
			want: backoff.ReasonMaxTries, panics: 1},
		{name: "OnSuccess", op: succeed, opts: []backoff.Option{backoff.OnSuccess(h)}, want: backoff.ReasonNone, panics: 1},
		{name: "observer at an attempt's start", op: succeed, want: backoff.ReasonPanic,
			sched: []backoff.SchedulerOption{backoff.WithObserver(&goexitObserver{kind: backoff.ObserveAttemptStart})}},
		{name: "observer at the end", op: succeed, want: backoff.ReasonNone, panics: 1,
			sched: []backoff.SchedulerOption{backoff.WithObserver(&goexitObserver{kind: backoff.ObserveSuccess})}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSched(t, append([]backoff.SchedulerOption{backoff.Workers(1)}, c.sched...)...)
				first := mustSubmit(t, s, c.op, append([]backoff.Option{backoff.NoWait{}}, c.opts...)...)
				v, err := first.Result(t.Context())
				switch c.want {
				case backoff.ReasonNone:
					if err != nil || v != 1 {
						t.Fatalf("job: %v, %v; want success", v, err)
					}
				case backoff.ReasonPanic:
					ge := giveUp(t, err, backoff.ReasonPanic)
					var pe *backoff.PanicError
					if !errors.As(ge, &pe) || pe.Value != backoff.ErrGoexit || !errors.Is(err, backoff.ErrGoexit) { //nolint:errorlint // the value itself
						t.Fatalf("cause %v; want a *PanicError holding ErrGoexit", ge.Cause)
					}
				default:
					giveUp(t, err, c.want)
				}
				next := mustSubmit(t, s, succeed)
				expectResult(t, next, 1, backoff.ReasonNone, 0)
				if st := s.Stats(); st.HandlerPanics != c.panics {
					t.Errorf("handler panics %d, want %d", st.HandlerPanics, c.panics)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// goexitObserver calls runtime.Goexit when it sees the first observation
// of its kind.
type goexitObserver struct {
	kind backoff.ObservationKind
	done atomic.Bool
}

func (o *goexitObserver) Observe(ob backoff.Observation) {
	if ob.Kind == o.kind && !o.done.Swap(true) {
		runtime.Goexit()
	}
}

// goroutinesCreated reads the runtime's count of goroutines created.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Close starts no goroutine for each context that jobs were submitted
// under: with 5,000 waiting jobs, each under a context of its own, it ends
// them all with a handful of goroutines, the workers.
func TestCloseStartsNoGoroutinePerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(4))
		const n = 5000
		hs := make([]*backoff.Handle[int], n)
		for i := range hs {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			h, err := backoff.Submit(ctx, s, failing, backoff.Constant{Interval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			hs[i] = h
		}
		synctest.Wait()
		created := goroutinesCreated()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if extra := goroutinesCreated() - created; extra > 50 {
			t.Errorf("Close created %d goroutines for %d contexts", extra, n)
		}
		for _, h := range hs {
			expectResult(t, h, 0, backoff.ReasonClosed, 1)
		}
	})
}

// When the contexts of jobs end, the callbacks that tell the owner never
// block, even while the owner is busy: each exits at once.
func TestContextEndsNeverBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		parent, cancelAll := context.WithCancel(t.Context())
		const n = 500
		hs := make([]*backoff.Handle[int], n)
		for i := range hs {
			ctx, cancel := context.WithCancel(parent)
			defer cancel()
			h, err := backoff.Submit(ctx, s, failing, backoff.Constant{Interval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			hs[i] = h
		}
		synctest.Wait()
		base := bubbleGoroutines()
		release := holdOwner(t, s)
		cancelAll()
		synctest.Wait()
		if extra := bubbleGoroutines() - base; extra > 0 {
			t.Errorf("%d goroutines blocked on a busy owner after %d contexts ended", extra, n)
		}
		release()
		for _, h := range hs {
			expectResult(t, h, 0, backoff.ReasonContext, 1)
		}
	})
}

// A job's MaxPending slot is free before anyone can see its end: a Submit
// right after Result never finds the scheduler full.
func TestMaxPendingFreedBeforeTheEndIsSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.MaxPending(1))
		defer s.Close()
		full := 0
		for range 5000 {
			h, err := backoff.Submit(t.Context(), s, succeed, backoff.NonBlocking())
			if errors.Is(err, backoff.ErrPendingFull) {
				full++
				synctest.Wait()
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Result(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if full > 0 {
			t.Fatalf("%d of 5000 submissions found the scheduler full right after the previous job's Result", full)
		}
	})
}

// Handle.Cancel, Scheduler.Cancel and Trigger never block, however many
// arrive while the owner is busy.
func TestCancelAndTriggerNeverBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		const n = 300
		hs := make([]*backoff.Handle[int], n)
		for i := range hs {
			hs[i] = mustSubmit(t, s, failing, backoff.Key(fmt.Sprint(i)), backoff.Constant{Interval: time.Hour})
		}
		synctest.Wait()
		release := holdOwner(t, s)
		var done atomic.Bool
		go func() {
			for i, h := range hs {
				s.Trigger(fmt.Sprint(i))
				if i%2 == 0 {
					h.Cancel()
				} else {
					s.Cancel(fmt.Sprint(i))
				}
			}
			done.Store(true)
		}()
		synctest.Wait()
		if !done.Load() {
			t.Error("Cancel or Trigger blocked while the owner was busy")
		}
		release()
		for _, h := range hs {
			expectResult(t, h, 0, backoff.ReasonCanceled, 1)
		}
	})
}

// With Subscribe, a Handle's events channel exists from Submit: ranging
// over it right after Submit sees every backoff event.
func TestSubscribedHandleMissesNoEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		for i := range 1000 {
			h := mustSubmit(t, s, failing, backoff.NoWait{}, backoff.MaxTries(4), backoff.Subscribe())
			n := 0
			for range h.Events() {
				n++
			}
			if n != 4 {
				t.Fatalf("job %d: %d events, want 3 backoff events and the give-up", i, n)
			}
		}
	})
}

// After Shutdown returns, with any result, the scheduler never sends on a
// results channel again, so its owner may close it; an op that returns
// later still has its job ended, its handlers run and its event counted
// as discarded.
func TestNoSendAfterShutdownReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		results := make(chan backoff.Event[int], 1)
		var gaveUp atomic.Int32
		if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
			time.Sleep(time.Second) // ignores its context
			return 0, errFail
		}, results, backoff.OnGiveUp(func(backoff.Event[int]) { gaveUp.Add(1) })); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v", err)
		}
		close(results)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if gaveUp.Load() != 1 {
			t.Errorf("OnGiveUp ran %d times, want 1", gaveUp.Load())
		}
		if st := s.Stats(); st.Discarded != 1 || st.GaveUpBy[backoff.ReasonClosed] != 1 {
			t.Errorf("stats %+v; want the late terminal event discarded", st)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A Trigger that arrives while an attempt's outcome is being handled is
// remembered: the next wait is cut to 0, once.
func TestTriggerIsNeverLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		lost := 0
		for i := range 2000 {
			key := fmt.Sprint(i)
			var calls atomic.Int32
			h := mustSubmit(t, s, func(context.Context) (int, error) {
				calls.Add(1)
				return 0, errFail
			}, backoff.Key(key), backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.MaxTries(3), backoff.Subscribe())
			ev := <-h.Events()
			if ev.Kind != backoff.EventBackoff || ev.Wait != time.Hour {
				t.Fatalf("first event %+v", ev)
			}
			if !s.Trigger(key) {
				t.Fatalf("job %d: Trigger found no job", i)
			}
			start := time.Now()
			ev = <-h.Events() // the second attempt's backoff event
			if time.Since(start) >= time.Hour {
				lost++
			}
			if ev.Wait != time.Hour {
				t.Fatalf("second event %+v; want the planned wait", ev)
			}
			h.Cancel()
			expectResult(t, h, 0, backoff.ReasonCanceled, 2)
		}
		if lost > 0 {
			t.Fatalf("%d of 2000 triggers were lost: the job waited out its hour", lost)
		}
	})
}

// Close and Shutdown called from a callback running on a worker start the
// stop and return at once, instead of waiting for that worker.
func TestStopFromACallbackOnAWorker(t *testing.T) {
	type stopper func(s *backoff.Scheduler) error
	stoppers := map[string]stopper{
		"Close":    (*backoff.Scheduler).Close,
		"Shutdown": func(s *backoff.Scheduler) error { return s.Shutdown(context.Background()) },
	}
	for stopName, stop := range stoppers {
		for _, where := range []string{"op", "OnBackoff", "OnSuccess", "OnGiveUp", "observer", "logger"} {
			t.Run(stopName+" from "+where, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var s *backoff.Scheduler
					returned := make(chan error, 1)
					call := func() {
						select {
						case returned <- stop(s):
						default: // called again for a later record
						}
					}
					op := failing
					opts := []backoff.Option{backoff.NoWait{}, backoff.MaxTries(2)}
					var schedOpts []backoff.SchedulerOption
					switch where {
					case "op":
						op = func(context.Context) (int, error) { call(); return 0, errFail }
					case "OnBackoff":
						opts = append(opts, backoff.OnBackoff(func(backoff.Event[int]) { call() }))
					case "OnSuccess":
						op = succeed
						opts = append(opts, backoff.OnSuccess(func(backoff.Event[int]) { call() }))
					case "OnGiveUp":
						opts = append(opts, backoff.OnGiveUp(func(backoff.Event[int]) { call() }))
					case "observer":
						schedOpts = append(schedOpts, backoff.WithObserver(funcObserver(func(backoff.Observation) { call() })))
					case "logger":
						schedOpts = append(schedOpts, backoff.WithLogger(slog.New(funcHandler(call))))
					}
					s = newSched(t, schedOpts...)
					h := mustSubmit(t, s, op, opts...)
					if _, err := h.Result(t.Context()); err != nil && !errors.As(err, new(*backoff.GiveUpError)) {
						t.Fatal(err)
					}
					if err := <-returned; err != nil {
						t.Errorf("%s from a callback: %v", stopName, err)
					}
					if _, err := backoff.Submit(t.Context(), s, succeed); !errors.Is(err, backoff.ErrClosed) {
						t.Errorf("Submit after %s: %v", stopName, err)
					}
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
				})
			})
		}
	}
}

type funcObserver func(backoff.Observation)

func (f funcObserver) Observe(ob backoff.Observation) { f(ob) }

// funcHandler is a slog.Handler that calls f for each record.
type funcHandler func()

func (f funcHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (f funcHandler) Handle(context.Context, slog.Record) error { f(); return nil }
func (f funcHandler) WithAttrs([]slog.Attr) slog.Handler        { return f }
func (f funcHandler) WithGroup(string) slog.Handler             { return f }

// Through Submit, a policy makes the calls it makes through Retry, even
// when its waits run the clock past the range of time.Duration: an
// uncapped Expo reaches that range after 33 tries.
func TestWaitsPastTheClocksRange(t *testing.T) {
	const tries = 200
	policy := []backoff.Option{backoff.Expo{}, backoff.NoJitter, backoff.MaxTries(tries)}
	var viaRetry, viaSubmit int
	synctest.Test(t, func(t *testing.T) {
		backoff.Retry(t.Context(), func(context.Context) (int, error) { viaRetry++; return 0, errFail }, policy...)
	})
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h := mustSubmit(t, s, func(context.Context) (int, error) { viaSubmit++; return 0, errFail }, policy...)
		expectResult(t, h, 0, backoff.ReasonMaxTries, tries)
	})
	if viaRetry != tries || viaSubmit != tries {
		t.Fatalf("calls: %d through Retry, %d through Submit; want %d", viaRetry, viaSubmit, tries)
	}
}

// Retry, Wrap and Attempts under a context that has already ended make no
// call: they give up with ReasonContext after 0 tries, and OnGiveUp runs.
func TestContextDoneBeforeTheFirstCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		calls, gaveUp := 0, 0
		_, err := r.run(ctx, func(context.Context) (int, error) { calls++; return 1, nil },
			backoff.OnGiveUp(func(backoff.Event[int]) { gaveUp++ }))
		ge := rtWantGiveUp(t, err, backoff.ReasonContext, 0)
		if calls != 0 || gaveUp != 1 || !errors.Is(ge, context.Canceled) {
			t.Fatalf("%d calls, %d OnGiveUp, err %v", calls, gaveUp, err)
		}
	})
	s := newSched(t)
	defer s.Close()
	if _, err := backoff.Submit(ctx, s, succeed); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit under an ended context: %v", err)
	}
}

// An op that returns success after Close ends its job with success.
func TestSuccessAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		h := mustSubmit(t, s, func(context.Context) (int, error) { time.Sleep(time.Second); return 7, nil })
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		expectResult(t, h, 7, backoff.ReasonNone, 0)
	})
}

// The zero and nil values of every public type never panic or hang: a
// zero Scheduler is unusable but safe, a nil context is an error, and
// methods on nil pointers answer as an ended or empty value would.
func TestZeroAndNilValues(t *testing.T) {
	var (
		nilCtx  context.Context
		zeroS   backoff.Scheduler
		nilS    *backoff.Scheduler
		zeroH   backoff.Handle[int]
		nilH    *backoff.Handle[int]
		zeroL   backoff.Loop[int]
		nilL    *backoff.Loop[int]
		nilA    *backoff.Attempt[int]
		nilP    *backoff.Policy[int]
		zeroB   backoff.Budget
		nilB    *backoff.Budget
		nilGE   *backoff.GiveUpError
		nilPE   *backoff.PanicError
		nilSF   backoff.StrategyFunc
		results = make(chan backoff.Event[int], 1)
		ctx     = context.Background()
		ended   = func(h interface {
			Events() <-chan backoff.Event[int]
		}) bool {
			_, open := <-h.Events()
			return !open
		}
		isErr = func(err error, words ...string) bool { return err != nil && containsAll(err.Error(), words...) }
	)
	cases := []struct {
		name string
		ok   func() bool
	}{
		{"zero Scheduler: Submit", func() bool { _, err := backoff.Submit(ctx, &zeroS, succeed); return isErr(err, "NewScheduler") }},
		{"zero Scheduler: SubmitTo", func() bool {
			_, err := backoff.SubmitTo(ctx, &zeroS, succeed, results)
			return isErr(err, "NewScheduler")
		}},
		{"zero Scheduler: Cancel, Trigger", func() bool { return !zeroS.Cancel("k") && !zeroS.Trigger("k") }},
		{"zero Scheduler: Stats", func() bool { return zeroS.Stats() == backoff.Stats{} }},
		{"zero Scheduler: Shutdown, Close", func() bool { return zeroS.Shutdown(ctx) == nil && zeroS.Close() == nil }},
		{"nil *Scheduler: Submit", func() bool { _, err := backoff.Submit(ctx, nilS, succeed); return isErr(err, "nil") }},
		{"nil *Scheduler: methods", func() bool {
			return !nilS.Cancel("k") && !nilS.Trigger("k") && nilS.Stats() == backoff.Stats{} && nilS.Shutdown(ctx) == nil && nilS.Close() == nil
		}},
		{"Shutdown(nil)", func() bool {
			s, err := backoff.NewScheduler()
			if err != nil {
				return false
			}
			defer s.Close()
			return isErr(s.Shutdown(nilCtx), "Shutdown", "ctx")
		}},
		{"Handle.Result(nil)", func() bool {
			s, err := backoff.NewScheduler()
			if err != nil {
				return false
			}
			defer s.Close()
			h, err := backoff.Submit(ctx, s, succeed)
			if err != nil {
				return false
			}
			_, err = h.Result(nilCtx)
			return isErr(err, "Result", "ctx")
		}},
		{"zero Handle", func() bool {
			zeroH.Cancel()
			_, err := zeroH.Result(ctx)
			return zeroH.ID() == 0 && isErr(err, "Submit") && ended(&zeroH)
		}},
		{"nil *Handle", func() bool {
			nilH.Cancel()
			_, err := nilH.Result(ctx)
			return nilH.ID() == 0 && isErr(err, "Submit") && ended(nilH)
		}},
		{"zero Loop", func() bool {
			for range zeroL.All() {
				return false
			}
			_, err := zeroL.Result()
			return zeroL.Tries() == 0 && isErr(err, "Attempts")
		}},
		{"nil *Loop", func() bool {
			for range nilL.All() {
				return false
			}
			_, err := nilL.Result()
			return nilL.Tries() == 0 && isErr(err, "Attempts")
		}},
		{"nil *Attempt", func() bool {
			nilA.Fail(errFail)
			nilA.Return(1, nil)
			return nilA.Number() == 0 && nilA.Context() == nil
		}},
		{"nil *Policy: methods", func() bool {
			d, strict, ok := nilP.MaxTime()
			return nilP.MaxTries() == 0 && d == 0 && !strict && !ok
		}},
		{"nil *Policy: as an option", func() bool { _, err := backoff.Retry(ctx, succeed, nilP); return isErr(err, "nil *Policy") }},
		{"zero Policy: as an option", func() bool {
			v, err := backoff.Retry(ctx, succeed, &backoff.Policy[int]{})
			return v == 1 && err == nil
		}},
		{"zero Budget", func() bool {
			_, err := backoff.Retry(ctx, succeed, backoff.WithBudget(&zeroB, backoff.GiveUpWhenEmpty))
			return zeroB.Stats() == backoff.BudgetStats{} && isErr(err, "NewBudget")
		}},
		{"nil *Budget", func() bool { return nilB.Stats() == backoff.BudgetStats{} }},
		{"nil *GiveUpError", func() bool { return nilGE.Error() == "<nil>" && nilGE.Unwrap() == nil }},
		{"nil *PanicError", func() bool { return nilPE.Error() == "<nil>" && nilPE.Unwrap() == nil }},
		{"nil StrategyFunc", func() bool { d, ok := nilSF.Delay(1, 0); return d == 0 && !ok }},
		{"Decide with a nil *Policy", func() bool {
			d := backoff.Decide(nilP, backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errFail})
			return d.Retry && d.Wait >= 0 && d.Wait <= time.Second
		}},
		{"NewBudget(BudgetConfig{})", func() bool { _, err := backoff.NewBudget(backoff.BudgetConfig{}); return isErr(err, "Ratio") }},
		{"zero values of plain types", func() bool {
			_ = backoff.Event[int]{}.Terminal()
			return backoff.Decision{}.Done() &&
				backoff.EventKind(0).String() != "" && backoff.Reason(0).String() == "none" &&
				backoff.WhenEmpty(0) == backoff.GiveUpWhenEmpty
		}},
	}
	for _, c := range cases {
		synctest.Test(t, func(t *testing.T) {
			biNoPanic(t, c.name, func() {
				if !c.ok() {
					t.Errorf("%s: wrong answer", c.name)
				}
			})
		})
	}
}

func containsAll(s string, words ...string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
