package backoff_test

// Table tests straight on backoff.Decide, the pure retry decision.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backoff-go/backoff"
)

func TestDecide(t *testing.T) {
	always := func(error) bool { return true }
	const s = time.Second
	nojit := []backoff.Option{backoff.NoJitter}
	with := func(opts ...backoff.Option) []backoff.Option {
		return append(append([]backoff.Option(nil), nojit...), opts...)
	}
	cases := []struct {
		name string
		opts []backoff.Option
		st   backoff.State
		out  backoff.Outcome[int]
		want backoff.Decision
	}{
		{"success", with(), backoff.State{Tries: 1}, backoff.Outcome[int]{Value: 1}, backoff.Decision{}},
		{"success even at MaxTries", with(backoff.MaxTries(1)), backoff.State{Tries: 1}, backoff.Outcome[int]{}, backoff.Decision{}},
		{"value accepted", with(backoff.RetryOnValue(func(v int) bool { return v == 0 })), backoff.State{Tries: 1},
			backoff.Outcome[int]{Value: 2}, backoff.Decision{}},
		{"value rejected", with(backoff.RetryOnValue(func(v int) bool { return v == 0 })), backoff.State{Tries: 1},
			backoff.Outcome[int]{Value: 0}, backoff.Decision{Retry: true, Wait: s}},
		{"value rejected, GiveUp not asked", with(backoff.RetryOnValue(func(v int) bool { return v == 0 }), backoff.GiveUp(always)),
			backoff.State{Tries: 1}, backoff.Outcome[int]{}, backoff.Decision{Retry: true, Wait: s}},
		{"value rejected at MaxTries", with(backoff.RetryOnValue(func(v int) bool { return v == 0 }), backoff.MaxTries(2)),
			backoff.State{Tries: 2}, backoff.Outcome[int]{}, backoff.Decision{Reason: backoff.ReasonMaxTries}},
		{"error, default Expo", with(), backoff.State{Tries: 3}, backoff.Outcome[int]{Err: errRtBoom},
			backoff.Decision{Retry: true, Wait: 4 * s}},

		// Order of checks: Permanent, retry conditions, GiveUp, MaxTries, MaxTime.
		{"Permanent before not retryable", with(backoff.RetryOn(errRtKey)), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: backoff.Permanent(errRtValue)}, backoff.Decision{Reason: backoff.ReasonPermanent}},
		{"Permanent wrapped", with(), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: fmt.Errorf("x: %w", backoff.Permanent(errRtValue))}, backoff.Decision{Reason: backoff.ReasonPermanent}},
		{"not retryable before GiveUp", with(backoff.RetryOn(errRtKey), backoff.GiveUp(always)), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: errRtValue}, backoff.Decision{Reason: backoff.ReasonNotRetryable}},
		{"retryable via second condition", with(backoff.RetryOn(errRtKey), backoff.RetryIf(func(err error) bool { return errors.Is(err, errRtValue) })),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtValue}, backoff.Decision{Retry: true, Wait: s}},
		{"GiveUp before MaxTries", with(backoff.GiveUp(always), backoff.MaxTries(1)), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonGiveUp}},
		{"second GiveUp predicate", with(backoff.GiveUp(func(error) bool { return false }), backoff.GiveUp(always)),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonGiveUp}},
		{"MaxTries before MaxTime", with(backoff.MaxTries(2), backoff.MaxTime(s)), backoff.State{Tries: 2, Elapsed: 5 * s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonMaxTries}},
		{"below MaxTries", with(backoff.MaxTries(3)), backoff.State{Tries: 2},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 2 * s}},
		{"MaxTime reached", with(backoff.MaxTries(3), backoff.MaxTime(s)), backoff.State{Tries: 1, Elapsed: s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonMaxTime}},
		{"MaxTime before exhausted", with(backoff.Intervals{}, backoff.MaxTime(s)), backoff.State{Tries: 1, Elapsed: s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonMaxTime}},
		{"MaxTime(0)", with(backoff.MaxTime(0)), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonMaxTime}},

		// Waits.
		{"trim to time left", with(backoff.Constant{Interval: 3 * s}, backoff.MaxTime(10*s)), backoff.State{Tries: 4, Elapsed: 9 * s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: s}},
		{"no trim when it fits", with(backoff.Constant{Interval: 3 * s}, backoff.MaxTime(10*s)), backoff.State{Tries: 1, Elapsed: 7 * s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 3 * s}},
		{"strict gives up", with(backoff.Constant{Interval: 3 * s}, backoff.MaxTimeStrict(10*s)), backoff.State{Tries: 4, Elapsed: 9 * s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonMaxTime}},
		{"strict, wait ends exactly at the limit", with(backoff.Constant{Interval: 3 * s}, backoff.MaxTimeStrict(10*s)),
			backoff.State{Tries: 1, Elapsed: 7 * s}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 3 * s}},
		{"MaxTime after MaxTimeStrict: trims", with(backoff.Constant{Interval: 3 * s}, backoff.MaxTimeStrict(10*s), backoff.MaxTime(10*s)),
			backoff.State{Tries: 4, Elapsed: 9 * s}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: s}},
		{"deadline leaves room", with(backoff.Constant{Interval: s}), backoff.State{Tries: 1, Left: 2 * s, HasDeadline: true},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: s}},
		{"wait reaches deadline", with(backoff.Constant{Interval: s}), backoff.State{Tries: 1, Left: s, HasDeadline: true},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonContext}},
		{"wait passes deadline", with(backoff.Constant{Interval: s}), backoff.State{Tries: 1, Left: s / 2, HasDeadline: true},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonContext}},
		{"Left ignored without HasDeadline", with(backoff.Constant{Interval: s}), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: s}},
		{"deadline checked after trim", with(backoff.Constant{Interval: 5 * s}, backoff.MaxTime(10*s)),
			backoff.State{Tries: 3, Elapsed: 9 * s, Left: 2 * s, HasDeadline: true},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: s}},
		{"MaxWait caps", with(backoff.Constant{Interval: 10 * s}, backoff.MaxWait(3*s)), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 3 * s}},
		{"MaxWait above wait", with(backoff.Constant{Interval: 2 * s}, backoff.MaxWait(3*s)), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 2 * s}},
		{"exhausted", with(backoff.Intervals{s}), backoff.State{Tries: 2, Prev: s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonExhausted}},
		{"empty Intervals", with(backoff.Intervals{}), backoff.State{Tries: 1},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Reason: backoff.ReasonExhausted}},
		{"Intervals in order", with(backoff.Intervals{s, 7 * s}), backoff.State{Tries: 2, Prev: s},
			backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 7 * s}},
		{"negative StrategyFunc wait is 0", with(backoff.StrategyFunc(func(int, time.Duration) (time.Duration, bool) { return -s, true })),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 0}},
		{"Runtime wait", with(backoff.Runtime(func(v int, err error) (time.Duration, bool) { return time.Duration(v) * s, true })),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Value: 6, Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 6 * s}},
		{"Runtime declines: strategy", with(backoff.Constant{Interval: 2 * s}, backoff.NoJitter, backoff.Runtime(func(int, error) (time.Duration, bool) { return 9 * s, false })),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 2 * s}},
		{"strategy after Runtime replaces it", with(backoff.Runtime(func(int, error) (time.Duration, bool) { return 9 * s, true }), backoff.Constant{Interval: 2 * s}),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 2 * s}},
		{"Runtime capped by MaxWait", with(backoff.Runtime(func(int, error) (time.Duration, bool) { return 9 * s, true }), backoff.MaxWait(4*s)),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 4 * s}},
		{"jitter replaced", with(backoff.Constant{Interval: 2 * s}, backoff.Jitter(func(d time.Duration) time.Duration { return d / 4 })),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: s / 2}},
		{"negative jitter result is 0", with(backoff.Jitter(func(time.Duration) time.Duration { return -s })),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 0}},
		{"jitter before trim", with(backoff.Constant{Interval: 2 * s}, backoff.Jitter(func(d time.Duration) time.Duration { return 10 * d }), backoff.MaxTime(10*s)),
			backoff.State{Tries: 1, Elapsed: 5 * s}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 5 * s}},
		{"cap before jitter", with(backoff.Constant{Interval: 8 * s}, backoff.MaxWait(2*s), backoff.Jitter(func(d time.Duration) time.Duration { return d + s })),
			backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom}, backoff.Decision{Retry: true, Wait: 3 * s}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := backoff.Decide(mustPolicy[int](t, c.opts...), c.st, c.out)
			if d != c.want {
				t.Fatalf("Decide = %+v, want %+v", d, c.want)
			}
			if d.Done() == d.Retry {
				t.Fatalf("Done() = %v with Retry %v", d.Done(), d.Retry)
			}
		})
	}
}

// Expo with NoJitter gives the exact sequence; Prev reaches the strategy.
func TestDecideNoJitterSequence(t *testing.T) {
	p := mustPolicy[int](t, backoff.NoJitter)
	var prev time.Duration
	for n, want := range rtSecs(1, 2, 4, 8, 16, 32) {
		d := backoff.Decide(p, backoff.State{Tries: n + 1, Prev: prev}, backoff.Outcome[int]{Err: errRtBoom})
		if !d.Retry || d.Wait != want {
			t.Fatalf("try %d: %+v, want wait %v", n+1, d, want)
		}
		prev = d.Wait
	}
	var got []time.Duration
	q := mustPolicy[int](t, backoff.StrategyFunc(func(n int, prev time.Duration) (time.Duration, bool) {
		got = append(got, prev)
		return 0, true
	}))
	backoff.Decide(q, backoff.State{Tries: 2, Prev: 3 * time.Second}, backoff.Outcome[int]{Err: errRtBoom})
	if len(got) != 1 || got[0] != 3*time.Second {
		t.Fatalf("strategy saw prev %v, want [3s]", got)
	}
}

// The default jitter is FullJitter: waits in [0, d] and not all equal; with
// the cap, within [0, Max]. Decorrelated gets no default jitter.
func TestDecideDefaultJitter(t *testing.T) {
	p := mustPolicy[int](t, backoff.Expo{Max: 4 * time.Second})
	seen := map[time.Duration]bool{}
	for range 500 {
		d := backoff.Decide(p, backoff.State{Tries: 10}, backoff.Outcome[int]{Err: errRtBoom})
		if !d.Retry || d.Wait < 0 || d.Wait > 4*time.Second {
			t.Fatalf("%+v, want a wait in [0, 4s]", d)
		}
		seen[d.Wait] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct waits in 500: not jittered?", len(seen))
	}
	q := mustPolicy[int](t, backoff.Decorrelated{Base: time.Second, Max: 3 * time.Second})
	for range 500 {
		d := backoff.Decide(q, backoff.State{Tries: 5, Prev: 3 * time.Second}, backoff.Outcome[int]{Err: errRtBoom})
		if d.Wait < time.Second || d.Wait > 3*time.Second {
			t.Fatalf("Decorrelated wait %v, want in [1s, 3s]", d.Wait)
		}
	}
}

// A panic in a user predicate propagates from Decide (Retry turns it into
// ReasonPanic; see TestRetryPredicatePanics).
func TestDecidePredicatePanics(t *testing.T) {
	p := mustPolicy[int](t, backoff.RetryIf(func(error) bool { panic("pred") }))
	defer func() {
		if r := recover(); r != "pred" {
			t.Fatalf("recovered %v, want the predicate's panic", r)
		}
	}()
	backoff.Decide(p, backoff.State{Tries: 1}, backoff.Outcome[int]{Err: errRtBoom})
	t.Fatal("Decide did not panic")
}

func TestPolicyLimits(t *testing.T) {
	p, err := backoff.NewPolicy[int](backoff.MaxTries(7), backoff.MaxTimeStrict(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	d, strict, ok := p.MaxTime()
	if p.MaxTries() != 7 || d != time.Minute || !strict || !ok {
		t.Fatalf("limits = %d, %v %v %v", p.MaxTries(), d, strict, ok)
	}
	p, err = backoff.NewPolicy[int]()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := p.MaxTime(); ok || p.MaxTries() != 0 {
		t.Fatal("a policy without limits reports some")
	}
}

func TestReasonText(t *testing.T) {
	for r := backoff.ReasonNone; r <= backoff.ReasonBudget; r++ {
		b, err := r.MarshalText()
		if err != nil || string(b) != r.String() {
			t.Fatalf("MarshalText(%d) = %q, %v", r, b, err)
		}
		var back backoff.Reason
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, r)
		}
	}
	if _, err := (backoff.ReasonBudget + 1).MarshalText(); err == nil {
		t.Fatal("MarshalText of an unknown reason: no error")
	}
	var r backoff.Reason
	if err := r.UnmarshalText([]byte("nonsense")); err == nil || !strings.Contains(err.Error(), `backoff: unknown Reason "nonsense"`) {
		t.Fatalf("UnmarshalText(nonsense): %v", err)
	}
}
