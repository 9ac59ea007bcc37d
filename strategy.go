package backoff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Strategy gives the wait before each retry. Implementations must be pure and
// safe for concurrent use: the same value serves every job.
//
// The strategies in this package ([Expo], [Fibo], [Constant], [Intervals],
// [NoWait], [Decay], [Decorrelated], [StrategyFunc]) are options themselves:
// pass one to [Retry] or [NewPolicy] to use it. Their zero values are useful,
// and 0 in any field means that field's default.
type Strategy interface {
	// Delay returns the wait after n failed attempts (n >= 1; n == 1 is the
	// wait before the second attempt). prev is the wait actually used before
	// attempt n (0 when n == 1), for strategies that grow from it.
	// ok == false means the strategy has no more waits: the job gives up
	// (reason "strategy exhausted").
	// Delay never returns a negative duration and never overflows, for any
	// n >= 1 (it saturates at the cap or math.MaxInt64).
	Delay(n int, prev time.Duration) (d time.Duration, ok bool)
}

// maxDuration is where waits saturate when no cap is set.
const maxDuration = time.Duration(math.MaxInt64)

// Expo waits Factor, Factor*Base, Factor*Base², ..., uncapped unless Max
// is set: Expo{} waits 1s, 2s, 4s, ..., and its 20th wait is about 6 days
// (2^19 s). Set Max, or give [MaxWait], to cap it. Like every strategy it
// is jittered, with [FullJitter] by default; like python-backoff's
// expo(base, factor, max_value).
//
// Defaults: Base 2, Factor 1s, no cap.
// Expo{Base: 3, Factor: 5 * time.Second} gives 5s, 15s, 45s, ...;
// Expo{Factor: 3 * time.Second, Max: 16 * time.Second} gives 3s, 6s, 12s, 16s, 16s.
// Base 1 keeps the wait at Factor. Each Delay is O(1).
type Expo struct {
	Base   float64       // growth per attempt: 0 (default 2) or >= 1
	Factor time.Duration // first wait; 0 means 1s
	Max    time.Duration // cap; 0 means none (waits saturate at math.MaxInt64)
}

// Delay implements [Strategy].
func (s Expo) Delay(n int, _ time.Duration) (time.Duration, bool) {
	base, factor := s.Base, s.Factor
	if base == 0 {
		base = 2
	}
	if factor == 0 {
		factor = time.Second
	}
	limit := capOf(s.Max)
	if n <= 1 || base == 1 {
		return min(factor, limit), true
	}
	// A float result is exact for the usual integer bases and, past 2^53ns
	// (104 days), off by nanoseconds at most; the comparison keeps the cap exact.
	f := float64(factor) * math.Pow(base, float64(n-1))
	if f >= float64(limit) {
		return limit, true
	}
	return min(durationOf(f), limit), true
}

func (s Expo) validate() error {
	if math.IsNaN(s.Base) || math.IsInf(s.Base, 0) {
		return fmt.Errorf("backoff: Expo.Base must be finite, got %v", s.Base)
	}
	if s.Base != 0 && s.Base < 1 {
		// A base below 1 would shrink the waits: that is Decay's job.
		return fmt.Errorf("backoff: Expo.Base must be 0 (default 2) or >= 1, got %v", s.Base)
	}
	return firstError(
		nonNegative("Expo.Factor", s.Factor),
		nonNegative("Expo.Max", s.Max),
	)
}

func (s Expo) apply(c *config) { c.setStrategy(s) }

// Fibo waits Factor times the Fibonacci numbers 1, 1, 2, 3, 5, 8, 13, ...
// capped at Max, like python-backoff's fibo(max_value). It grows more gently
// than [Expo] with base 2 (by about 1.6 per attempt).
//
// Defaults: Factor 1s, no cap. Fibo{Max: 8 * time.Second} gives
// 1s, 1s, 2s, 3s, 5s, 8s, 8s, ... Each Delay costs O(min(n, 93)) additions:
// the sequence is walked until it reaches the cap, never past it.
type Fibo struct {
	Factor time.Duration // unit of the sequence; 0 means 1s
	Max    time.Duration // cap; 0 means none (waits saturate at math.MaxInt64)
}

// Delay implements [Strategy].
func (s Fibo) Delay(n int, _ time.Duration) (time.Duration, bool) {
	factor := s.Factor
	if factor == 0 {
		factor = time.Second
	}
	limit := capOf(s.Max)
	// Past limitFib the product would pass the cap; since every fib(93) and
	// beyond exceeds math.MaxInt64, the loop below ends within 93 steps.
	limitFib := uint64(limit) / uint64(factor)
	a, b := uint64(1), uint64(1) // fib(i), fib(i+1)
	for i := 1; i < n; i++ {
		if a > limitFib {
			break
		}
		a, b = b, a+b // b may wrap once a passes the limit; it is never used then
	}
	if a > limitFib {
		return limit, true
	}
	return time.Duration(a) * factor, true // a <= limit/factor: no overflow
}

func (s Fibo) validate() error {
	return firstError(
		nonNegative("Fibo.Factor", s.Factor),
		nonNegative("Fibo.Max", s.Max),
	)
}

func (s Fibo) apply(c *config) { c.setStrategy(s) }

// Constant waits Interval before every retry, forever, and is fully
// jittered by default, as in python-backoff: with the default [FullJitter]
// a 200ms Interval waits anywhere from 0 to 200ms. Give [NoJitter] for a
// steady period. Constant{} waits 1s; to retry with no wait at all use
// [NoWait]. Each Delay is O(1).
type Constant struct {
	Interval time.Duration // 0 means 1s
}

// Delay implements [Strategy].
func (s Constant) Delay(int, time.Duration) (time.Duration, bool) {
	if s.Interval == 0 {
		return time.Second, true
	}
	return s.Interval, true
}

func (s Constant) validate() error { return nonNegative("Constant.Interval", s.Interval) }

func (s Constant) apply(c *config) { c.setStrategy(s) }

// Intervals waits the listed durations in order, then has no more waits: the
// job gives up once the list runs out. Intervals{1 * time.Second, 2 * time.Second}
// allows three attempts, 1s then 2s apart. An empty list means no retry; zero
// entries mean an immediate retry. Each Delay is O(1).
type Intervals []time.Duration

// Delay implements [Strategy].
func (s Intervals) Delay(n int, _ time.Duration) (time.Duration, bool) {
	n = max(n, 1)
	if n > len(s) {
		return 0, false
	}
	return max(s[n-1], 0), true
}

func (s Intervals) validate() error {
	for i, d := range s {
		if d < 0 {
			return fmt.Errorf("backoff: Intervals[%d] is negative: %v", i, d)
		}
	}
	return nil
}

func (s Intervals) apply(c *config) { c.setStrategy(s) }

// NoWait retries at once, forever (every wait is 0). It exists because the
// zero value of [Constant] means 1s. Combine it with a limit such as MaxTries,
// or a failing job spins.
//
// In a Scheduler, a retry with no wait runs on the worker that ran the
// attempt before it, up to 8 attempts in a row, without queueing: then the
// job queues behind the jobs due before it. A job in a GroupLimit group
// queues after every attempt, so that the group's jobs take turns.
type NoWait struct{}

// Delay implements [Strategy].
func (NoWait) Delay(int, time.Duration) (time.Duration, bool) { return 0, true }

func (NoWait) validate() error { return nil }

func (s NoWait) apply(c *config) { c.setStrategy(s) }

// Decay waits Initial * e^(-Rate*(n-1)), never less than Min: the waits
// shrink, for work that should be retried more eagerly the longer it has
// been failing (python-backoff's decay(initial_value, decay_factor, min_value)).
//
// Defaults: Initial 1s, Rate 1, Min 0, which gives 1s, 368ms, 135ms, 50ms, ...
// Decay{Initial: 100 * time.Second, Rate: 3, Min: 5 * time.Second} gives
// 100s, 5s, 5s, ... A Min above Initial makes every wait Min. Each Delay is O(1).
type Decay struct {
	Initial time.Duration // first wait; 0 means 1s
	Rate    float64       // decay per attempt: 0 (default 1) or positive
	Min     time.Duration // floor; 0 means none
}

// Delay implements [Strategy].
func (s Decay) Delay(n int, _ time.Duration) (time.Duration, bool) {
	initial, rate := s.Initial, s.Rate
	if initial == 0 {
		initial = time.Second
	}
	if rate == 0 {
		rate = 1
	}
	if n <= 1 {
		return max(initial, s.Min), true
	}
	f := float64(initial) * math.Exp(-rate*float64(n-1))
	return max(durationOf(math.Round(f)), s.Min), true
}

func (s Decay) validate() error {
	if math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) {
		return fmt.Errorf("backoff: Decay.Rate must be finite, got %v", s.Rate)
	}
	if s.Rate < 0 {
		// A negative rate would grow the waits: that is Expo's job.
		return fmt.Errorf("backoff: Decay.Rate must be 0 (default 1) or positive, got %v", s.Rate)
	}
	return firstError(
		nonNegative("Decay.Initial", s.Initial),
		nonNegative("Decay.Min", s.Min),
	)
}

func (s Decay) apply(c *config) { c.setStrategy(s) }

// Decorrelated is AWS's "decorrelated jitter": the first wait is Base, and
// each later one is drawn uniformly from [Base, min(Max, 3*prev)], so waits
// grow about threefold on average while staying spread out. With Base 1s and
// Max 20s a run might wait 1s, 2.4s, 5.1s, 13s, 20s, 17s, ...
//
// Unlike AWS's min(Max, uniform(Base, 3*prev)), the draw is made within the
// cap, so a long outage does not pile most waits on exactly Max, which would
// bring back the synchronised retries jitter is meant to avoid.
//
// It is random by itself, so a policy does not apply a second jitter on top
// unless one is given explicitly. Defaults: Base 1s, no cap (waits saturate at
// math.MaxInt64). A Max below Base makes every wait Max. Each Delay is O(1).
type Decorrelated struct {
	Base time.Duration // first and smallest wait; 0 means 1s
	Max  time.Duration // cap; 0 means none
}

// Delay implements [Strategy].
func (s Decorrelated) Delay(_ int, prev time.Duration) (time.Duration, bool) {
	base := s.Base
	if base <= 0 { // < 0 only when called directly: validate rejects it
		base = time.Second
	}
	limit := capOf(s.Max)
	if base >= limit {
		return max(limit, 0), true
	}
	hi := limit
	if prev = max(prev, 0); prev < limit/3 {
		hi = max(base, 3*prev)
	}
	// base >= 1ns and hi <= math.MaxInt64, so the span cannot overflow.
	return base + time.Duration(rand.Int64N(int64(hi-base)+1)), true
}

func (s Decorrelated) validate() error {
	return firstError(
		nonNegative("Decorrelated.Base", s.Base),
		nonNegative("Decorrelated.Max", s.Max),
	)
}

// selfJittered marks a strategy whose waits are already random, so that the
// default jitter is not stacked on top of it.
func (Decorrelated) selfJittered() {}

func (s Decorrelated) apply(c *config) { c.setStrategy(s) }

// StrategyFunc adapts a function to [Strategy], for waits that none of the
// built-in strategies give. The function receives the same n and prev as
// [Strategy.Delay] and must be safe for concurrent use; a negative wait it
// returns is read as 0.
type StrategyFunc func(n int, prev time.Duration) (time.Duration, bool)

// Delay implements [Strategy].
func (f StrategyFunc) Delay(n int, prev time.Duration) (time.Duration, bool) {
	if f == nil {
		return 0, false // as an option a nil StrategyFunc is an error; called, it has no waits
	}
	d, ok := f(n, prev)
	return max(d, 0), ok
}

func (f StrategyFunc) validate() error {
	if f == nil {
		return fmt.Errorf("backoff: StrategyFunc is nil")
	}
	return nil
}

func (f StrategyFunc) apply(c *config) { c.setStrategy(f) }

// capOf turns a Max field into the wait's upper bound.
func capOf(limit time.Duration) time.Duration {
	if limit == 0 {
		return maxDuration
	}
	return limit
}

// durationOf converts nanoseconds held in a float, saturating instead of
// overflowing (a float64 to int64 conversion out of range is undefined).
func durationOf(f float64) time.Duration {
	switch {
	case !(f > 0): // also catches NaN
		return 0
	case f >= math.MaxInt64: // the constant rounds to 2^63
		return maxDuration
	}
	return time.Duration(f)
}

func nonNegative(field string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("backoff: %s must not be negative, got %v", field, d)
	}
	return nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
