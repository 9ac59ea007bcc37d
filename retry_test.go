package backoff_test

// Black-box tests of Retry and Wrap, and (through rtRunners) of Attempts.
// The first half ports python-backoff's tests/test_backoff.py and
// tests/test_integration.py (comments name the python test); the second
// half checks the answers of the README's Semantics list.
//
// Every test that waits runs in a testing/synctest bubble: time is fake,
// so waits cost nothing and elapsed times are exact.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/benbjohnson/clock"
)

var (
	errRtKey   = errors.New("KeyError")
	errRtValue = errors.New("ValueError")
	errRtBoom  = errors.New("boom")
)

// rtRunner runs an op under a policy one way: Retry, a Wrap function, or an
// Attempts loop whose body calls the op.
type rtRunner[T any] struct {
	name string
	run  func(ctx context.Context, op func(context.Context) (T, error), opts ...backoff.Option) (T, error)
}

func rtRunners[T any]() []rtRunner[T] {
	return []rtRunner[T]{
		{"Retry", backoff.Retry[T]},
		{"Wrap", func(ctx context.Context, op func(context.Context) (T, error), opts ...backoff.Option) (T, error) {
			return backoff.Wrap(op, opts...)(ctx)
		}},
		{"Attempts", rtViaLoop[T]},
	}
}

// rtViaLoop is Retry written with Attempts.
func rtViaLoop[T any](ctx context.Context, op func(context.Context) (T, error), opts ...backoff.Option) (T, error) {
	l := backoff.Attempts[T](ctx, opts...)
	for a := range l.All() {
		a.Return(op(a.Context()))
	}
	return l.Result()
}

// rtEach runs f once per runner, each in its own synctest bubble.
func rtEach[T any](t *testing.T, f func(t *testing.T, r rtRunner[T])) {
	t.Helper()
	for _, r := range rtRunners[T]() {
		t.Run(r.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { f(t, r) })
		})
	}
}

// rtRec records the events the handlers receive.
type rtRec[T any] struct {
	mu                          sync.Mutex
	backoffs, successes, giveUp []backoff.Event[T]
}

func (r *rtRec[T]) add(l *[]backoff.Event[T]) func(backoff.Event[T]) {
	return func(ev backoff.Event[T]) {
		r.mu.Lock()
		defer r.mu.Unlock()
		*l = append(*l, ev)
	}
}

// opts returns OnBackoff, OnSuccess and OnGiveUp handlers that record.
func (r *rtRec[T]) opts() []backoff.Option {
	return []backoff.Option{
		backoff.OnBackoff(r.add(&r.backoffs)),
		backoff.OnSuccess(r.add(&r.successes)),
		backoff.OnGiveUp(r.add(&r.giveUp)),
	}
}

func (r *rtRec[T]) with(opts ...backoff.Option) []backoff.Option {
	return append(r.opts(), opts...)
}

func (r *rtRec[T]) waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var w []time.Duration
	for _, ev := range r.backoffs {
		w = append(w, ev.Wait)
	}
	return w
}

func (r *rtRec[T]) counts() (b, s, g int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.backoffs), len(r.successes), len(r.giveUp)
}

func (r *rtRec[T]) wantCounts(t *testing.T, b, s, g int) {
	t.Helper()
	gb, gs, gg := r.counts()
	if gb != b || gs != s || gg != g {
		t.Fatalf("events: %d backoff, %d success, %d give-up; want %d, %d, %d", gb, gs, gg, b, s, g)
	}
}

// rtCheckEvent compares an event with want. want.Err is matched with
// errors.Is (nil means the event must have no error).
func rtCheckEvent[T any](t *testing.T, what string, got, want backoff.Event[T]) {
	t.Helper()
	if got.Kind != want.Kind || got.Tries != want.Tries || got.Wait != want.Wait ||
		got.Elapsed != want.Elapsed || got.Reason != want.Reason || !reflect.DeepEqual(got.Value, want.Value) {
		t.Errorf("%s: got {Kind:%v Tries:%d Wait:%v Elapsed:%v Reason:%v Value:%v}, want {Kind:%v Tries:%d Wait:%v Elapsed:%v Reason:%v Value:%v}",
			what, got.Kind, got.Tries, got.Wait, got.Elapsed, got.Reason, got.Value,
			want.Kind, want.Tries, want.Wait, want.Elapsed, want.Reason, want.Value)
	}
	if got.Kind == backoff.EventGiveUp {
		// A give-up event's Err is the *GiveUpError; want.Err is the last
		// op error it must hold (nil: a rejected value).
		var ge *backoff.GiveUpError
		if !errors.As(got.Err, &ge) || ge.Reason != want.Reason || ge.Tries != want.Tries || ge.Elapsed != want.Elapsed {
			t.Errorf("%s: give-up Err = %#v, want a *GiveUpError with reason %v, %d tries, %v", what, got.Err, want.Reason, want.Tries, want.Elapsed)
			return
		}
		if (want.Err == nil) != (ge.Err == nil) || (want.Err != nil && !errors.Is(ge.Err, want.Err)) {
			t.Errorf("%s: GiveUpError.Err = %v, want %v", what, ge.Err, want.Err)
		}
		return
	}
	if want.Err == nil && got.Err != nil {
		t.Errorf("%s: Err = %v, want nil", what, got.Err)
	}
	if want.Err != nil && !errors.Is(got.Err, want.Err) {
		t.Errorf("%s: Err = %v, want one that wraps %v", what, got.Err, want.Err)
	}
}

// rtWantGiveUp checks that err is a *GiveUpError for reason after tries
// attempts (tries < 0: any) and returns it.
func rtWantGiveUp(t *testing.T, err error, reason backoff.Reason, tries int) *backoff.GiveUpError {
	t.Helper()
	var ge *backoff.GiveUpError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v (%T), want a *backoff.GiveUpError (%v)", err, err, reason)
	}
	if ge.Reason != reason || !errors.Is(err, reason) {
		t.Fatalf("reason = %v (err %v), want %v", ge.Reason, err, reason)
	}
	if tries >= 0 && ge.Tries != tries {
		t.Fatalf("GiveUpError.Tries = %d, want %d", ge.Tries, tries)
	}
	return ge
}

func rtEqualWaits(t *testing.T, got, want []time.Duration) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("waits = %v, want %v", got, want)
	}
}

func rtSecs(vs ...float64) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

// ---------------------------------------------------------------------
// Port of python-backoff tests/test_backoff.py.
// ---------------------------------------------------------------------

// Ports python-backoff's test_on_predicate.
func TestPyOnPredicate(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		calls := 0
		v, err := r.run(t.Context(), func(context.Context) (bool, error) {
			calls++
			return calls == 3, nil
		}, backoff.RetryOnValue(func(v bool) bool { return !v }))
		if !v || err != nil || calls != 3 {
			t.Fatalf("got (%v, %v) after %d calls, want (true, nil) after 3", v, err, calls)
		}
	})
}

// test_on_predicate_max_tries: python returns the last value; Go returns it
// together with the give-up error, or alone with ErrorOnGiveUp(false).
func TestPyOnPredicateMaxTries(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		calls := 0
		op := func(context.Context) (bool, error) { calls++; return false, nil }
		pred := backoff.RetryOnValue(func(v bool) bool { return !v })
		v, err := r.run(t.Context(), op, pred, backoff.MaxTries(3))
		if v || calls != 3 {
			t.Fatalf("got %v after %d calls, want false after 3", v, calls)
		}
		ge := rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		if ge.Err != nil {
			t.Fatalf("GiveUpError.Err = %v, want nil for a rejected value", ge.Err)
		}

		calls = 0
		v, err = r.run(t.Context(), op, pred, backoff.MaxTries(3), backoff.ErrorOnGiveUp(false))
		if v || err != nil || calls != 3 {
			t.Fatalf("ErrorOnGiveUp(false): got (%v, %v) after %d calls, want (false, nil) after 3", v, err, calls)
		}
	})
}

// test_on_predicate_max_time: python fakes monotonic() as 0, 1, 9,
// 10.000005; here the attempts take 1s, 8s and 1.000005s of fake time.
func TestPyOnPredicateMaxTime(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		var rec rtRec[bool]
		took := []time.Duration{time.Second, 8 * time.Second, time.Second + 5*time.Microsecond}
		calls := 0
		v, err := r.run(t.Context(), func(context.Context) (bool, error) {
			time.Sleep(took[calls])
			calls++
			return false, nil
		}, rec.with(backoff.NoWait{}, backoff.MaxTime(10*time.Second),
			backoff.RetryOnValue(func(v bool) bool { return !v }))...)
		if v || calls != 3 {
			t.Fatalf("got %v after %d calls, want false after 3", v, calls)
		}
		rtWantGiveUp(t, err, backoff.ReasonMaxTime, 3)
		rec.wantCounts(t, 2, 0, 1)
		rtCheckEvent(t, "give-up", rec.giveUp[0], backoff.Event[bool]{
			Kind: backoff.EventGiveUp, Tries: 3, Elapsed: 10*time.Second + 5*time.Microsecond,
			Reason: backoff.ReasonMaxTime, Value: false,
		})
	})
}

// Ports python-backoff's test_on_exception.
func TestPyOnException(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		calls := 0
		v, err := r.run(t.Context(), func(context.Context) (bool, error) {
			calls++
			if calls < 3 {
				return false, errRtKey
			}
			return true, nil
		}, backoff.RetryOn(errRtKey))
		if !v || err != nil || calls != 3 {
			t.Fatalf("got (%v, %v) after %d calls, want (true, nil) after 3", v, err, calls)
		}
	})
}

// test_on_exception_tuple: several targets; errors.Is also finds a wrapped
// target, as issubclass finds a subclass.
func TestPyOnExceptionTuple(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		errs := []error{errRtKey, fmt.Errorf("wrapped: %w", errRtValue)}
		calls := 0
		v, err := r.run(t.Context(), func(context.Context) (bool, error) {
			calls++
			if calls <= len(errs) {
				return false, errs[calls-1]
			}
			return true, nil
		}, backoff.RetryOn(errRtKey, errRtValue))
		if !v || err != nil || calls != 3 {
			t.Fatalf("got (%v, %v) after %d calls, want (true, nil) after 3", v, err, calls)
		}
	})
}

// Ports python-backoff's test_on_exception_max_tries.
func TestPyOnExceptionMaxTries(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (bool, error) {
			calls++
			return false, errRtKey
		}, backoff.RetryOn(errRtKey), backoff.MaxTries(3))
		if calls != 3 {
			t.Fatalf("%d calls, want 3", calls)
		}
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		if !errors.Is(err, errRtKey) {
			t.Fatalf("err = %v, want it to wrap the op's error", err)
		}
	})
}

// test_on_exception_constant_iterable: interval=(1,2,3) → Intervals.
func TestPyOnExceptionConstantIterable(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		var rec rtRec[bool]
		start := time.Now()
		_, err := r.run(t.Context(), func(context.Context) (bool, error) { return false, errRtKey },
			rec.with(backoff.Intervals{1 * time.Second, 2 * time.Second, 3 * time.Second}, backoff.NoJitter, backoff.RetryOn(errRtKey))...)
		rtWantGiveUp(t, err, backoff.ReasonExhausted, 4)
		if !errors.Is(err, errRtKey) {
			t.Fatalf("err = %v, want it to wrap KeyError", err)
		}
		rec.wantCounts(t, 3, 0, 1)
		for i, ev := range rec.backoffs {
			rtCheckEvent(t, fmt.Sprint("backoff ", i), ev, backoff.Event[bool]{
				Kind: backoff.EventBackoff, Tries: i + 1, Wait: time.Duration(i+1) * time.Second,
				Elapsed: time.Duration(i*(i+1)/2) * time.Second, Err: errRtKey,
			})
		}
		rtCheckEvent(t, "give-up", rec.giveUp[0], backoff.Event[bool]{
			Kind: backoff.EventGiveUp, Tries: 4, Elapsed: 6 * time.Second, Reason: backoff.ReasonExhausted, Err: errRtKey,
		})
		if el := time.Since(start); el != 6*time.Second {
			t.Fatalf("took %v, want 6s", el)
		}
	})
}

// test_on_exception_success_random_jitter and ..._full_jitter: expo with
// factor 0.5s; RandomJitter waits in [0.5*2^i, 0.5*2^i + 1s), FullJitter
// (also the default) in [0, 0.5*2^i].
func TestPyOnExceptionJitter(t *testing.T) {
	cases := []struct {
		name   string
		jitter []backoff.Option
		lo, hi func(base time.Duration) time.Duration
	}{
		{"random", []backoff.Option{backoff.RandomJitter},
			func(b time.Duration) time.Duration { return b }, func(b time.Duration) time.Duration { return b + time.Second - 1 }},
		{"full", []backoff.Option{backoff.FullJitter},
			func(time.Duration) time.Duration { return 0 }, func(b time.Duration) time.Duration { return b }},
		{"default", nil,
			func(time.Duration) time.Duration { return 0 }, func(b time.Duration) time.Duration { return b }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rtEach(t, func(t *testing.T, r rtRunner[bool]) {
				var rec rtRec[bool]
				calls := 0
				v, err := r.run(t.Context(), func(context.Context) (bool, error) {
					calls++
					if calls < 10 {
						return false, errRtKey
					}
					return true, nil
				}, rec.with(append([]backoff.Option{backoff.Expo{Factor: 500 * time.Millisecond}}, c.jitter...)...)...)
				if !v || err != nil {
					t.Fatalf("got (%v, %v)", v, err)
				}
				waits := rec.waits()
				if len(waits) != 9 {
					t.Fatalf("%d waits, want 9", len(waits))
				}
				for i, w := range waits {
					base := 500 * time.Millisecond << i
					if w < c.lo(base) || w > c.hi(base) {
						t.Fatalf("wait %d = %v, want in [%v, %v]", i, w, c.lo(base), c.hi(base))
					}
				}
			})
		})
	}
}

// test_on_exception_success: exact handler events. python's "elapsed > 0"
// becomes an exact elapsed: each attempt takes 100ms of fake time. The
// success event also carries the value (README, Semantics: "Success values").
func TestPyOnExceptionSuccess(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		calls := 0
		v, err := r.run(t.Context(), func(context.Context) (int, error) {
			time.Sleep(100 * time.Millisecond)
			calls++
			if calls < 3 {
				return 0, errRtValue
			}
			return 7, nil
		}, rec.with(backoff.NoWait{}, backoff.NoJitter)...)
		if v != 7 || err != nil {
			t.Fatalf("got (%v, %v), want (7, nil)", v, err)
		}
		rec.wantCounts(t, 2, 1, 0)
		for i, ev := range rec.backoffs {
			rtCheckEvent(t, fmt.Sprint("backoff ", i), ev, backoff.Event[int]{
				Kind: backoff.EventBackoff, Tries: i + 1, Wait: 0,
				Elapsed: time.Duration(i+1) * 100 * time.Millisecond, Err: errRtValue,
			})
		}
		rtCheckEvent(t, "success", rec.successes[0], backoff.Event[int]{
			Kind: backoff.EventSuccess, Tries: 3, Elapsed: 300 * time.Millisecond, Value: 7,
		})
	})
}

// Ports python-backoff's test_on_exception_giveup[True/False].
func TestPyOnExceptionGiveUp(t *testing.T) {
	catchMe := errors.New("catch me")
	for _, raise := range []bool{true, false} {
		t.Run(fmt.Sprint("raise=", raise), func(t *testing.T) {
			rtEach(t, func(t *testing.T, r rtRunner[int]) {
				var rec rtRec[int]
				v, err := r.run(t.Context(), func(context.Context) (int, error) {
					time.Sleep(time.Second)
					return 5, catchMe
				}, rec.with(backoff.NoWait{}, backoff.MaxTries(3), backoff.ErrorOnGiveUp(raise))...)
				if v != 5 {
					t.Fatalf("value %v, want the last value 5", v)
				}
				if raise {
					rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
					if !errors.Is(err, catchMe) || !strings.Contains(err.Error(), "catch me") {
						t.Fatalf("err = %v, want it to wrap 'catch me'", err)
					}
				} else if err != nil {
					t.Fatalf("err = %v, want nil with ErrorOnGiveUp(false)", err)
				}
				rec.wantCounts(t, 2, 0, 1)
				rtCheckEvent(t, "give-up", rec.giveUp[0], backoff.Event[int]{
					Kind: backoff.EventGiveUp, Tries: 3, Elapsed: 3 * time.Second, Value: 5,
					Reason: backoff.ReasonMaxTries, Err: catchMe,
				})
			})
		})
	}
}

// Ports python-backoff's test_on_exception_giveup_predicate.
func TestPyOnExceptionGiveUpPredicate(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		vals := []string{"foo", "bar", "baz", "qux"}
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) {
			calls++
			return 0, errors.New(vals[calls-1])
		}, backoff.NoWait{}, backoff.GiveUp(func(err error) bool { return err.Error() == "baz" }))
		if calls != 3 {
			t.Fatalf("%d calls, want 3", calls)
		}
		rtWantGiveUp(t, err, backoff.ReasonGiveUp, 3)
		if !strings.HasSuffix(err.Error(), "baz") {
			t.Fatalf("err = %v, want the last error baz", err)
		}
	})
}

// Ports python-backoff's test_on_predicate_success.
func TestPyOnPredicateSuccess(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		var rec rtRec[bool]
		calls := 0
		v, err := r.run(t.Context(), func(context.Context) (bool, error) {
			calls++
			return calls == 3, nil
		}, rec.with(backoff.NoWait{}, backoff.RetryOnValue(func(v bool) bool { return !v }))...)
		if !v || err != nil {
			t.Fatalf("got (%v, %v)", v, err)
		}
		rec.wantCounts(t, 2, 1, 0)
		for i, ev := range rec.backoffs {
			rtCheckEvent(t, fmt.Sprint("backoff ", i), ev, backoff.Event[bool]{
				Kind: backoff.EventBackoff, Tries: i + 1, Wait: 0, Value: false,
			})
		}
		rtCheckEvent(t, "success", rec.successes[0], backoff.Event[bool]{Kind: backoff.EventSuccess, Tries: 3, Value: true})
	})
}

// test_on_predicate_giveup: python's target returns None.
func TestPyOnPredicateGiveUp(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[*int]) {
		var rec rtRec[*int]
		v, err := r.run(t.Context(), func(context.Context) (*int, error) {
			time.Sleep(time.Second)
			return nil, nil
		}, rec.with(backoff.NoWait{}, backoff.MaxTries(3), backoff.RetryOnValue(func(p *int) bool { return p == nil }))...)
		if v != nil {
			t.Fatalf("value %v, want nil", v)
		}
		ge := rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		if ge.Err != nil || ge.Elapsed != 3*time.Second {
			t.Fatalf("GiveUpError = %+v, want no last error and 3s elapsed", ge)
		}
		rec.wantCounts(t, 2, 0, 1)
		rtCheckEvent(t, "give-up", rec.giveUp[0], backoff.Event[*int]{
			Kind: backoff.EventGiveUp, Tries: 3, Elapsed: 3 * time.Second, Reason: backoff.ReasonMaxTries,
		})
	})
}

// test_on_predicate_iterable_handlers: three handlers of each kind run in
// the order given, each seeing every event.
func TestPyIterableHandlers(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		var log []string
		var opts []backoff.Option
		for i := 1; i <= 3; i++ {
			opts = append(opts,
				backoff.OnBackoff(func(ev backoff.Event[bool]) { log = append(log, fmt.Sprintf("b%d/%d", i, ev.Tries)) }),
				backoff.OnGiveUp(func(ev backoff.Event[bool]) { log = append(log, fmt.Sprintf("g%d/%d", i, ev.Tries)) }),
				backoff.OnSuccess(func(backoff.Event[bool]) { log = append(log, "s") }))
		}
		opts = append(opts, backoff.NoWait{}, backoff.MaxTries(3), backoff.RetryOnValue(func(v bool) bool { return !v }))
		_, err := r.run(t.Context(), func(context.Context) (bool, error) { return false, nil }, opts...)
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		want := "b1/1 b2/1 b3/1 b1/2 b2/2 b3/2 g1/3 g2/3 g3/3"
		if got := strings.Join(log, " "); got != want {
			t.Fatalf("handler calls %q, want %q", got, want)
		}
	})
}

// test_on_exception_success_0_arg_jitter / test_on_predicate_success_0_arg_jitter,
// in their v3 form (jitter=lambda value: 0.0): a custom Jitter's result is
// the wait.
func TestPyCustomJitter(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		var rec rtRec[bool]
		var seen []time.Duration
		zero := backoff.Jitter(func(d time.Duration) time.Duration { seen = append(seen, d); return 0 })
		calls := 0
		start := time.Now()
		v, err := r.run(t.Context(), func(context.Context) (bool, error) {
			calls++
			if calls < 3 {
				return false, errRtValue
			}
			return true, nil
		}, rec.with(backoff.Constant{Interval: time.Second}, zero)...)
		if !v || err != nil {
			t.Fatalf("got (%v, %v)", v, err)
		}
		rtEqualWaits(t, rec.waits(), []time.Duration{0, 0})
		rtEqualWaits(t, seen, rtSecs(1, 1))
		if el := time.Since(start); el != 0 {
			t.Fatalf("took %v, want 0", el)
		}
	})
}

// test_on_exception_callable_max_tries_reads_every_time, and what Wrap
// promises: each call of a Wrap function has its own tries and strategy
// state (StrategyFunc sees n start again at 1).
func TestPyFreshStatePerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ns []int
		strategy := backoff.StrategyFunc(func(n int, prev time.Duration) (time.Duration, bool) {
			ns = append(ns, n)
			return time.Duration(n) * time.Second, true
		})
		calls := 0
		f := backoff.Wrap(func(context.Context) (int, error) { calls++; return 0, errRtBoom },
			backoff.MaxTries(3), strategy, backoff.NoJitter)
		for i := range 2 {
			calls = 0
			start := time.Now()
			_, err := f(t.Context())
			rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
			if calls != 3 || time.Since(start) != 3*time.Second {
				t.Fatalf("call %d: %d op calls in %v, want 3 in 3s", i, calls, time.Since(start))
			}
		}
		if !reflect.DeepEqual(ns, []int{1, 2, 1, 2}) {
			t.Fatalf("strategy saw n = %v, want [1 2 1 2]", ns)
		}
	})
}

// test_on_exception_in_thread / test_on_predicate_in_thread: a Wrap
// function used from many goroutines at once; each call keeps its own count.
func TestPyConcurrentGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type key struct{}
		f := backoff.Wrap(func(ctx context.Context) (int, error) {
			n := ctx.Value(key{}).(*int)
			*n++
			if *n < 3 {
				return 0, errRtBoom
			}
			return *n, nil
		}, backoff.Constant{Interval: time.Second})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				n := 0
				v, err := f(context.WithValue(t.Context(), key{}, &n))
				if v != 3 || err != nil {
					t.Errorf("got (%v, %v), want (3, nil)", v, err)
				}
			})
		}
		wg.Wait()
	})
}

// test_on_predicate_constant_iterable: interval=[1,2,3,6,9], jitter=None.
func TestPyOnPredicateConstantIterable(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[bool]) {
		for _, raise := range []bool{true, false} {
			var rec rtRec[bool]
			v, err := r.run(t.Context(), func(context.Context) (bool, error) { return false, nil },
				rec.with(backoff.Intervals(rtSecs(1, 2, 3, 6, 9)), backoff.NoJitter, backoff.ErrorOnGiveUp(raise),
					backoff.RetryOnValue(func(v bool) bool { return !v }))...)
			if v {
				t.Fatal("value true, want false")
			}
			if raise {
				rtWantGiveUp(t, err, backoff.ReasonExhausted, 6)
			} else if err != nil {
				t.Fatalf("err = %v, want nil with ErrorOnGiveUp(false)", err)
			}
			rtEqualWaits(t, rec.waits(), rtSecs(1, 2, 3, 6, 9))
			rec.wantCounts(t, 5, 0, 1)
			if rec.giveUp[0].Reason != backoff.ReasonExhausted {
				t.Fatalf("give-up reason %v", rec.giveUp[0].Reason)
			}
		}
	})
}

// test_max_time: for op runtimes and MaxTime 0..9s, with Constant 1s and
// no jitter, the call ends between maxTime and maxTime + runtime. The
// exception half retries every error; the predicate half (predicate
// always false) never retries.
func TestPyMaxTime(t *testing.T) {
	for rt := range 10 {
		for mt := range 10 {
			runtime, maxTime := time.Duration(rt)*time.Second, time.Duration(mt)*time.Second
			t.Run(fmt.Sprintf("runtime=%d/max=%d", rt, mt), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					op := func(context.Context) (int, error) { time.Sleep(runtime); return 0, errRtBoom }
					start := time.Now()
					_, err := backoff.Retry(t.Context(), op, backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTime(maxTime))
					total := time.Since(start)
					if total > maxTime+runtime || total < maxTime {
						t.Fatalf("exception: took %v, want in [%v, %v]", total, maxTime, maxTime+runtime)
					}
					rtWantGiveUp(t, err, backoff.ReasonMaxTime, -1)

					start = time.Now()
					calls := 0
					_, err = backoff.Retry(t.Context(), func(context.Context) (int, error) { calls++; time.Sleep(runtime); return 0, nil },
						backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTime(maxTime),
						backoff.RetryOnValue(func(int) bool { return false }))
					if total = time.Since(start); err != nil || calls != 1 || total != runtime {
						t.Fatalf("predicate: err %v, %d calls in %v; want nil, 1 call in %v", err, calls, total, runtime)
					}
				})
			})
		}
	}
}

// ---------------------------------------------------------------------
// Port of python-backoff tests/test_integration.py: 429 responses with
// Retry-After 1, 3, 7, then 200. The runtime wait generator becomes
// Runtime + ParseRetryAfter; the waits are exactly [1, 3, 7] although the
// default jitter is on (README, Semantics: "Server-given waits").
// ---------------------------------------------------------------------

type rtHTTPError struct{ resp *http.Response }

func (e *rtHTTPError) Error() string { return e.resp.Status }

// rtServer answers 429 with the given Retry-After values, then 200.
func rtServer(retryAfter ...string) (calls *int, get func() *http.Response) {
	calls = new(int)
	return calls, func() *http.Response {
		*calls++
		if *calls <= len(retryAfter) {
			return &http.Response{StatusCode: 429, Status: "429 Too Many Requests",
				Header: http.Header{"Retry-After": {retryAfter[*calls-1]}}}
		}
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}}
	}
}

func rtRetryAfter(resp *http.Response, err error) (time.Duration, bool) {
	if he := (*rtHTTPError)(nil); errors.As(err, &he) {
		resp = he.resp
	}
	if resp == nil {
		return 0, false
	}
	d, perr := backoff.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return d, perr == nil
}

func TestPyIntegrationRuntime(t *testing.T) {
	t.Run("predicate", func(t *testing.T) {
		rtEach(t, func(t *testing.T, r rtRunner[*http.Response]) {
			var rec rtRec[*http.Response]
			calls, get := rtServer("1", "3", "7")
			start := time.Now()
			resp, err := r.run(t.Context(), func(context.Context) (*http.Response, error) { return get(), nil },
				rec.with(backoff.Runtime(rtRetryAfter),
					backoff.RetryOnValue(func(r *http.Response) bool { return r.StatusCode == 429 }))...)
			if err != nil || resp.StatusCode != 200 || *calls != 4 {
				t.Fatalf("got (%v, %v) after %d calls", resp, err, *calls)
			}
			rtEqualWaits(t, rec.waits(), rtSecs(1, 3, 7))
			if el := time.Since(start); el != 11*time.Second {
				t.Fatalf("took %v, want 11s", el)
			}
		})
	})
	t.Run("exception", func(t *testing.T) {
		rtEach(t, func(t *testing.T, r rtRunner[*http.Response]) {
			var rec rtRec[*http.Response]
			calls, get := rtServer("1", "3", "7")
			resp, err := r.run(t.Context(), func(context.Context) (*http.Response, error) {
				resp := get()
				if resp.StatusCode != 200 {
					return nil, &rtHTTPError{resp}
				}
				return resp, nil
			}, rec.with(backoff.Runtime(rtRetryAfter), backoff.RetryOnType[*rtHTTPError]())...)
			if err != nil || resp.StatusCode != 200 || *calls != 4 {
				t.Fatalf("got (%v, %v) after %d calls", resp, err, *calls)
			}
			rtEqualWaits(t, rec.waits(), rtSecs(1, 3, 7))
		})
	})
	t.Run("http-date", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec rtRec[*http.Response]
			// synctest's clock starts on a whole second, so the date is exact.
			_, get := rtServer(time.Now().Add(7 * time.Second).UTC().Format(http.TimeFormat))
			_, err := backoff.Retry(t.Context(), func(context.Context) (*http.Response, error) { return get(), nil },
				rec.with(backoff.Runtime(rtRetryAfter),
					backoff.RetryOnValue(func(r *http.Response) bool { return r.StatusCode == 429 }))...)
			if err != nil {
				t.Fatal(err)
			}
			rtEqualWaits(t, rec.waits(), rtSecs(7))
		})
	})
}

// ---------------------------------------------------------------------
// The README's Semantics, through Retry and Wrap.
// ---------------------------------------------------------------------

// python-backoff's max_time trims the last wait (README, Semantics:
// "Elapsed and MaxTime"): expo, no jitter, each call 0.5s, max_time=10 →
// sleeps 1, 2, 4, 1.0, give-up after try 5 at t=10.5.
func TestRetryMaxTimeTrimsLastWait(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		start := time.Now()
		_, err := r.run(t.Context(), func(context.Context) (int, error) { time.Sleep(500 * time.Millisecond); return 0, errRtBoom },
			rec.with(backoff.Expo{}, backoff.NoJitter, backoff.MaxTime(10*time.Second))...)
		ge := rtWantGiveUp(t, err, backoff.ReasonMaxTime, 5)
		rtEqualWaits(t, rec.waits(), rtSecs(1, 2, 4, 1))
		if el := time.Since(start); el != 10500*time.Millisecond || ge.Elapsed != el {
			t.Fatalf("took %v (GiveUpError.Elapsed %v), want 10.5s", el, ge.Elapsed)
		}
		if rec.backoffs[3].Elapsed != 9*time.Second {
			t.Fatalf("trimmed backoff at %v, want 9s", rec.backoffs[3].Elapsed)
		}
	})
}

// MaxTimeStrict gives up instead of trimming: after try 4 (t=9s) the next
// wait (8s) would pass 10s.
func TestRetryMaxTimeStrict(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		start := time.Now()
		_, err := r.run(t.Context(), func(context.Context) (int, error) { time.Sleep(500 * time.Millisecond); return 0, errRtBoom },
			rec.with(backoff.Expo{}, backoff.NoJitter, backoff.MaxTimeStrict(10*time.Second))...)
		rtWantGiveUp(t, err, backoff.ReasonMaxTime, 4)
		rtEqualWaits(t, rec.waits(), rtSecs(1, 2, 4))
		if el := time.Since(start); el != 9*time.Second {
			t.Fatalf("took %v, want 9s", el)
		}
	})
}

// MaxTime(0) is exactly one attempt, even with a wait (README, Semantics:
// "Elapsed and MaxTime").
func TestRetryMaxTimeZero(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) { calls++; return 0, errRtBoom },
			backoff.NoWait{}, backoff.MaxTime(0), backoff.InitialDelay(time.Second))
		rtWantGiveUp(t, err, backoff.ReasonMaxTime, 1)
		if calls != 1 {
			t.Fatalf("%d calls, want 1", calls)
		}
	})
}

// Jitter comes after the cap: FullJitter stays in [0, Max], RandomJitter
// in [capped wait, capped wait + 1s) (README, Semantics: "Order per failed
// attempt").
func TestRetryJitterAfterCap(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		for _, c := range []struct {
			name   string
			j      backoff.Jitter
			lo, hi func(capped time.Duration) time.Duration
		}{
			{"full", backoff.FullJitter, func(time.Duration) time.Duration { return 0 }, func(c time.Duration) time.Duration { return c }},
			{"random", backoff.RandomJitter, func(c time.Duration) time.Duration { return c }, func(c time.Duration) time.Duration { return c + time.Second - 1 }},
		} {
			var rec rtRec[int]
			_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
				rec.with(backoff.Expo{Max: 4 * time.Second}, c.j, backoff.MaxTries(40))...)
			rtWantGiveUp(t, err, backoff.ReasonMaxTries, 40)
			for i, w := range rec.waits() {
				capped := 4 * time.Second
				if i < 2 {
					capped = time.Second << i
				}
				if w < c.lo(capped) || w > c.hi(capped) {
					t.Fatalf("%s: wait %d = %v, want in [%v, %v]", c.name, i, w, c.lo(capped), c.hi(capped))
				}
			}
		}
	})
}

// A wait that would end past the context deadline ends the job at once
// with ReasonContext (README, Semantics: "Context deadlines").
func TestRetryContextDeadline(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		var rec rtRec[int]
		calls := 0
		start := time.Now()
		_, err := r.run(ctx, func(context.Context) (int, error) { calls++; return 0, errRtBoom },
			rec.with(backoff.Constant{Interval: 2 * time.Second}, backoff.NoJitter)...)
		if el := time.Since(start); el != 4*time.Second || calls != 3 {
			t.Fatalf("%d calls in %v, want 3 in 4s (no useless wait to the deadline)", calls, el)
		}
		rtWantGiveUp(t, err, backoff.ReasonContext, 3)
		if !errors.Is(err, errRtBoom) {
			t.Fatalf("err = %v, want it to wrap the last op error", err)
		}
		rec.wantCounts(t, 2, 0, 1)
	})
}

// Cancelling the context during a wait returns at once (README, Semantics:
// "Context deadlines").
func TestRetryCancelDuringWait(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(3*time.Second, cancel)
		var rec rtRec[int]
		calls := 0
		start := time.Now()
		v, err := r.run(ctx, func(context.Context) (int, error) { calls++; return 9, errRtBoom },
			rec.with(backoff.Constant{Interval: time.Hour}, backoff.NoJitter)...)
		if el := time.Since(start); el != 3*time.Second || calls != 1 {
			t.Fatalf("%d calls in %v, want 1 in 3s", calls, el)
		}
		if v != 9 {
			t.Fatalf("value %v, want the last value 9", v)
		}
		rtWantGiveUp(t, err, backoff.ReasonContext, 1)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errRtBoom) {
			t.Fatalf("err = %v, want it to wrap context.Canceled and the op error", err)
		}
		rec.wantCounts(t, 1, 0, 1)
		if rec.giveUp[0].Elapsed != 3*time.Second {
			t.Fatalf("give-up Elapsed %v, want 3s (measured at the stop)", rec.giveUp[0].Elapsed)
		}
	})
}

// An op error after the job context ended is the context's doing.
func TestRetryContextEndsDuringAttempt(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		ctx, cancel := context.WithCancel(t.Context())
		var rec rtRec[int]
		calls := 0
		_, err := r.run(ctx, func(ctx context.Context) (int, error) {
			calls++
			cancel()
			return 0, ctx.Err()
		}, rec.with(backoff.NoWait{}, backoff.MaxTries(1))...)
		// Not ReasonMaxTries, and no OnBackoff: the context ended the job.
		rtWantGiveUp(t, err, backoff.ReasonContext, 1)
		if calls != 1 || !errors.Is(err, context.Canceled) {
			t.Fatalf("%d calls, err %v", calls, err)
		}
		rec.wantCounts(t, 0, 0, 1)
	})
}

func TestRetryPermanent(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) {
			calls++
			return 0, fmt.Errorf("ctx: %w", backoff.Permanent(errRtKey))
		}, rec.with(backoff.NoWait{}, backoff.RetryOn(errRtKey))...)
		rtWantGiveUp(t, err, backoff.ReasonPermanent, 1)
		if calls != 1 || !errors.Is(err, errRtKey) {
			t.Fatalf("%d calls, err %v", calls, err)
		}
		rec.wantCounts(t, 0, 0, 1)
	})
	if backoff.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
}

// An unmatched error gives up (python propagates it without handlers) and
// OnGiveUp runs (README, Semantics: "Give-ups").
func TestRetryNotRetryable(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) { calls++; return 0, errRtKey },
			rec.with(backoff.NoWait{}, backoff.RetryOn(errRtValue))...)
		rtWantGiveUp(t, err, backoff.ReasonNotRetryable, 1)
		if calls != 1 || !errors.Is(err, errRtKey) {
			t.Fatalf("%d calls, err %v", calls, err)
		}
		rec.wantCounts(t, 0, 0, 1)
		rtCheckEvent(t, "give-up", rec.giveUp[0], backoff.Event[int]{
			Kind: backoff.EventGiveUp, Tries: 1, Reason: backoff.ReasonNotRetryable, Err: errRtKey,
		})
	})
}

type rtMyErr struct{ code int }

func (e *rtMyErr) Error() string { return fmt.Sprint("code ", e.code) }

func TestRetryOnType(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		errs := []error{&rtMyErr{1}, fmt.Errorf("wrapped: %w", &rtMyErr{2}), errRtKey}
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) { calls++; return 0, errs[calls-1] },
			backoff.NoWait{}, backoff.RetryOnType[*rtMyErr]())
		rtWantGiveUp(t, err, backoff.ReasonNotRetryable, 3)
		if calls != 3 {
			t.Fatalf("%d calls, want 3", calls)
		}
		// RetryOnType and RetryOn combine with "or".
		calls = 0
		_, err = r.run(t.Context(), func(context.Context) (int, error) { calls++; return 0, errs[calls-1] },
			backoff.NoWait{}, backoff.RetryOnType[*rtMyErr](), backoff.RetryOn(errRtKey), backoff.MaxTries(3))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
	})
}

// With a value predicate and no error filter, errors still retry (README,
// Semantics: "Error and value conditions").
func TestRetryOnValueAlsoRetriesErrors(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		results := []struct {
			v   int
			err error
		}{{0, errRtBoom}, {0, nil}, {0, errRtKey}, {5, nil}}
		calls := 0
		v, err := r.run(t.Context(), func(context.Context) (int, error) {
			calls++
			return results[calls-1].v, results[calls-1].err
		}, backoff.NoWait{}, backoff.RetryOnValue(func(v int) bool { return v == 0 }))
		if v != 5 || err != nil || calls != 4 {
			t.Fatalf("got (%v, %v) after %d calls, want (5, nil) after 4", v, err, calls)
		}
		// With an error filter, an unmatched error still gives up.
		calls = 0
		_, err = r.run(t.Context(), func(context.Context) (int, error) {
			calls++
			return results[calls-1].v, results[calls-1].err
		}, backoff.NoWait{}, backoff.RetryOnValue(func(v int) bool { return v == 0 }), backoff.RetryOn(errRtBoom))
		rtWantGiveUp(t, err, backoff.ReasonNotRetryable, 3)
	})
}

// GiveUp is asked for errors only, not for a rejected value, and before
// MaxTries.
func TestRetryGiveUpOrder(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			backoff.NoWait{}, backoff.MaxTries(1), backoff.GiveUp(func(error) bool { return true }))
		rtWantGiveUp(t, err, backoff.ReasonGiveUp, 1)

		asked := 0
		_, err = r.run(t.Context(), func(context.Context) (int, error) { return 0, nil },
			backoff.NoWait{}, backoff.MaxTries(3), backoff.RetryOnValue(func(int) bool { return true }),
			backoff.GiveUp(func(error) bool { asked++; return true }))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		if asked != 0 {
			t.Fatalf("GiveUp asked %d times for values", asked)
		}
	})
}

// A panicking op ends the job with ReasonPanic; the process survives.
func TestRetryOpPanics(t *testing.T) {
	for _, r := range rtRunners[int]()[:2] { // an Attempts body's panic is not caught, by design
		t.Run(r.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec rtRec[int]
				calls := 0
				_, err := r.run(t.Context(), func(context.Context) (int, error) {
					calls++
					if calls == 2 {
						panic(errRtValue)
					}
					return 0, errRtBoom
				}, rec.with(backoff.NoWait{})...)
				ge := rtWantGiveUp(t, err, backoff.ReasonPanic, 2)
				var pe *backoff.PanicError
				if !errors.As(err, &pe) || pe.Value != errRtValue || len(pe.Stack) == 0 { //nolint:errorlint // the panic value itself
					t.Fatalf("err = %v, want a *PanicError with the value and a stack", err)
				}
				if !errors.Is(err, errRtValue) || calls != 2 {
					t.Fatalf("err %v, %d calls", err, calls)
				}
				if ge.Cause != pe { //nolint:errorlint // the very same value
					t.Fatalf("Cause = %v, want the *PanicError", ge.Cause)
				}
				rec.wantCounts(t, 1, 0, 1)
			})
		})
	}
}

// A panic in OnBackoff ends the job, with no further attempt (README,
// Semantics: "Panics").
func TestRetryOnBackoffPanics(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) { calls++; return 0, errRtBoom },
			rec.with(backoff.NoWait{}, backoff.OnBackoff(func(backoff.Event[int]) { panic("handler") }))...)
		rtWantGiveUp(t, err, backoff.ReasonPanic, 1)
		var pe *backoff.PanicError
		if !errors.As(err, &pe) || pe.Value != "handler" {
			t.Fatalf("err = %v, want a *PanicError", err)
		}
		if calls != 1 || !errors.Is(err, errRtBoom) {
			t.Fatalf("%d calls, err %v", calls, err)
		}
		rec.wantCounts(t, 1, 0, 1)
	})
}

// A panic in OnSuccess or OnGiveUp leaves the outcome as it was, and later
// handlers still run (README, Semantics: "Panics").
func TestRetryOutcomeHandlerPanics(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		after := 0
		v, err := r.run(t.Context(), func(context.Context) (int, error) { return 4, nil },
			backoff.OnSuccess(func(backoff.Event[int]) { panic("s") }),
			backoff.OnSuccess(func(backoff.Event[int]) { after++ }))
		if v != 4 || err != nil || after != 1 {
			t.Fatalf("success: got (%v, %v), later handler ran %d times", v, err, after)
		}
		v, err = r.run(t.Context(), func(context.Context) (int, error) { return 3, errRtBoom },
			backoff.NoWait{}, backoff.MaxTries(2),
			backoff.OnGiveUp(func(backoff.Event[int]) { panic("g") }),
			backoff.OnGiveUp(func(backoff.Event[int]) { after++ }))
		if v != 3 || after != 2 {
			t.Fatalf("give-up: value %v, later handler ran %d times", v, after-1)
		}
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 2)
	})
}

// AttemptTimeout: the op sees a deadline; the attempt's ctx.Err is retried.
func TestRetryAttemptTimeout(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		calls := 0
		start := time.Now()
		_, err := r.run(t.Context(), func(ctx context.Context) (int, error) {
			calls++
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) != 2*time.Second {
				t.Errorf("attempt %d: deadline %v (%v), want 2s from now", calls, dl, ok)
			}
			<-ctx.Done()
			if calls == 3 {
				return 1, nil
			}
			return 0, ctx.Err()
		}, backoff.NoWait{}, backoff.AttemptTimeout(2*time.Second))
		if err != nil || calls != 3 {
			t.Fatalf("err %v after %d calls", err, calls)
		}
		if el := time.Since(start); el != 6*time.Second {
			t.Fatalf("took %v, want 6s", el)
		}
		_, err = r.run(t.Context(), func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() },
			backoff.NoWait{}, backoff.AttemptTimeout(time.Second), backoff.MaxTries(2))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 2)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want it to wrap DeadlineExceeded", err)
		}
	})
}

// InitialDelay and StartJitter are not in Elapsed, nor in MaxTime (README,
// Semantics: "Elapsed and MaxTime").
func TestRetryInitialDelayNotInElapsed(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		start := time.Now()
		_, err := r.run(t.Context(), func(context.Context) (int, error) { time.Sleep(time.Second); return 0, errRtBoom },
			rec.with(backoff.NoWait{}, backoff.MaxTime(2*time.Second), backoff.InitialDelay(5*time.Second), backoff.StartJitter(3*time.Second))...)
		total := time.Since(start)
		ge := rtWantGiveUp(t, err, backoff.ReasonMaxTime, 2)
		if ge.Elapsed != 2*time.Second || rec.backoffs[0].Elapsed != time.Second {
			t.Fatalf("Elapsed %v / %v, want 1s and 2s", rec.backoffs[0].Elapsed, ge.Elapsed)
		}
		if total < 7*time.Second || total >= 10*time.Second {
			t.Fatalf("took %v, want 7s + [0, 3s)", total)
		}
	})
}

// A context that ends during InitialDelay gives up before any attempt.
func TestRetryCancelDuringInitialDelay(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		var rec rtRec[int]
		calls := 0
		start := time.Now()
		_, err := r.run(ctx, func(context.Context) (int, error) { calls++; return 0, nil },
			rec.with(backoff.InitialDelay(time.Hour))...)
		rtWantGiveUp(t, err, backoff.ReasonContext, 0)
		if calls != 0 || time.Since(start) != time.Second || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%d calls, took %v, err %v", calls, time.Since(start), err)
		}
		rec.wantCounts(t, 0, 0, 1)
	})
}

// Decorrelated is random by itself: no second jitter pulls waits below Base.
func TestRetryDecorrelatedNotDoubleJittered(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			rec.with(backoff.Decorrelated{Base: time.Second, Max: 10 * time.Second}, backoff.MaxTries(50))...)
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 50)
		for i, w := range rec.waits() {
			if w < time.Second || w > 10*time.Second {
				t.Fatalf("wait %d = %v, want in [1s, 10s]", i, w)
			}
		}
	})
}

// Runtime waits are not jittered; MaxWait caps them; a false second result
// falls back to the strategy, whose waits are jittered as usual (README,
// Semantics: "Server-given waits").
func TestRetryRuntimeMaxWait(t *testing.T) {
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		var rec rtRec[int]
		_, err := r.run(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
			rec.with(backoff.Constant{Interval: 2 * time.Second}, backoff.Runtime(func(v int, err error) (time.Duration, bool) {
				return 100 * time.Second, len(rec.backoffs)%2 == 0
			}), backoff.MaxWait(5*time.Second), backoff.MaxTries(41))...)
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 41)
		waits := rec.waits()
		fallback := map[time.Duration]bool{}
		for i, w := range waits {
			if i%2 == 0 && w != 5*time.Second {
				t.Fatalf("wait %d = %v: a Runtime wait, want exactly 5s (capped, not jittered)", i, w)
			}
			if i%2 == 1 {
				if w < 0 || w > 2*time.Second {
					t.Fatalf("wait %d = %v: a fallback wait, want full jitter in [0, 2s]", i, w)
				}
				fallback[w] = true
			}
		}
		if len(fallback) < 10 {
			t.Fatalf("20 fallback waits took %d values: not jittered", len(fallback))
		}
	})
}

func TestWrapBadOptions(t *testing.T) {
	calls := 0
	f := backoff.Wrap(func(context.Context) (int, error) { calls++; return 1, nil }, backoff.MaxTries(0))
	for range 3 {
		v, err := f(t.Context())
		if v != 0 || err == nil || !strings.Contains(err.Error(), "MaxTries") {
			t.Fatalf("got (%v, %v), want the MaxTries error", v, err)
		}
	}
	if calls != 0 {
		t.Fatalf("op called %d times", calls)
	}
	g := backoff.Wrap[int](nil)
	if _, err := g(t.Context()); err == nil || !strings.Contains(err.Error(), "op is nil") {
		t.Fatalf("nil op: err %v", err)
	}
	var nilCtx context.Context
	h := backoff.Wrap(func(context.Context) (int, error) { calls++; return 1, nil })
	if _, err := h(nilCtx); err == nil || calls != 0 {
		t.Fatalf("nil ctx: err %v, %d calls", err, calls)
	}
}

// A Policy is a reusable option; options beside it apply on top of it, and
// adding handlers does not change the Policy.
func TestRetryPolicyReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n []int
		pol, err := backoff.NewPolicy[int](backoff.NoWait{}, backoff.MaxTries(5),
			backoff.OnBackoff(func(ev backoff.Event[int]) { n = append(n, 1) }))
		if err != nil {
			t.Fatal(err)
		}
		op := func(context.Context) (int, error) { return 0, errRtBoom }
		_, err = backoff.Retry(t.Context(), op, pol)
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 5)
		_, err = backoff.Retry(t.Context(), op, pol, backoff.MaxTries(2),
			backoff.OnBackoff(func(ev backoff.Event[int]) { n = append(n, 2) }))
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 2)
		_, err = backoff.Retry(t.Context(), op, pol)
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 5)
		want := []int{1, 1, 1, 1, 1, 2, 1, 1, 1, 1}
		if !reflect.DeepEqual(n, want) {
			t.Fatalf("handler calls %v, want %v", n, want)
		}
		// A Policy for another value type is checked like any option.
		if _, err := backoff.Retry(t.Context(), func(context.Context) (string, error) { return "", nil }, pol); err == nil ||
			!strings.Contains(err.Error(), "OnBackoff") {
			t.Fatalf("Policy[int] for a string op: err %v", err)
		}
	})
}

// ---------------------------------------------------------------------
// clock.Mock inside a synctest bubble, driven from the test goroutine.
// ---------------------------------------------------------------------

type rtResult[T any] struct {
	v   T
	err error
}

func rtGo[T any](f func() (T, error)) <-chan rtResult[T] {
	ch := make(chan rtResult[T], 1)
	go func() {
		v, err := f()
		ch <- rtResult[T]{v, err}
	}()
	return ch
}

func TestRetryMockClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := clock.NewMock()
		var rec rtRec[int]
		var mu sync.Mutex
		calls := 0
		done := rtGo(func() (int, error) {
			return backoff.Retry(t.Context(), func(context.Context) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				return calls, errRtBoom
			}, rec.with(backoff.WithClock(m), backoff.Constant{Interval: 2 * time.Second}, backoff.NoJitter, backoff.MaxTries(3))...)
		})
		wantCalls := func(n int) {
			t.Helper()
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			if calls != n {
				t.Fatalf("%d calls, want %d", calls, n)
			}
		}
		wantCalls(1)
		m.Add(time.Second)
		wantCalls(1) // the wait is on the mock clock, not yet over
		m.Add(time.Second)
		wantCalls(2)
		m.Add(2 * time.Second)
		wantCalls(3)
		res := <-done
		if res.v != 3 {
			t.Fatalf("value %v, want 3", res.v)
		}
		ge := rtWantGiveUp(t, res.err, backoff.ReasonMaxTries, 3)
		if ge.Elapsed != 4*time.Second {
			t.Fatalf("Elapsed %v, want 4s on the mock clock", ge.Elapsed)
		}
		if rec.backoffs[1].Elapsed != 2*time.Second || rec.backoffs[1].Wait != 2*time.Second {
			t.Fatalf("second backoff %+v", rec.backoffs[1])
		}
	})
}

// MaxTime runs on the injected clock: waits 1, 2, 4, then the 8s wait is
// trimmed to the 3s left.
func TestRetryMockClockMaxTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := clock.NewMock()
		var rec rtRec[int]
		done := rtGo(func() (int, error) {
			return backoff.Retry(t.Context(), func(context.Context) (int, error) { return 0, errRtBoom },
				rec.with(backoff.WithClock(m), backoff.Expo{}, backoff.NoJitter, backoff.MaxTime(10*time.Second))...)
		})
		for i := 0; ; i++ {
			synctest.Wait()
			select {
			case res := <-done:
				rtWantGiveUp(t, res.err, backoff.ReasonMaxTime, 5)
				rtEqualWaits(t, rec.waits(), rtSecs(1, 2, 4, 3))
				if !m.Now().Equal(time.Unix(10, 0)) {
					t.Fatalf("mock clock at %v, want 10s", m.Now())
				}
				return
			default:
			}
			if i > 20 {
				t.Fatal("Retry did not end")
			}
			m.Add(time.Second)
		}
	})
}

// Cancel during a mock-clock wait returns without the mock moving.
func TestRetryMockClockCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := clock.NewMock()
		ctx, cancel := context.WithCancel(t.Context())
		done := rtGo(func() (int, error) {
			return backoff.Retry(ctx, func(context.Context) (int, error) { return 0, errRtBoom },
				backoff.WithClock(m), backoff.Constant{Interval: time.Hour})
		})
		synctest.Wait()
		start := time.Now()
		cancel()
		res := <-done
		if time.Since(start) != 0 {
			t.Fatalf("took %v after cancel", time.Since(start))
		}
		rtWantGiveUp(t, res.err, backoff.ReasonContext, 1)
		if !errors.Is(res.err, context.Canceled) || !errors.Is(res.err, errRtBoom) {
			t.Fatalf("err %v", res.err)
		}
	})
}

// AttemptTimeout runs on the injected clock.
func TestRetryMockClockAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := clock.NewMock()
		var mu sync.Mutex
		calls := 0
		done := rtGo(func() (int, error) {
			return backoff.Retry(t.Context(), func(ctx context.Context) (int, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				if dl, ok := ctx.Deadline(); !ok || dl.Sub(m.Now()) != 5*time.Second {
					t.Errorf("deadline %v (%v), want mock now + 5s", dl, ok)
				}
				<-ctx.Done()
				return 0, ctx.Err()
			}, backoff.WithClock(m), backoff.NoWait{}, backoff.AttemptTimeout(5*time.Second), backoff.MaxTries(2))
		})
		for want := 1; want <= 2; want++ {
			synctest.Wait()
			mu.Lock()
			if calls != want {
				t.Fatalf("%d calls, want %d", calls, want)
			}
			mu.Unlock()
			m.Add(5 * time.Second)
		}
		res := <-done
		ge := rtWantGiveUp(t, res.err, backoff.ReasonMaxTries, 2)
		if !errors.Is(res.err, context.DeadlineExceeded) || ge.Elapsed != 10*time.Second {
			t.Fatalf("err %v, Elapsed %v", res.err, ge.Elapsed)
		}
	})
}
