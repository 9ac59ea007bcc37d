package backoff_test

// Bad input: every invalid option and argument is an error that starts
// with "backoff: " and names what was wrong, through every entry point that
// takes it; never a panic and never a silent default. Then: no public
// function or method panics on the zero and nil values a user can
// plausibly pass.
//
// Nil receivers, for the record (not asserted here: Go lets methods on a
// nil pointer panic, and these values only come from ignoring an error or
// from a struct literal of a type that has a constructor): every method of
// a nil *Scheduler, *Handle, *Loop, *Attempt, *GiveUpError and
// *PanicError panics; so do a zero Loop's All and Result (its Tries
// returns 0), a zero Handle's ID and Cancel (its Events and Result work),
// Submit to or Close of a zero Scheduler (its Stats and Cancel work),
// Decide with a nil *Policy, Delay on a nil StrategyFunc and a call of a
// nil Jitter. A zero Policy works as the defaults: TestZeroPolicy.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/benbjohnson/clock"
)

var errBad = errors.New("bad input test")

// biNoPanic runs f and turns a panic into a test failure naming call.
func biNoPanic(t *testing.T, call string, f func()) (ok bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", call, r)
			ok = false
		}
	}()
	f()
	return true
}

// biWantErr checks a bad-input error: present, every line (errors.Join
// puts one error per line) starting with "backoff: ", and naming every
// part of want.
func biWantErr(t *testing.T, call string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one naming %q", call, want)
		return
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if !strings.HasPrefix(line, "backoff: ") {
			t.Errorf("%s: error line %q does not start with %q", call, line, "backoff: ")
		}
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not name %q", call, err, w)
		}
	}
}

// The entry points that take job options.
type biEntry uint8

const (
	biRetry biEntry = 1 << iota
	biWrap
	biAttempts
	biNewPolicy
	biSubmit
	biSubmitTo

	biAll = biRetry | biWrap | biAttempts | biNewPolicy | biSubmit | biSubmitTo
	// biScheduled are the entry points that reject per-job settings a
	// scheduler owns (WithClock).
	biScheduled = biNewPolicy | biSubmit | biSubmitTo
)

// biBadOptions gives opts to every entry point in which, and checks that
// each returns an error naming want, without running the op and without
// a panic. s is a running scheduler for Submit and SubmitTo.
func biBadOptions(t *testing.T, s *backoff.Scheduler, which biEntry, opts []backoff.Option, want ...string) {
	t.Helper()
	var (
		calls  atomic.Int32
		nilCtx context.Context
	)
	op := func(context.Context) (int, error) { calls.Add(1); return 1, nil }
	ctx := t.Context()
	if which&biRetry != 0 {
		biNoPanic(t, "Retry", func() {
			v, err := backoff.Retry(ctx, op, opts...)
			biWantErr(t, "Retry", err, want...)
			if v != 0 {
				t.Errorf("Retry returned %v with its error", v)
			}
		})
	}
	if which&biWrap != 0 {
		biNoPanic(t, "Wrap", func() {
			w := backoff.Wrap(op, opts...)
			if w == nil {
				t.Error("Wrap returned a nil function")
				return
			}
			_, err := w(ctx)
			biWantErr(t, "Wrap(...)(ctx)", err, want...)
			_, err = w(nilCtx)
			biWantErr(t, "Wrap(...)(nil)", err, want...)
		})
	}
	if which&biAttempts != 0 {
		biNoPanic(t, "Attempts", func() {
			l := backoff.Attempts[int](ctx, opts...)
			for range l.All() {
				calls.Add(1)
			}
			_, err := l.Result()
			biWantErr(t, "Attempts(...).Result", err, want...)
			if l.Tries() != 0 {
				t.Errorf("Attempts: Tries() = %d", l.Tries())
			}
		})
	}
	if which&biNewPolicy != 0 {
		biNoPanic(t, "NewPolicy", func() {
			p, err := backoff.NewPolicy[int](opts...)
			biWantErr(t, "NewPolicy", err, want...)
			if p != nil {
				t.Error("NewPolicy returned a policy with its error")
			}
		})
	}
	if which&biSubmit != 0 {
		biNoPanic(t, "Submit", func() {
			h, err := backoff.Submit(ctx, s, op, opts...)
			biWantErr(t, "Submit", err, want...)
			if h != nil {
				t.Error("Submit returned a Handle with its error")
			}
		})
	}
	if which&biSubmitTo != 0 {
		biNoPanic(t, "SubmitTo", func() {
			id, err := backoff.SubmitTo(ctx, s, op, make(chan backoff.Event[int], 1), opts...)
			biWantErr(t, "SubmitTo", err, want...)
			if id != 0 {
				t.Errorf("SubmitTo returned id %d with its error", id)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the op ran %d times despite bad options", n)
	}
}

// biScheduler starts a scheduler that the test closes.
func biScheduler(t *testing.T, opts ...backoff.SchedulerOption) *backoff.Scheduler {
	t.Helper()
	s, err := backoff.NewScheduler(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// biCase is a row of a bad-option table.
type biCase struct {
	name  string
	opts  []backoff.Option
	want  []string // every part must appear in the error
	which biEntry  // the entry points that must reject it; 0 means all
}

func biRun(t *testing.T, cases []biCase) {
	t.Helper()
	s := biScheduler(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			which := c.which
			if which == 0 {
				which = biAll
			}
			biBadOptions(t, s, which, c.opts, c.want...)
		})
	}
	if st := s.Stats(); st.Submitted != 0 || st.Pending != 0 {
		t.Errorf("bad submissions reached the scheduler: %+v", st)
	}
}

func biOpts(o ...backoff.Option) []backoff.Option { return o }

func TestBadOptions(t *testing.T) {
	var nilOpt backoff.Option
	nan, inf := math.NaN(), math.Inf(1)
	const s = time.Second
	valid, err := backoff.NewPolicy[int](backoff.MaxTries(3))
	if err != nil {
		t.Fatal(err)
	}
	stringPolicy, err := backoff.NewPolicy[string](backoff.RetryOnValue(func(string) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	cases := []biCase{
		// policy.go
		{name: "MaxTries(0)", opts: biOpts(backoff.MaxTries(0)), want: []string{"MaxTries", "0"}},
		{name: "MaxTries(-1)", opts: biOpts(backoff.MaxTries(-1)), want: []string{"MaxTries", "-1"}},
		{name: "MaxTries(MinInt)", opts: biOpts(backoff.MaxTries(math.MinInt)), want: []string{"MaxTries"}},
		{name: "MaxTime(-1)", opts: biOpts(backoff.MaxTime(-1)), want: []string{"MaxTime", "negative"}},
		{name: "MaxTime(MinInt64)", opts: biOpts(backoff.MaxTime(math.MinInt64)), want: []string{"MaxTime", "negative"}},
		{name: "MaxTimeStrict(-1)", opts: biOpts(backoff.MaxTimeStrict(-1)), want: []string{"MaxTimeStrict", "negative"}},
		{name: "MaxWait(0)", opts: biOpts(backoff.MaxWait(0)), want: []string{"MaxWait"}},
		{name: "MaxWait(-1s)", opts: biOpts(backoff.MaxWait(-s)), want: []string{"MaxWait", "negative"}},
		{name: "RetryOn()", opts: biOpts(backoff.RetryOn()), want: []string{"RetryOn"}},
		{name: "RetryOn(nil)", opts: biOpts(backoff.RetryOn(nil)), want: []string{"RetryOn", "target 0", "nil"}},
		{name: "RetryOn(err, nil)", opts: biOpts(backoff.RetryOn(errBad, nil)), want: []string{"RetryOn", "target 1", "nil"}},
		{name: "RetryIf(nil)", opts: biOpts(backoff.RetryIf(nil)), want: []string{"RetryIf", "nil"}},
		{name: "GiveUp(nil)", opts: biOpts(backoff.GiveUp(nil)), want: []string{"GiveUp", "nil"}},
		{name: "RetryOnValue(nil)", opts: biOpts(backoff.RetryOnValue[int](nil)), want: []string{"RetryOnValue", "nil"}},
		{name: "RetryOnValue type mismatch", opts: biOpts(backoff.RetryOnValue(func(string) bool { return true })),
			want: []string{"RetryOnValue", "func(string) bool", "int"}},
		{name: "RetryOnValue nil and mismatched", opts: biOpts(backoff.RetryOnValue[string](nil)), want: []string{"RetryOnValue", "nil", "int"}},
		{name: "OnBackoff(nil)", opts: biOpts(backoff.OnBackoff[int](nil)), want: []string{"OnBackoff", "nil"}},
		{name: "OnSuccess(nil)", opts: biOpts(backoff.OnSuccess[int](nil)), want: []string{"OnSuccess", "nil"}},
		{name: "OnGiveUp(nil)", opts: biOpts(backoff.OnGiveUp[int](nil)), want: []string{"OnGiveUp", "nil"}},
		{name: "OnBackoff type mismatch", opts: biOpts(backoff.OnBackoff(func(backoff.Event[string]) {})),
			want: []string{"OnBackoff", "string", "int"}},
		{name: "OnSuccess type mismatch", opts: biOpts(backoff.OnSuccess(func(backoff.Event[bool]) {})), want: []string{"OnSuccess", "bool", "int"}},
		{name: "OnGiveUp type mismatch", opts: biOpts(backoff.OnGiveUp(func(backoff.Event[int64]) {})), want: []string{"OnGiveUp", "int64"}},
		{name: "Runtime(nil)", opts: biOpts(backoff.Runtime[int](nil)), want: []string{"Runtime", "nil"}},
		{name: "Runtime type mismatch", opts: biOpts(backoff.Runtime(func(string, error) (time.Duration, bool) { return 0, false })),
			want: []string{"Runtime", "string", "int"}},
		{name: "AttemptTimeout(0)", opts: biOpts(backoff.AttemptTimeout(0)), want: []string{"AttemptTimeout"}},
		{name: "AttemptTimeout(-1)", opts: biOpts(backoff.AttemptTimeout(-1)), want: []string{"AttemptTimeout", "negative"}},
		{name: "InitialDelay(-1)", opts: biOpts(backoff.InitialDelay(-1)), want: []string{"InitialDelay", "negative"}},
		{name: "StartJitter(-1)", opts: biOpts(backoff.StartJitter(-1)), want: []string{"StartJitter", "negative"}},
		{name: "StartAt(zero time)", opts: biOpts(backoff.StartAt(time.Time{})), want: []string{"StartAt", "zero"}},
		{name: "StartAt with InitialDelay", opts: biOpts(backoff.StartAt(time.Now()), backoff.InitialDelay(s)),
			want: []string{"StartAt", "InitialDelay"}},
		{name: "InitialDelay with StartAt beside a Policy", opts: biOpts(valid, backoff.InitialDelay(s), backoff.StartAt(time.Now())),
			want: []string{"StartAt", "InitialDelay"}},
		{name: "StartAt in a Policy", opts: biOpts(backoff.StartAt(time.Now())), want: []string{"StartAt"}, which: biNewPolicy},
		{name: "WithClock(nil)", opts: biOpts(backoff.WithClock(nil)), want: []string{"WithClock", "nil"}},
		{name: "WithClock in a scheduled job or a Policy", opts: biOpts(backoff.WithClock(clock.NewMock())),
			want: []string{"WithClock"}, which: biScheduled},
		{name: "Key in a Policy", opts: biOpts(backoff.Key("k")), want: []string{"Key"}, which: biNewPolicy},
		{name: "nil Option", opts: biOpts(nilOpt), want: []string{"nil Option"}},
		{name: "nil Option among others", opts: biOpts(backoff.MaxTries(2), nilOpt, backoff.NoWait{}), want: []string{"nil Option"}},
		{name: "every bad option named", opts: biOpts(backoff.MaxTries(0), backoff.MaxTime(-1), backoff.GiveUp(nil), backoff.Fibo{Max: -1}),
			want: []string{"MaxTries", "MaxTime", "GiveUp", "Fibo.Max"}},
		{name: "bad option after a Policy", opts: biOpts(valid, backoff.MaxWait(0)), want: []string{"MaxWait"}},
		{name: "Policy of another value type", opts: biOpts(stringPolicy), want: []string{"RetryOnValue", "string", "int"}},

		// strategy.go: every check of every validate method.
		{name: "Expo.Base 0.5", opts: biOpts(backoff.Expo{Base: 0.5}), want: []string{"Expo.Base", "0.5"}},
		{name: "Expo.Base -2", opts: biOpts(backoff.Expo{Base: -2}), want: []string{"Expo.Base", "-2"}},
		{name: "Expo.Base NaN", opts: biOpts(backoff.Expo{Base: nan}), want: []string{"Expo.Base", "finite"}},
		{name: "Expo.Base +Inf", opts: biOpts(backoff.Expo{Base: inf}), want: []string{"Expo.Base", "finite"}},
		{name: "Expo.Base -Inf", opts: biOpts(backoff.Expo{Base: -inf}), want: []string{"Expo.Base", "finite"}},
		{name: "Expo.Factor", opts: biOpts(backoff.Expo{Factor: -1}), want: []string{"Expo.Factor", "negative"}},
		{name: "Expo.Max", opts: biOpts(backoff.Expo{Max: -s}), want: []string{"Expo.Max", "negative"}},
		{name: "Fibo.Factor", opts: biOpts(backoff.Fibo{Factor: -1}), want: []string{"Fibo.Factor"}},
		{name: "Fibo.Max", opts: biOpts(backoff.Fibo{Max: -1}), want: []string{"Fibo.Max"}},
		{name: "Constant.Interval", opts: biOpts(backoff.Constant{Interval: -1}), want: []string{"Constant.Interval"}},
		{name: "Intervals[1]", opts: biOpts(backoff.Intervals{s, -1}), want: []string{"Intervals[1]", "negative"}},
		{name: "Intervals[0] MinInt64", opts: biOpts(backoff.Intervals{math.MinInt64}), want: []string{"Intervals[0]"}},
		{name: "Decay.Initial", opts: biOpts(backoff.Decay{Initial: -1}), want: []string{"Decay.Initial"}},
		{name: "Decay.Rate -1", opts: biOpts(backoff.Decay{Rate: -1}), want: []string{"Decay.Rate"}},
		{name: "Decay.Rate NaN", opts: biOpts(backoff.Decay{Rate: nan}), want: []string{"Decay.Rate", "finite"}},
		{name: "Decay.Rate +Inf", opts: biOpts(backoff.Decay{Rate: inf}), want: []string{"Decay.Rate", "finite"}},
		{name: "Decay.Rate -Inf", opts: biOpts(backoff.Decay{Rate: -inf}), want: []string{"Decay.Rate", "finite"}},
		{name: "Decay.Min", opts: biOpts(backoff.Decay{Min: -1}), want: []string{"Decay.Min"}},
		{name: "Decorrelated.Base", opts: biOpts(backoff.Decorrelated{Base: -1}), want: []string{"Decorrelated.Base"}},
		{name: "Decorrelated.Max", opts: biOpts(backoff.Decorrelated{Max: -1}), want: []string{"Decorrelated.Max"}},
		{name: "StrategyFunc(nil)", opts: biOpts(backoff.StrategyFunc(nil)), want: []string{"StrategyFunc", "nil"}},
		{name: "Group(\"\")", opts: biOpts(backoff.Group("")), want: []string{"Group", "empty"}},
		{name: "WithBudget(nil)", opts: biOpts(backoff.WithBudget(nil, backoff.GiveUpWhenEmpty)), want: []string{"WithBudget", "nil"}},
		{name: "WithBudget, bad WhenEmpty", opts: biOpts(backoff.WithBudget(biBudget, backoff.WhenEmpty(9))), want: []string{"WithBudget", "whenEmpty"}},
		{name: "bad strategy after Runtime", opts: biOpts(backoff.Runtime(func(int, error) (time.Duration, bool) { return 0, false }), backoff.Constant{Interval: -1}),
			want: []string{"Constant.Interval"}},
	}
	biRun(t, cases)
}

// biBudget is a good budget for rows whose other argument is bad.
var biBudget, _ = backoff.NewBudget(backoff.BudgetConfig{Ratio: 1})

// Regressions: each row was once accepted, or panicked.
func TestBadOptionsRegressions(t *testing.T) {
	var nilPolicy *backoff.Policy[int]
	// The usual way to get one: NewPolicy failed and its error was
	// dropped.
	failed, _ := backoff.NewPolicy[int](backoff.MaxTries(0))
	biRun(t, []biCase{
		// Policy.apply dereferences a nil *Policy: every entry point panics.
		{name: "nil *Policy", opts: biOpts(nilPolicy), want: []string{"Policy"}},
		{name: "nil *Policy from a failed NewPolicy, among others", opts: biOpts(backoff.MaxTries(2), failed), want: []string{"Policy"}},
		// Jitter.apply accepts nil, which then means no jitter at all:
		// a silent default where every other nil func is an error.
		{name: "Jitter(nil)", opts: biOpts(backoff.Jitter(nil)), want: []string{"Jitter", "nil"}},
		// Strategies are validated only when they are the last one
		// given: a bad one that a later strategy replaces is never
		// reported, unlike every other option.
		{name: "bad strategy replaced by a good one", opts: biOpts(backoff.Expo{Base: 0.5}, backoff.Constant{}), want: []string{"Expo.Base"}},
	})
}

// biBadSchedOptions checks that NewScheduler rejects opts with an error
// naming want, and starts nothing.
func biBadSchedOptions(t *testing.T, opts []backoff.SchedulerOption, want ...string) {
	t.Helper()
	biNoPanic(t, "NewScheduler", func() {
		s, err := backoff.NewScheduler(opts...)
		if s != nil {
			_ = s.Close()
			t.Error("NewScheduler returned a scheduler with its error")
		}
		biWantErr(t, "NewScheduler", err, want...)
	})
}

func TestBadSchedulerOptions(t *testing.T) {
	var nilOpt backoff.SchedulerOption
	for _, c := range []struct {
		name string
		opts []backoff.SchedulerOption
		want []string
	}{
		{"Workers(0)", []backoff.SchedulerOption{backoff.Workers(0)}, []string{"Workers", "0"}},
		{"Workers(-1)", []backoff.SchedulerOption{backoff.Workers(-1)}, []string{"Workers", "-1"}},
		{"nil SchedulerOption", []backoff.SchedulerOption{nilOpt}, []string{"nil SchedulerOption"}},
		{"nil SchedulerOption among others", []backoff.SchedulerOption{backoff.Workers(2), nilOpt}, []string{"nil SchedulerOption"}},
		{"WithClock(nil)", []backoff.SchedulerOption{backoff.WithClock(nil)}, []string{"WithClock", "nil"}},
		{"Workers(2^20+1)", []backoff.SchedulerOption{backoff.Workers(1<<20 + 1)}, []string{"Workers", "1048577"}},
		{"MaxPending(0)", []backoff.SchedulerOption{backoff.MaxPending(0)}, []string{"MaxPending", "0"}},
		{"GroupLimit(0)", []backoff.SchedulerOption{backoff.GroupLimit(0)}, []string{"GroupLimit", "0"}},
		{"GroupLimitFor(\"\", 1)", []backoff.SchedulerOption{backoff.GroupLimitFor("", 1)}, []string{"GroupLimitFor", "name is empty"}},
		{"GroupLimitFor(x, -1)", []backoff.SchedulerOption{backoff.GroupLimitFor("x", -1)}, []string{"GroupLimitFor", "-1"}},
		{"GroupRate(0, 1)", []backoff.SchedulerOption{backoff.GroupRate(0, 1)}, []string{"GroupRate", "perSecond", "0"}},
		{"GroupRate(NaN, 0)", []backoff.SchedulerOption{backoff.GroupRate(math.NaN(), 0)}, []string{"GroupRate", "perSecond", "NaN", "burst"}},
		{"GroupRateFor(\"\", 1, 1)", []backoff.SchedulerOption{backoff.GroupRateFor("", 1, 1)}, []string{"GroupRateFor", "name is empty"}},
		{"GroupRateFor(x, +Inf, 1)", []backoff.SchedulerOption{backoff.GroupRateFor("x", math.Inf(1), 1)}, []string{"GroupRateFor", "perSecond", "+Inf"}},
		{"GroupRateFor(x, 1, 0)", []backoff.SchedulerOption{backoff.GroupRateFor("x", 1, 0)}, []string{"GroupRateFor", "burst", "0"}},
		{"WithBudget(nil)", []backoff.SchedulerOption{backoff.WithBudget(nil, backoff.WaitWhenEmpty)}, []string{"WithBudget", "nil"}},
		{"every bad option named", []backoff.SchedulerOption{backoff.Workers(0), backoff.MaxPending(0), backoff.WithClock(nil)},
			[]string{"Workers", "MaxPending", "WithClock"}},
	} {
		t.Run(c.name, func(t *testing.T) { biBadSchedOptions(t, c.opts, c.want...) })
	}
}

// A typo in Workers is an error, not a million goroutines; MaxPending
// allocates nothing per slot, so any positive cap is fine.
func TestHugeSchedulerSizes(t *testing.T) {
	biBadSchedOptions(t, []backoff.SchedulerOption{backoff.Workers(math.MaxInt)}, "Workers")
	s, err := backoff.NewScheduler(backoff.MaxPending(math.MaxInt))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// The entry points' own arguments: nil contexts, ops, schedulers and
// channels, a closed scheduler, a duplicate key, garbage for
// ParseRetryAfter.
func TestBadArguments(t *testing.T) {
	var (
		nilCtx context.Context
		nilOp  func(context.Context) (int, error)
		nilS   *backoff.Scheduler
		nilCh  chan backoff.Event[int]
		calls  atomic.Int32
	)
	ctx := t.Context()
	op := func(context.Context) (int, error) { calls.Add(1); return 1, nil }
	s := biScheduler(t)
	closed, err := backoff.NewScheduler()
	if err != nil {
		t.Fatal(err)
	}
	_ = closed.Close()
	results := make(chan backoff.Event[int], 1)
	type call struct {
		name string
		f    func() error
		want []string
		is   error // errors.Is target, when there is one
	}
	cases := []call{
		{"Retry(nil ctx)", func() error { _, err := backoff.Retry(nilCtx, op); return err }, []string{"Retry", "ctx is nil"}, nil},
		{"Retry(nil op)", func() error { _, err := backoff.Retry(ctx, nilOp); return err }, []string{"Retry", "op is nil"}, nil},
		{"Retry(nil ctx, nil op)", func() error { _, err := backoff.Retry(nilCtx, nilOp); return err }, []string{"Retry", "nil"}, nil},
		{"Retry(nil op, bad options)", func() error { _, err := backoff.Retry(ctx, nilOp, backoff.MaxTries(0)); return err }, []string{"MaxTries"}, nil},
		{"Wrap(nil op)(ctx)", func() error { _, err := backoff.Wrap(nilOp)(ctx); return err }, []string{"Wrap", "op is nil"}, nil},
		{"Wrap(op)(nil ctx)", func() error { _, err := backoff.Wrap(op)(nilCtx); return err }, []string{"Wrap", "ctx is nil"}, nil},
		{"Wrap(nil op)(nil ctx)", func() error { _, err := backoff.Wrap(nilOp)(nilCtx); return err }, []string{"Wrap", "nil"}, nil},
		{"Attempts(nil ctx)", func() error {
			l := backoff.Attempts[int](nilCtx)
			for range l.All() {
				calls.Add(1)
			}
			_, err := l.Result()
			return err
		}, []string{"Attempts", "ctx is nil"}, nil},
		{"Loop.Result before the loop", func() error { _, err := backoff.Attempts[int](ctx).Result(); return err }, []string{"Loop.Result", "not ended"}, nil},
		{"Submit(nil ctx)", func() error { _, err := backoff.Submit(nilCtx, s, op); return err }, []string{"Submit", "ctx is nil"}, nil},
		{"Submit(nil scheduler)", func() error { _, err := backoff.Submit(ctx, nilS, op); return err }, []string{"Submit", "scheduler is nil"}, nil},
		{"Submit(nil op)", func() error { _, err := backoff.Submit(ctx, s, nilOp); return err }, []string{"Submit", "op is nil"}, nil},
		{"Submit(all nil)", func() error { _, err := backoff.Submit(nilCtx, nilS, nilOp); return err }, []string{"Submit", "nil"}, nil},
		{"Submit after Close", func() error { _, err := backoff.Submit(ctx, closed, op); return err }, []string{"closed"}, backoff.ErrClosed},
		{"SubmitTo(nil ctx)", func() error { _, err := backoff.SubmitTo(nilCtx, s, op, results); return err }, []string{"SubmitTo", "ctx is nil"}, nil},
		{"SubmitTo(nil scheduler)", func() error { _, err := backoff.SubmitTo(ctx, nilS, op, results); return err }, []string{"SubmitTo", "scheduler is nil"}, nil},
		{"SubmitTo(nil op)", func() error { _, err := backoff.SubmitTo(ctx, s, nilOp, results); return err }, []string{"SubmitTo", "op is nil"}, nil},
		{"SubmitTo(nil results)", func() error { _, err := backoff.SubmitTo(ctx, s, op, nilCh); return err }, []string{"SubmitTo", "results channel is nil"}, nil},
		{"SubmitTo(all nil)", func() error { _, err := backoff.SubmitTo(nilCtx, nilS, nilOp, nilCh); return err }, []string{"SubmitTo", "nil"}, nil},
		{"SubmitTo after Close", func() error { _, err := backoff.SubmitTo(ctx, closed, op, results); return err }, []string{"closed"}, backoff.ErrClosed},
	}
	for _, v := range []string{
		"", " ", "-1", "1.5", "abc", "+5", "0x10", "1e3", "1_000", "١٢", "5s", "99 seconds",
		"Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 PST", "2024-01-01T00:00:00Z", "\x00", "\xff",
	} {
		cases = append(cases, call{fmt.Sprintf("ParseRetryAfter(%q)", v), func() error {
			d, err := backoff.ParseRetryAfter(v, time.Unix(784111777, 0))
			if err == nil {
				return fmt.Errorf("(no error, got %v)", d)
			}
			if d != 0 {
				t.Errorf("ParseRetryAfter(%q) = %v with its error", v, d)
			}
			return err
		}, []string{"Retry-After", fmt.Sprintf("%q", v)}, nil})
	}
	for _, c := range cases {
		biNoPanic(t, c.name, func() {
			err := c.f()
			biWantErr(t, c.name, err, c.want...)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%s: error %v is not %v", c.name, err, c.is)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("an op ran %d times", n)
	}
	if st := s.Stats(); st.Submitted != 0 || st.Pending != 0 {
		t.Errorf("bad submissions reached the scheduler: %+v", st)
	}
}

// A second live job with the same key is refused, naming the key; once the
// first has ended, the key is free again.
func TestBadArgumentDuplicateKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := backoff.NewScheduler()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wait := func(context.Context) (int, error) { return 0, errBad }
		h, err := backoff.Submit(t.Context(), s, wait, backoff.Key("job-1"), backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.MaxTries(2))
		if err != nil {
			t.Fatal(err)
		}
		for _, submit := range []func() error{
			func() error { _, err := backoff.Submit(t.Context(), s, wait, backoff.Key("job-1")); return err },
			func() error {
				_, err := backoff.SubmitTo(t.Context(), s, wait, make(chan backoff.Event[int], 1), backoff.Key("job-1"))
				return err
			},
		} {
			err := submit()
			biWantErr(t, "duplicate Key", err, "duplicate key", `"job-1"`)
			if !errors.Is(err, backoff.ErrDuplicateKey) {
				t.Errorf("duplicate Key: %v is not ErrDuplicateKey", err)
			}
		}
		h.Cancel()
		if _, err := h.Result(t.Context()); !errors.Is(err, backoff.ReasonCanceled) {
			t.Fatalf("canceled job: %v", err)
		}
		if _, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 1, nil }, backoff.Key("job-1")); err != nil {
			t.Fatalf("key of an ended job: %v", err)
		}
	})
}

// No public function or method panics on the zero and nil values a user
// can plausibly pass.
func TestNoPanicOnZeroAndNil(t *testing.T) {
	ns := []int{math.MinInt, -1, 0, 1, 2, 3, 63, 64, 65, 92, 93, 94, 1000, math.MaxInt}
	prevs := []time.Duration{math.MinInt64, -1, 0, 1, time.Second, math.MaxInt64 / 3, math.MaxInt64}

	t.Run("zero strategies", func(t *testing.T) {
		for _, c := range []struct {
			s     backoff.Strategy
			first time.Duration // the wait for n == 1, prev == 0
			ok    bool
		}{
			{backoff.Expo{}, time.Second, true},
			{backoff.Fibo{}, time.Second, true},
			{backoff.Constant{}, time.Second, true},
			{backoff.Decay{}, time.Second, true},
			{backoff.Decorrelated{}, time.Second, true},
			{backoff.NoWait{}, 0, true},
			{backoff.Intervals{}, 0, false},
			{backoff.Intervals(nil), 0, false},
		} {
			for _, n := range ns {
				for _, prev := range prevs {
					call := fmt.Sprintf("%#v.Delay(%d, %v)", c.s, n, prev)
					biNoPanic(t, call, func() {
						d, ok := c.s.Delay(n, prev)
						if d < 0 || ok != c.ok {
							t.Errorf("%s = %v, %v", call, d, ok)
						}
						if n == 1 && prev == 0 && d != c.first {
							t.Errorf("%s = %v, want %v", call, d, c.first)
						}
					})
				}
			}
			// A zero-value strategy is a valid option.
			biNoPanic(t, fmt.Sprintf("NewPolicy(%#v)", c.s), func() {
				if _, err := backoff.NewPolicy[int](c.s.(backoff.Option)); err != nil {
					t.Errorf("NewPolicy(%#v): %v", c.s, err)
				}
			})
		}
	})

	t.Run("jitters", func(t *testing.T) {
		for name, j := range map[string]backoff.Jitter{"FullJitter": backoff.FullJitter, "RandomJitter": backoff.RandomJitter,
			"EqualJitter": backoff.EqualJitter, "NoJitter": backoff.NoJitter} {
			for _, d := range prevs {
				biNoPanic(t, fmt.Sprintf("%s(%v)", name, d), func() {
					if got := j(d); got < 0 {
						t.Errorf("%s(%v) = %v", name, d, got)
					}
				})
			}
		}
	})

	t.Run("reasons, events, errors", func(t *testing.T) {
		for r := range 256 {
			biNoPanic(t, fmt.Sprintf("Reason(%d)", r), func() {
				reason := backoff.Reason(r)
				if reason.String() == "" || !strings.HasPrefix(reason.Error(), "backoff: ") {
					t.Errorf("Reason(%d): %q, %q", r, reason.String(), reason.Error())
				}
			})
			biNoPanic(t, fmt.Sprintf("EventKind(%d)", r), func() {
				if backoff.EventKind(r).String() == "" {
					t.Errorf("EventKind(%d) has no name", r)
				}
			})
		}
		if got := backoff.Reason(200).String(); got != "unknown" {
			t.Errorf("Reason(200).String() = %q", got)
		}
		biNoPanic(t, "zero values", func() {
			_ = backoff.Event[int]{}.Terminal()
			_ = backoff.Decision{}.Done()
			_ = backoff.Stats{}
			_ = backoff.Observation{}
			_ = backoff.State{}
		})
		for _, e := range []*backoff.GiveUpError{
			{},
			{Reason: 200},
			{Reason: backoff.ReasonContext, Cause: context.Canceled},
			{Reason: backoff.ReasonPanic, Cause: &backoff.PanicError{}},
			{Reason: backoff.ReasonMaxTries, Err: errBad, Tries: -1, Elapsed: math.MinInt64},
		} {
			biNoPanic(t, fmt.Sprintf("%#v", e), func() {
				if msg := e.Error(); !strings.HasPrefix(msg, "backoff: gave up after ") {
					t.Errorf("%#v.Error() = %q", e, msg)
				}
				if errs := e.Unwrap(); len(errs) == 0 || !errors.Is(errs[0], e.Reason) {
					t.Errorf("%#v.Unwrap() = %v", e, errs)
				}
				if !errors.Is(e, e.Reason) {
					t.Errorf("errors.Is(%#v, its reason) is false", e)
				}
				var pe *backoff.PanicError
				_ = errors.As(e, &pe)
			})
		}
		for _, pe := range []*backoff.PanicError{{}, {Value: errBad}, {Value: (*backoff.GiveUpError)(nil)}, {Value: 3}} {
			biNoPanic(t, fmt.Sprintf("%#v", pe), func() {
				if !strings.HasPrefix(pe.Error(), "backoff: panic: ") {
					t.Errorf("%#v.Error() = %q", pe, pe.Error())
				}
				if err, _ := pe.Value.(error); !errors.Is(pe.Unwrap(), err) {
					t.Errorf("%#v.Unwrap() = %v", pe, pe.Unwrap())
				}
			})
		}
		biNoPanic(t, "Permanent", func() {
			if backoff.Permanent(nil) != nil {
				t.Error("Permanent(nil) != nil")
			}
			p := backoff.Permanent(errBad)
			if p.Error() != errBad.Error() || !errors.Is(p, errBad) {
				t.Errorf("Permanent(err) = %v", p)
			}
		})
	})

	t.Run("ParseRetryAfter", func(t *testing.T) {
		for _, v := range []string{"", "0", "Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", strings.Repeat("9", 10000)} {
			for _, now := range []time.Time{{}, time.Unix(math.MinInt64/4, 0), time.Unix(math.MaxInt64/4, 0)} {
				biNoPanic(t, fmt.Sprintf("ParseRetryAfter(%.20q, %v)", v, now), func() {
					if d, err := backoff.ParseRetryAfter(v, now); d < 0 || (err != nil && d != 0) {
						t.Errorf("ParseRetryAfter(%.20q, %v) = %v, %v", v, now, d, err)
					}
				})
			}
		}
	})

	t.Run("Decide", func(t *testing.T) {
		p, err := backoff.NewPolicy[*int](backoff.RetryOnValue(func(v *int) bool { return v == nil }))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []backoff.State{{}, {Tries: math.MinInt}, {Tries: math.MaxInt, Prev: math.MaxInt64, Elapsed: math.MaxInt64},
			{HasDeadline: true}, {HasDeadline: true, Left: math.MinInt64}} {
			for _, out := range []backoff.Outcome[*int]{{}, {Err: errBad}, {Err: backoff.Permanent(errBad)}} {
				biNoPanic(t, fmt.Sprintf("Decide(%+v, %+v)", st, out), func() {
					if d := backoff.Decide(p, st, out); d.Wait < 0 || (d.Retry && d.Reason != backoff.ReasonNone) {
						t.Errorf("Decide(%+v, %+v) = %+v", st, out, d)
					}
				})
			}
		}
	})

	t.Run("Attempts and Loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			biNoPanic(t, "zero Attempt", func() {
				var a backoff.Attempt[int]
				_, _ = a.Number(), a.Context()
				a.Fail(nil)
				a.Return(0, nil)
				a.Fail(errBad)
			})
			biNoPanic(t, "Loop with a nil ctx", func() {
				var nilCtx context.Context
				l := backoff.Attempts[int](nilCtx)
				for range l.All() {
					t.Error("a loop with a nil ctx ran")
				}
				for range l.All() {
					t.Error("a loop with a nil ctx ran")
				}
				_, _ = l.Result()
				_ = l.Tries()
			})
			biNoPanic(t, "Loop ranged twice, Result before and after", func() {
				l := backoff.Attempts[int](t.Context(), backoff.NoWait{}, backoff.MaxTries(2))
				if _, err := l.Result(); err == nil {
					t.Error("Result before the loop: no error")
				}
				for a := range l.All() {
					a.Fail(errBad)
				}
				for range l.All() {
					t.Error("a Loop ran twice")
				}
				if _, err := l.Result(); !errors.Is(err, backoff.ReasonMaxTries) || l.Tries() != 2 {
					t.Errorf("Result: %v after %d tries", err, l.Tries())
				}
			})
			biNoPanic(t, "Loop broken out of", func() {
				l := backoff.Attempts[int](t.Context())
				for a := range l.All() {
					a.Fail(errBad)
					break
				}
				if _, err := l.Result(); !errors.Is(err, backoff.ReasonCanceled) {
					t.Errorf("Result: %v", err)
				}
			})
		})
	})

	t.Run("valid zero and nil options", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			for _, o := range []backoff.Option{
				backoff.Name(""), backoff.WithLogger(nil), backoff.WithObserver(nil), backoff.ErrorOnGiveUp(false),
				backoff.Intervals(nil), backoff.Intervals{0}, backoff.RetryOnType[error](), backoff.Expo{}, backoff.Decorrelated{},
				backoff.InitialDelay(0), backoff.StartJitter(0), backoff.MaxTime(0),
			} {
				biNoPanic(t, fmt.Sprintf("Retry with %#v", o), func() {
					calls := 0
					_, err := backoff.Retry(t.Context(), func(context.Context) (int, error) {
						calls++
						if calls < 2 {
							return 0, errBad
						}
						return 2, nil
					}, o, backoff.MaxTries(2))
					var ge *backoff.GiveUpError
					if err != nil && !errors.As(err, &ge) {
						t.Errorf("Retry with %#v: %v", o, err)
					}
				})
			}
		})
	})

	t.Run("scheduler", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, err := backoff.NewScheduler(backoff.WithLogger(nil), backoff.WithObserver(nil))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			biNoPanic(t, "Scheduler methods with unknown keys", func() {
				if s.Cancel("") || s.Trigger("") || s.Cancel("nope") || s.Trigger("nope") {
					t.Error("Cancel or Trigger found a job that does not exist")
				}
				_ = s.Stats()
			})
			var h *backoff.Handle[int]
			biNoPanic(t, "Submit with Key(\"\")", func() {
				h, err = backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 1, nil }, backoff.Key(""))
				if err != nil {
					t.Fatal(err)
				}
			})
			biNoPanic(t, "Handle after the end", func() {
				if v, err := h.Result(t.Context()); v != 1 || err != nil {
					t.Errorf("Result = %v, %v", v, err)
				}
				_ = h.ID()
				h.Cancel()
				h.Cancel()
				for range h.Events() {
				}
				_ = h.Events()
				if v, err := h.Result(t.Context()); v != 1 || err != nil {
					t.Errorf("second Result = %v, %v", v, err)
				}
			})
			biNoPanic(t, "Shutdown with an ended ctx, then Close twice", func() {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				_ = s.Shutdown(ctx)
				_ = s.Close()
				_ = s.Close()
				if err := s.Shutdown(t.Context()); err != nil {
					t.Errorf("Shutdown after Close: %v", err)
				}
				if _, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, backoff.ErrClosed) {
					t.Errorf("Submit after Close: %v", err)
				}
				if s.Cancel("") || s.Trigger("") {
					t.Error("Cancel or Trigger after Close found a job")
				}
				_ = s.Stats()
			})
		})
	})
}

// Regression: a zero Policy (&backoff.Policy[int]{}) is taken as a built policy
// by the single-Policy fast path, but its strategy is nil: Decide panics
// on the first failure, so Retry gives up with ReasonPanic instead of
// retrying with the defaults (or reporting bad input).
func TestZeroPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		biNoPanic(t, "Decide(&Policy[int]{}, ...)", func() {
			d := backoff.Decide(&backoff.Policy[int]{}, backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errBad})
			if d.Wait < 0 {
				t.Errorf("Decide = %+v", d)
			}
		})
		calls := 0
		v, err := backoff.Retry(t.Context(), func(context.Context) (int, error) {
			if calls++; calls < 3 {
				return 0, errBad
			}
			return 7, nil
		}, &backoff.Policy[int]{})
		if v != 7 || err != nil {
			t.Errorf("Retry with a zero Policy = %v, %v after %d calls; want 7, nil after 3 (the defaults)", v, err, calls)
		}
	})
}

// Regression: the scheduler computes due times as now + wait without saturating.
// A wait near math.MaxInt64, which the package produces on purpose
// (ParseRetryAfter saturates a huge Retry-After there; an uncapped Expo
// saturates there), wraps to a due time in the past: the job is retried at
// once, in a tight loop, instead of waiting. InitialDelay does the same to
// the first attempt. The blocking Retry waits as it should.
func TestSchedulerHugeWaitSaturates(t *testing.T) {
	huge, err := backoff.ParseRetryAfter("99999999999999999999", time.Time{})
	if err != nil || huge != math.MaxInt64 {
		t.Fatalf("ParseRetryAfter: %v, %v", huge, err)
	}
	for _, c := range []struct {
		name      string
		opt       backoff.Option
		wantCalls int32 // within an hour
	}{
		{"InitialDelay(MaxInt64)", backoff.InitialDelay(math.MaxInt64), 0},
		{"Runtime Retry-After 99999999999999999999", backoff.Runtime(func(int, error) (time.Duration, bool) { return huge, true }), 1},
		{"Constant{MaxInt64}, NoJitter", backoff.Constant{Interval: math.MaxInt64}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := backoff.NewScheduler()
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				time.Sleep(time.Second) // the scheduler's clock is past its epoch, as it always is in use
				var calls atomic.Int32
				op := func(context.Context) (int, error) {
					if calls.Add(1) > 3 {
						return 0, backoff.Permanent(errBad) // end the loop the bug makes
					}
					return 0, errBad
				}
				h, err := backoff.Submit(t.Context(), s, op, c.opt, backoff.NoJitter)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
				defer cancel()
				_, err = h.Result(ctx)
				if n := calls.Load(); n != c.wantCalls {
					t.Errorf("Submit with %s: %d attempts within an hour, want %d (Result: %v)", c.name, n, c.wantCalls, err)
				}
			})
		})
	}
}
