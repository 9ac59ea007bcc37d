package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/internal/backend"
)

// stepTrace records, as text, what a policy's handlers, logger and
// observer see.
type stepTrace struct {
	mu    sync.Mutex
	lines []string
}

func (tr *stepTrace) add(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.lines = append(tr.lines, fmt.Sprintf(format, args...))
}

func (tr *stepTrace) Observe(o backoff.Observation) {
	tr.add("observe %d %s tries=%d elapsed=%v wait=%v took=%v late=%v reason=%v err=%v",
		o.Kind, o.Name, o.Tries, o.Elapsed, o.Wait, o.Duration, o.Lateness, o.Reason, o.Err)
}

func (tr *stepTrace) Enabled(context.Context, slog.Level) bool { return true }

func (tr *stepTrace) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "stack" {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	tr.add("log %s %q%s", r.Level, r.Message, b.String())
	return nil
}

func (tr *stepTrace) WithAttrs([]slog.Attr) slog.Handler { return tr }
func (tr *stepTrace) WithGroup(string) slog.Handler      { return tr }

func (tr *stepTrace) options() []backoff.Option {
	h := func(ev backoff.Event[int]) {
		tr.add("event %v tries=%d elapsed=%v wait=%v value=%d reason=%v err=%v", ev.Kind, ev.Tries, ev.Elapsed, ev.Wait, ev.Value, ev.Reason, ev.Err)
	}
	return []backoff.Option{backoff.Name("task"), backoff.OnBackoff(h), backoff.OnSuccess(h), backoff.OnGiveUp(h),
		backoff.WithLogger(slog.New(tr)), backoff.WithObserver(tr)}
}

// durably runs op under p as a durable backend runs a job through
// internal/backend, on the calling goroutine: it sleeps the waits, and
// the attempts take no time, so that in a bubble its times are those of
// Retry.
func durably(p *backoff.Policy[int], op func(n int) (int, error), panicked func()) {
	j := backend.PolicyOf[int](p, panicked).Job(0, "kind")
	start := time.Now()
	var prev time.Duration
	var last int
	var lastErr error
	owed := false
	for n := 1; ; n++ {
		for {
			wait, giveUp := j.Begin(n, n == 1, time.Since(start), 0, owed)
			if giveUp {
				j.End(uint8(backoff.ReasonBudget), n-1, time.Since(start), last, lastErr, nil)
				return
			}
			if wait == 0 {
				break
			}
			time.Sleep(wait)
		}
		a := backend.Attempt[int]{Tries: n, Elapsed: time.Since(start), Prev: prev}
		a.Value, a.Err, a.Panic = callRecovered(op, n)
		jd := j.Ended(a)
		if !jd.Retry {
			return
		}
		last, lastErr, prev, owed = a.Value, a.Err, jd.Wait, jd.Owed
		time.Sleep(jd.Wait)
	}
}

func callRecovered(op func(int) (int, error), n int) (v int, err, pe error) {
	defer func() {
		if r := recover(); r != nil {
			pe = &backoff.PanicError{Value: r}
		}
	}()
	v, err = op(n)
	return v, err, nil
}

// TestBackendRunsTheStepOfRetry runs policies through internal/backend as
// riverbackoff does, and with Retry, in bubbles: the handlers, the log and
// the observer see the same things, times included, for every way a job
// goes, and the panics that Retry contains are reported to the backend.
func TestBackendRunsTheStepOfRetry(t *testing.T) {
	errFlaky := errors.New("flaky")
	flaky := func(okFrom int) func(int) (int, error) {
		return func(n int) (int, error) {
			if okFrom > 0 && n >= okFrom {
				return n, nil
			}
			return n, errFlaky
		}
	}
	second := backoff.Constant{Interval: time.Second}
	budget := func(c backoff.BudgetConfig, when backoff.WhenEmpty) backoff.Option {
		b, err := backoff.NewBudget(c)
		if err != nil {
			t.Fatal(err)
		}
		return backoff.WithBudget(b, when)
	}
	cases := []struct {
		name   string
		opts   func() []backoff.Option // called in the bubble: a budget reads its clock
		op     func(int) (int, error)
		panics int
	}{
		{"success", func() []backoff.Option { return []backoff.Option{second, backoff.NoJitter} }, flaky(3), 0},
		{"MaxTime trims the last wait", func() []backoff.Option {
			return []backoff.Option{second, backoff.NoJitter, backoff.MaxTime(2500 * time.Millisecond)}
		}, flaky(0), 0},
		{"value retried", func() []backoff.Option {
			return []backoff.Option{second, backoff.NoJitter, backoff.RetryOnValue(func(v int) bool { return v < 3 })}
		}, flaky(1), 0},
		{"op panics", func() []backoff.Option { return []backoff.Option{second, backoff.NoJitter} }, func(n int) (int, error) {
			if n == 2 {
				panic("boom")
			}
			return n, errFlaky
		}, 0},
		{"OnBackoff panics", func() []backoff.Option {
			return []backoff.Option{second, backoff.NoJitter, backoff.OnBackoff(func(backoff.Event[int]) { panic("handler") })}
		}, flaky(0), 0},
		{"OnGiveUp panics", func() []backoff.Option {
			return []backoff.Option{second, backoff.NoJitter, backoff.MaxTries(2), backoff.OnGiveUp(func(backoff.Event[int]) { panic("handler") })}
		}, flaky(0), 1},
		{"budget gives up", func() []backoff.Option {
			return []backoff.Option{second, backoff.NoJitter, budget(backoff.BudgetConfig{Ratio: 0.5}, backoff.GiveUpWhenEmpty)}
		}, flaky(0), 0},
		{"budget waits for room", func() []backoff.Option {
			return []backoff.Option{second, backoff.NoJitter, budget(backoff.BudgetConfig{MinPerSecond: 0.1}, backoff.WaitWhenEmpty)}
		}, flaky(4), 0},
		{"budget's room after MaxTime", func() []backoff.Option {
			return []backoff.Option{second, backoff.NoJitter, backoff.MaxTime(3 * time.Second),
				budget(backoff.BudgetConfig{MinPerSecond: 0.1}, backoff.WaitWhenEmpty)}
		}, flaky(0), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inProcess, durable stepTrace
			var panics atomic.Int64
			synctest.Test(t, func(t *testing.T) {
				p, err := backoff.NewPolicy[int](append(inProcess.options(), c.opts()...)...)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				_, _ = backoff.Retry(t.Context(), func(context.Context) (int, error) { n++; return c.op(n) }, p)
			})
			synctest.Test(t, func(t *testing.T) {
				p, err := backoff.NewPolicy[int](append(durable.options(), c.opts()...)...)
				if err != nil {
					t.Fatal(err)
				}
				durably(p, c.op, func() { panics.Add(1) })
			})
			if !slices.Equal(durable.lines, inProcess.lines) {
				t.Errorf("through internal/backend:\n\t%s\nwith Retry:\n\t%s", strings.Join(durable.lines, "\n\t"), strings.Join(inProcess.lines, "\n\t"))
			}
			if got := panics.Load(); got != int64(c.panics) {
				t.Errorf("%d panics reported, want %d", got, c.panics)
			}
		})
	}
}

// TestBackendFinalAndReturned checks the two parts of the step that only
// a durable backend uses: an attempt after which the backend can run no
// other ends the job with ReasonMaxTries before the budget is asked, and
// an attempt that is no try is observed ending and not judged.
func TestBackendFinalAndReturned(t *testing.T) {
	b, err := backoff.NewBudget(backoff.BudgetConfig{Ratio: 0.5, Clock: clock.NewMock()})
	if err != nil {
		t.Fatal(err)
	}
	var tr stepTrace
	p, err := backoff.NewPolicy[int](append(tr.options(), backoff.Constant{Interval: time.Second}, backoff.NoJitter,
		backoff.WithBudget(b, backoff.GiveUpWhenEmpty))...)
	if err != nil {
		t.Fatal(err)
	}
	j := backend.PolicyOf[int](p, nil).Job(7, "kind")
	j.Returned(1, 0, time.Millisecond, context.Canceled)
	jd := j.Ended(backend.Attempt[int]{Tries: 1, Value: 3, Err: context.Canceled, Final: true})
	var ge *backoff.GiveUpError
	if jd.Retry || backoff.Reason(jd.Reason) != backoff.ReasonMaxTries || !errors.As(jd.Err, &ge) || ge.Tries != 1 {
		t.Errorf("final attempt: %+v, want a give-up for ReasonMaxTries after 1 try", jd)
	}
	if st := b.Stats(); st.Retries != 0 || st.Denied != 0 {
		t.Errorf("budget %+v: the final attempt's retry was asked for", st)
	}
	want := []string{
		"observe 2 task tries=1 elapsed=0s wait=0s took=1ms late=0s reason=none err=context canceled",
		"observe 2 task tries=1 elapsed=0s wait=0s took=0s late=0s reason=none err=context canceled",
		`log ERROR "Giving up task(...) after 1 tries (context canceled)" op=task tries=1 elapsed=0s id=7 reason=max tries error=backoff: gave up after 1 tries (max tries): context canceled`,
		"event give-up tries=1 elapsed=0s wait=0s value=3 reason=max tries err=backoff: gave up after 1 tries (max tries): context canceled",
		"observe 5 task tries=1 elapsed=0s wait=0s took=0s late=0s reason=max tries err=context canceled",
	}
	if !slices.Equal(tr.lines, want) {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(tr.lines, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestBackendJobsShareAPolicy runs many jobs of one policy through
// internal/backend at once, as River's workers do: each decision runs its
// handlers once, the shared budget counts every attempt, and every
// contained panic is reported.
func TestBackendJobsShareAPolicy(t *testing.T) {
	const goroutines, perGoroutine = 8, 25
	b, err := backoff.NewBudget(backoff.BudgetConfig{MinPerSecond: 1000, Clock: clock.NewMock()})
	if err != nil {
		t.Fatal(err)
	}
	var backoffs, successes, observed atomic.Int64
	p, err := backoff.NewPolicy[int](backoff.Constant{Interval: time.Second}, backoff.WithBudget(b, backoff.GiveUpWhenEmpty),
		backoff.OnBackoff(func(backoff.Event[int]) { backoffs.Add(1) }),
		backoff.OnSuccess(func(ev backoff.Event[int]) {
			successes.Add(1)
			if ev.ID%2 == 1 {
				panic("odd")
			}
		}),
		backoff.WithObserver(observerFunc(func(backoff.Observation) { observed.Add(1) })))
	if err != nil {
		t.Fatal(err)
	}
	var panics atomic.Int64
	bp := backend.PolicyOf[int](p, func() { panics.Add(1) })
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				j := bp.Job(uint64(g*perGoroutine+i), "kind")
				for n := 1; ; n++ {
					j.Begin(n, n == 1, 0, 0, false)
					var err error
					if n < 3 {
						err = errors.New("flaky")
					}
					if jd := j.Ended(backend.Attempt[int]{Tries: n, Err: err}); !jd.Retry {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	const jobs = goroutines * perGoroutine
	if backoffs.Load() != 2*jobs || successes.Load() != jobs || observed.Load() != 9*jobs || panics.Load() != jobs/2 {
		t.Errorf("%d OnBackoff, %d OnSuccess, %d observations, %d panics; want %d, %d, %d, %d",
			backoffs.Load(), successes.Load(), observed.Load(), panics.Load(), 2*jobs, jobs, 9*jobs, jobs/2)
	}
	if st := b.Stats(); st.FirstAttempts != jobs || st.Retries != 2*jobs {
		t.Errorf("budget %+v, want %d first attempts and %d retries", st, jobs, 2*jobs)
	}
}

type observerFunc func(backoff.Observation)

func (f observerFunc) Observe(o backoff.Observation) { f(o) }
