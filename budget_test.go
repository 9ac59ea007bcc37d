package backoff_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

func newBudget(t *testing.T, c backoff.BudgetConfig) *backoff.Budget {
	t.Helper()
	b, err := backoff.NewBudget(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBudgetConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		c     backoff.BudgetConfig
		field string
	}{
		{backoff.BudgetConfig{Ratio: -0.1}, "Ratio"},
		{backoff.BudgetConfig{Ratio: math.NaN()}, "Ratio"},
		{backoff.BudgetConfig{Ratio: math.Inf(1)}, "Ratio"},
		{backoff.BudgetConfig{Ratio: 0.2, MinPerSecond: -1}, "MinPerSecond"},
		{backoff.BudgetConfig{MinPerSecond: math.Inf(1)}, "MinPerSecond"},
		{backoff.BudgetConfig{}, "Ratio and BudgetConfig.MinPerSecond are both 0"},
		{backoff.BudgetConfig{Ratio: 0.2, Window: -time.Second}, "Window"},
		{backoff.BudgetConfig{Ratio: 0.2, Window: 5}, "Window"},
	} {
		b, err := backoff.NewBudget(tc.c)
		if err == nil || b != nil {
			t.Errorf("NewBudget(%+v) = %v, %v; want an error", tc.c, b, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "backoff: BudgetConfig."+tc.field) {
			t.Errorf("NewBudget(%+v): %q does not name BudgetConfig.%s", tc.c, err, tc.field)
		}
	}
	for _, tc := range []struct {
		when  backoff.WhenEmpty
		b     *backoff.Budget
		field string
	}{
		{backoff.GiveUpWhenEmpty, nil, "budget is nil"},
		{backoff.WhenEmpty(7), newBudget(t, backoff.BudgetConfig{Ratio: 1}), "whenEmpty"},
	} {
		_, err := backoff.Retry(context.Background(), failing, backoff.WithBudget(tc.b, tc.when))
		if err == nil || !strings.Contains(err.Error(), "backoff: WithBudget: "+tc.field) {
			t.Errorf("WithBudget(%v, %d): err = %v, want one naming %s", tc.b, tc.when, err, tc.field)
		}
		if _, err := backoff.NewScheduler(backoff.WithBudget(tc.b, tc.when)); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("NewScheduler(WithBudget(%v, %d)): err = %v, want one naming %s", tc.b, tc.when, err, tc.field)
		}
	}
}

// budgetRunners run one job to its end: the blocking entry points and
// both scheduler ones, so that all are seen to honour a budget.
func budgetRunners() []rtRunner[int] {
	rs := rtRunners[int]()
	viaSched := func(fanin bool) func(context.Context, func(context.Context) (int, error), ...backoff.Option) (int, error) {
		return func(ctx context.Context, op func(context.Context) (int, error), opts ...backoff.Option) (int, error) {
			s, err := backoff.NewScheduler(backoff.Workers(1))
			if err != nil {
				return 0, err
			}
			defer s.Close()
			if !fanin {
				h, err := backoff.Submit(ctx, s, op, opts...)
				if err != nil {
					return 0, err
				}
				return h.Result(ctx)
			}
			res := make(chan backoff.Event[int], 1)
			if _, err := backoff.SubmitTo(ctx, s, op, res, opts...); err != nil {
				return 0, err
			}
			ev := <-res
			return ev.Value, ev.Err
		}
	}
	return append(rs, rtRunner[int]{"Submit", viaSched(false)}, rtRunner[int]{"SubmitTo", viaSched(true)})
}

// A budget with Ratio 0.5 and no minimum rate: each first attempt earns
// half a retry. Jobs that fail once and then succeed alternate between a
// give-up (no room yet) and a success (room from two first attempts).
func TestBudgetRatioEveryEntryPoint(t *testing.T) {
	for _, r := range budgetRunners() {
		t.Run(r.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBudget(t, backoff.BudgetConfig{Ratio: 0.5, Window: time.Minute})
				pol := []backoff.Option{backoff.Constant{Interval: time.Second}, backoff.NoJitter,
					backoff.WithBudget(b, backoff.GiveUpWhenEmpty)}
				var reasons []backoff.Reason
				for range 6 {
					calls := 0
					_, err := r.run(t.Context(), func(context.Context) (int, error) {
						if calls++; calls == 1 {
							return 0, errFail
						}
						return calls, nil
					}, pol...)
					reason := backoff.ReasonNone
					if err != nil {
						ge := giveUp(t, err, backoff.ReasonBudget)
						if !errors.Is(err, errFail) || ge.Tries != 1 {
							t.Fatalf("give-up %v: want errFail after 1 try", err)
						}
						reason = ge.Reason
					}
					reasons = append(reasons, reason)
				}
				want := []backoff.Reason{backoff.ReasonBudget, backoff.ReasonNone, backoff.ReasonBudget,
					backoff.ReasonNone, backoff.ReasonBudget, backoff.ReasonNone}
				if !equalSlices(reasons, want) {
					t.Fatalf("reasons = %v, want %v", reasons, want)
				}
				st := b.Stats()
				if st.FirstAttempts != 6 || st.Retries != 3 || st.Denied != 3 || st.Room != 0 {
					t.Fatalf("stats = %+v, want 6 first attempts, 3 retries, 3 denied, no room", st)
				}
				// Once the window has passed, the counts are gone and,
				// with no minimum rate, so is the room.
				time.Sleep(time.Minute)
				if st := b.Stats(); st.FirstAttempts != 0 || st.Retries != 0 || st.Room != 0 {
					t.Fatalf("stats a window later = %+v, want all 0", st)
				}
			})
		})
	}
}

func equalSlices[E comparable](a, b []E) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The minimum rate gives room with no traffic at all: MinPerSecond ×
// Window retries per window, and a retry that waits for room runs when
// the window moves on.
func TestBudgetMinimumRateAndWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(t, backoff.BudgetConfig{MinPerSecond: 0.5, Window: 4 * time.Second})
		if st := b.Stats(); st.Room != 2 {
			t.Fatalf("room = %d, want 2 (0.5/s over 4 s)", st.Room)
		}
		start := time.Now()
		var times []time.Duration
		_, err := backoff.Retry(t.Context(), func(context.Context) (int, error) {
			times = append(times, time.Since(start))
			if len(times) < 5 {
				return 0, errFail
			}
			return 1, nil
		}, backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter, backoff.WithBudget(b, backoff.WaitWhenEmpty))
		if err != nil {
			t.Fatal(err)
		}
		// Two retries fit at once; the third waits until the window has
		// dropped them (4 s after they were counted), then the fourth finds
		// room from the same step.
		want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 4 * time.Second, 4100 * time.Millisecond}
		if !equalSlices(times, want) {
			t.Fatalf("attempts at %v, want %v", times, want)
		}
	})
}

// A waiting retry counts towards MaxTime: if the budget has no room before
// MaxTime passes, the job gives up with ReasonBudget, not later.
func TestBudgetWaitBoundedByMaxTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(t, backoff.BudgetConfig{Ratio: 0.01, Window: time.Hour})
		start := time.Now()
		_, err := backoff.Retry(t.Context(), failing, backoff.Constant{Interval: time.Second}, backoff.NoJitter,
			backoff.MaxTime(time.Minute), backoff.WithBudget(b, backoff.WaitWhenEmpty))
		ge := giveUp(t, err, backoff.ReasonBudget)
		if ge.Tries != 1 || time.Since(start) > time.Minute {
			t.Fatalf("gave up after %d tries and %v, want 1 try within MaxTime", ge.Tries, time.Since(start))
		}
	})
}

// outage drives a steady stream of jobs through a scheduler at a
// dependency that is down from 20 s to 40 s, and counts the calls it gets.
type outage struct {
	down            atomic.Bool
	firsts, retries atomic.Int64 // calls during the outage
	byReason        [32]atomic.Int64
	lateFailures    atomic.Int64
}

const outageJobs = 3000 // 50 a second for a minute

func (o *outage) run(t *testing.T, opts ...backoff.Option) {
	s := newSched(t, backoff.Workers(4))
	res := make(chan backoff.Event[int], 64)
	var readers sync.WaitGroup
	readers.Go(func() {
		for range outageJobs {
			ev := <-res
			o.byReason[ev.Reason].Add(1)
		}
	})
	start := time.Now()
	for i := range outageJobs {
		if i == 1000 {
			o.down.Store(true)
		}
		if i == 2000 {
			o.down.Store(false)
		}
		tries := 0
		op := func(context.Context) (int, error) {
			tries++
			if o.down.Load() {
				if tries == 1 {
					o.firsts.Add(1)
				} else {
					o.retries.Add(1)
				}
				return 0, errFail
			}
			if time.Since(start) >= 50*time.Second && tries > 1 {
				o.lateFailures.Add(1) // a job of the healthy period needed a retry
			}
			return tries, nil
		}
		if _, err := backoff.SubmitTo(t.Context(), s, op, res, opts...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	readers.Wait()
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func outagePolicy(extra ...backoff.Option) []backoff.Option {
	return append([]backoff.Option{backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter,
		backoff.MaxTries(10)}, extra...)
}

// In an outage, a budget keeps retries near Ratio × first attempts, where
// without one every failing job makes all its tries; after the outage,
// jobs succeed at once again.
func TestBudgetOutageAndRecovery(t *testing.T) {
	var without outage
	synctest.Test(t, func(t *testing.T) { without.run(t, outagePolicy()...) })
	// The control run: every job of the outage makes all 10 tries, except
	// those of its last 0.9 s, which end after it.
	if f, r := without.firsts.Load(), without.retries.Load(); f != 1000 || r < 8700 || r > 9000 {
		t.Fatalf("without a budget: %d first attempts and %d retries in the outage, want 1000 and about 9000", f, r)
	}

	var with outage
	cfg := backoff.BudgetConfig{Ratio: 0.2, MinPerSecond: 1, Window: 10 * time.Second}
	synctest.Test(t, func(t *testing.T) {
		with.run(t, outagePolicy(backoff.WithBudget(newBudget(t, cfg), backoff.GiveUpWhenEmpty))...)
	})
	f, r := with.firsts.Load(), with.retries.Load()
	// Over the 20 s outage plus the window before it: Ratio × the first
	// attempts of 30 s (1500) plus MinPerSecond × 30 s.
	bound := int64(cfg.Ratio*1500 + cfg.MinPerSecond*30)
	t.Logf("outage: %d first attempts; retries %d with the budget (bound %d), %d without", f, r, bound, without.retries.Load())
	if f != 1000 || r > bound || r < int64(cfg.Ratio*float64(f)) {
		t.Fatalf("with a budget: %d first attempts and %d retries in the outage, want 1000 and between %d and %d",
			f, r, int64(cfg.Ratio*float64(f)), bound)
	}
	if n := with.byReason[backoff.ReasonBudget].Load(); n < 500 {
		t.Fatalf("%d give-ups for the budget, want most of the outage's 1000 jobs", n)
	}
	if with.lateFailures.Load() != 0 || with.byReason[backoff.ReasonNone].Load()+with.byReason[backoff.ReasonBudget].Load()+
		with.byReason[backoff.ReasonMaxTries].Load() != outageJobs {
		t.Fatalf("after recovery: %d late failures; reasons %v", with.lateFailures.Load(), &with.byReason)
	}
}

// With WaitWhenEmpty the same outage loses no job: retries wait for room,
// and once the dependency is back every job succeeds.
func TestBudgetOutageWaitLosesNothing(t *testing.T) {
	var o outage
	cfg := backoff.BudgetConfig{Ratio: 0.2, MinPerSecond: 1, Window: 10 * time.Second}
	synctest.Test(t, func(t *testing.T) {
		// No MaxTries: a job waits out the outage, however long.
		pol := []backoff.Option{backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter,
			backoff.WithBudget(newBudget(t, cfg), backoff.WaitWhenEmpty)}
		o.run(t, pol...)
	})
	r := o.retries.Load()
	bound := int64(cfg.Ratio*1500 + cfg.MinPerSecond*30)
	t.Logf("outage: %d first attempts, %d retries (bound %d); %d successes", o.firsts.Load(), r, bound, o.byReason[0].Load())
	if r > bound {
		t.Fatalf("%d retries in the outage, want at most %d", r, bound)
	}
	if n := o.byReason[backoff.ReasonNone].Load(); n != outageJobs {
		t.Fatalf("%d of %d jobs succeeded", n, outageJobs)
	}
}

// One budget serves several entry points at once: first attempts of a
// Retry earn room for a scheduler's jobs, and a job's own budget wins over
// the scheduler's.
func TestBudgetSharedAcrossEntryPoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := newBudget(t, backoff.BudgetConfig{Ratio: 1, Window: time.Minute})
		own := newBudget(t, backoff.BudgetConfig{Ratio: 1, Window: time.Minute})
		s := newSched(t, backoff.WithBudget(shared, backoff.GiveUpWhenEmpty))
		defer s.Close()
		// Two successful first attempts through Retry earn two retries.
		for range 2 {
			if _, err := backoff.Retry(t.Context(), succeed, backoff.WithBudget(shared, backoff.GiveUpWhenEmpty)); err != nil {
				t.Fatal(err)
			}
		}
		// A scheduler job with no budget of its own uses the shared one:
		// its first attempt earns one more, so it may retry three times.
		h, err := backoff.Submit(t.Context(), s, failing, backoff.MaxTries(10), backoff.NoWait{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		if ge := giveUp(t, err, backoff.ReasonBudget); ge.Tries != 4 {
			t.Fatalf("tries = %d, want 4 (1 + 3 retries)", ge.Tries)
		}
		// A job with its own budget draws on that one only.
		h, err = backoff.Submit(t.Context(), s, failing, backoff.MaxTries(10), backoff.NoWait{}, backoff.WithBudget(own, backoff.GiveUpWhenEmpty))
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		if ge := giveUp(t, err, backoff.ReasonBudget); ge.Tries != 2 {
			t.Fatalf("own budget: tries = %d, want 2", ge.Tries)
		}
		if st := shared.Stats(); st.FirstAttempts != 3 || st.Retries != 3 {
			t.Fatalf("shared budget = %+v, want 3 first attempts and 3 retries", st)
		}
		if st := s.Stats(); st.GaveUpBy[backoff.ReasonBudget] != 2 {
			t.Fatalf("scheduler stats: %d budget give-ups, want 2", st.GaveUpBy[backoff.ReasonBudget])
		}
	})
}
