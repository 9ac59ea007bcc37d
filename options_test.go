package backoff_test

// Option checking: bad options are an error that names them, returned
// before anything runs, never a panic.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/benbjohnson/clock"
)

func TestOptionErrors(t *testing.T) {
	var nilOpt backoff.Option
	cases := []struct {
		name string
		opts []backoff.Option
		want []string // every part must appear in the error
	}{
		{"MaxTries(0)", []backoff.Option{backoff.MaxTries(0)}, []string{"MaxTries", "0"}},
		{"MaxTries(-1)", []backoff.Option{backoff.MaxTries(-1)}, []string{"MaxTries", "-1"}},
		{"negative MaxTime", []backoff.Option{backoff.MaxTime(-time.Second)}, []string{"MaxTime", "negative"}},
		{"negative MaxTimeStrict", []backoff.Option{backoff.MaxTimeStrict(-1)}, []string{"MaxTimeStrict"}},
		{"MaxWait(0)", []backoff.Option{backoff.MaxWait(0)}, []string{"MaxWait"}},
		{"negative MaxWait", []backoff.Option{backoff.MaxWait(-time.Second)}, []string{"MaxWait"}},
		{"AttemptTimeout(0)", []backoff.Option{backoff.AttemptTimeout(0)}, []string{"AttemptTimeout"}},
		{"negative InitialDelay", []backoff.Option{backoff.InitialDelay(-1)}, []string{"InitialDelay"}},
		{"negative StartJitter", []backoff.Option{backoff.StartJitter(-1)}, []string{"StartJitter"}},
		{"RetryOn()", []backoff.Option{backoff.RetryOn()}, []string{"RetryOn"}},
		{"RetryOn(nil)", []backoff.Option{backoff.RetryOn(errRtKey, nil)}, []string{"RetryOn", "nil"}},
		{"RetryIf(nil)", []backoff.Option{backoff.RetryIf(nil)}, []string{"RetryIf"}},
		{"RetryOnValue(nil)", []backoff.Option{backoff.RetryOnValue[int](nil)}, []string{"RetryOnValue"}},
		{"GiveUp(nil)", []backoff.Option{backoff.GiveUp(nil)}, []string{"GiveUp"}},
		{"OnBackoff(nil)", []backoff.Option{backoff.OnBackoff[int](nil)}, []string{"OnBackoff"}},
		{"OnSuccess(nil)", []backoff.Option{backoff.OnSuccess[int](nil)}, []string{"OnSuccess"}},
		{"OnGiveUp(nil)", []backoff.Option{backoff.OnGiveUp[int](nil)}, []string{"OnGiveUp"}},
		{"Runtime(nil)", []backoff.Option{backoff.Runtime[int](nil)}, []string{"Runtime"}},
		{"nil Option", []backoff.Option{backoff.MaxTries(2), nilOpt}, []string{"nil Option"}},
		{"WithClock(nil)", []backoff.Option{backoff.WithClock(nil)}, []string{"WithClock"}},
		{"bad strategy", []backoff.Option{backoff.Expo{Base: 0.5}}, []string{"Expo.Base"}},
		{"negative Intervals", []backoff.Option{backoff.Intervals{time.Second, -1}}, []string{"Intervals[1]"}},
		{"nil StrategyFunc", []backoff.Option{backoff.StrategyFunc(nil)}, []string{"StrategyFunc"}},
		{"value type mismatch", []backoff.Option{backoff.RetryOnValue(func(string) bool { return true })},
			[]string{"RetryOnValue", "string", "int"}},
		{"OnBackoff type mismatch", []backoff.Option{backoff.OnBackoff(func(backoff.Event[string]) {})},
			[]string{"OnBackoff", "string", "int"}},
		{"OnSuccess type mismatch", []backoff.Option{backoff.OnSuccess(func(backoff.Event[bool]) {})}, []string{"OnSuccess", "bool"}},
		{"OnGiveUp type mismatch", []backoff.Option{backoff.OnGiveUp(func(backoff.Event[int64]) {})}, []string{"OnGiveUp", "int64"}},
		{"Runtime type mismatch", []backoff.Option{backoff.Runtime(func(string, error) (time.Duration, bool) { return 0, false })},
			[]string{"Runtime", "string", "int"}},
		{"every bad option named", []backoff.Option{backoff.MaxTries(0), backoff.MaxTime(-1), backoff.GiveUp(nil)},
			[]string{"MaxTries", "MaxTime", "GiveUp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(how string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error", how)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("%s: error %q does not mention %q", how, err, w)
					}
				}
			}
			calls := 0
			op := func(context.Context) (int, error) { calls++; return 1, nil }
			v, err := backoff.Retry(t.Context(), op, c.opts...)
			check("Retry", err)
			if v != 0 {
				t.Fatalf("Retry returned value %v with an error", v)
			}
			_, err = backoff.Wrap(op, c.opts...)(t.Context())
			check("Wrap", err)
			l := backoff.Attempts[int](t.Context(), c.opts...)
			for range l.All() {
				calls++
			}
			_, err = l.Result()
			check("Attempts", err)
			if calls != 0 {
				t.Fatalf("op ran %d times despite bad options", calls)
			}
			_, err = backoff.NewPolicy[int](c.opts...)
			if c.name != "WithClock(nil)" { // NewPolicy rejects any WithClock; checked below
				check("NewPolicy", err)
			} else if err == nil {
				t.Fatal("NewPolicy: no error")
			}
		})
	}
}

func TestOptionNilOpAndCtx(t *testing.T) {
	var nilCtx context.Context
	op := func(context.Context) (int, error) { return 1, nil }
	if _, err := backoff.Retry(nilCtx, op); err == nil || !strings.Contains(err.Error(), "ctx is nil") {
		t.Fatalf("nil ctx: %v", err)
	}
	if _, err := backoff.Retry[int](t.Context(), nil); err == nil || !strings.Contains(err.Error(), "op is nil") {
		t.Fatalf("nil op: %v", err)
	}
	// Bad options are reported even with a nil op.
	if _, err := backoff.Retry[int](t.Context(), nil, backoff.MaxTries(0)); err == nil || !strings.Contains(err.Error(), "MaxTries") {
		t.Fatalf("nil op, bad options: %v", err)
	}
}

// The options of one call do not belong in a Policy.
func TestNewPolicyRejectsPerJobOptions(t *testing.T) {
	for name, o := range map[string]backoff.Option{"Key": backoff.Key("k"), "NonBlocking": backoff.NonBlocking(), "Subscribe": backoff.Subscribe()} {
		if _, err := backoff.NewPolicy[int](o); err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := backoff.NewPolicy[int](backoff.WithClock(clock.NewMock())); err == nil || !strings.Contains(err.Error(), "WithClock") {
		t.Fatalf("WithClock: %v", err)
	}
	if p, err := backoff.NewPolicy[int](); err != nil || p == nil {
		t.Fatalf("no options: (%v, %v)", p, err)
	}
}

// Valid edge values are accepted.
func TestOptionValidEdges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, o := range []backoff.Option{
			backoff.MaxTries(1), backoff.MaxTime(0), backoff.MaxTimeStrict(0), backoff.InitialDelay(0),
			backoff.StartJitter(0), backoff.Intervals{}, backoff.Intervals{0}, backoff.Name(""), backoff.ErrorOnGiveUp(true),
			backoff.WithLogger(nil), backoff.Expo{Base: 1}, backoff.Decay{}, backoff.Fibo{},
		} {
			calls := 0
			v, err := backoff.Retry(t.Context(), func(context.Context) (int, error) { calls++; return 2, nil }, o)
			if v != 2 || err != nil || calls != 1 {
				t.Fatalf("option %#v: got (%v, %v) after %d calls", o, v, err, calls)
			}
		}
	})
}

// MaxTries(1) is one call and no retry; MaxTries and MaxTime combine as
// "whichever comes first".
func TestOptionMaxTriesAndMaxTime(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		calls := 0
		op := func(context.Context) (int, error) { calls++; return 0, errRtBoom }
		_, err := r.run(t.Context(), op, backoff.MaxTries(1))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 1)
		if calls != 1 {
			t.Fatalf("MaxTries(1): %d calls", calls)
		}
		_, err = r.run(t.Context(), op, backoff.Constant{Interval: time.Second}, backoff.NoJitter,
			backoff.MaxTries(10), backoff.MaxTime(3*time.Second))
		rtWantGiveUp(t, err, backoff.ReasonMaxTime, 4)
		_, err = r.run(t.Context(), op, backoff.Constant{Interval: time.Second}, backoff.NoJitter,
			backoff.MaxTries(3), backoff.MaxTime(time.Hour))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
	})
}

// The last strategy and the last jitter given win.
func TestOptionLastWins(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			rec.with(backoff.Constant{Interval: time.Hour}, backoff.FullJitter, backoff.Intervals{time.Second, 2 * time.Second}, backoff.NoJitter)...)
		rtWantGiveUp(t, err, backoff.ReasonExhausted, 3)
		rtEqualWaits(t, rec.waits(), rtSecs(1, 2))
	})
}

// A user predicate that panics ends the job with ReasonPanic.
func TestRetryPredicatePanics(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		for _, o := range []backoff.Option{
			backoff.RetryIf(func(error) bool { panic("retryif") }),
			backoff.GiveUp(func(error) bool { panic("giveup") }),
		} {
			calls := 0
			_, err := r.run(t.Context(), func(context.Context) (int, error) { calls++; return 0, errRtBoom }, backoff.NoWait{}, o)
			rtWantGiveUp(t, err, backoff.ReasonPanic, 1)
			var pe *backoff.PanicError
			if !errors.As(err, &pe) || calls != 1 {
				t.Fatalf("err %v, %d calls", err, calls)
			}
		}
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, nil },
			backoff.RetryOnValue(func(int) bool { panic("value") }))
		rtWantGiveUp(t, err, backoff.ReasonPanic, 1)
	})
}

// Reasons are errors and have names.
func TestReasonStrings(t *testing.T) {
	if backoff.ReasonMaxTries.String() != "max tries" || backoff.ReasonContext.Error() != "backoff: context ended" ||
		backoff.Reason(200).String() != "unknown" {
		t.Fatalf("reason names: %q %q %q", backoff.ReasonMaxTries, backoff.ReasonContext.Error(), backoff.Reason(200))
	}
	err := &backoff.GiveUpError{Reason: backoff.ReasonMaxTries, Err: errRtBoom, Tries: 3}
	if !errors.Is(err, backoff.ReasonMaxTries) || errors.Is(err, backoff.ReasonMaxTime) || !errors.Is(err, errRtBoom) ||
		err.Error() != "backoff: gave up after 3 tries (max tries): boom" {
		t.Fatalf("GiveUpError: %v", err)
	}
}
