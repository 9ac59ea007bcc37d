package backoff_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backoff-go/backoff"
)

// nonNeg maps any int64 onto a valid (non-negative) duration, so that the
// fuzzer's effort is not spent on values validation would reject.
func fuzzNonNeg(v int64) time.Duration {
	if v < 0 {
		v = ^v
	}
	return time.Duration(v)
}

// orDefault mirrors the "0 means the default" rule of every strategy field.
func fuzzOrDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// fuzzSatAdd adds two non-negative durations, saturating at math.MaxInt64.
func fuzzSatAdd(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// fuzzFiboWait is Fibo's wait computed independently, with math/big:
// factor*fib(n) capped at limit.
func fuzzFiboWait(n int, factor, limit time.Duration) time.Duration {
	a, b := big.NewInt(1), big.NewInt(1)
	bigLimit := big.NewInt(int64(limit))
	w := new(big.Int)
	for i := 1; ; i++ {
		w.Mul(a, big.NewInt(int64(factor)))
		if w.Cmp(bigLimit) >= 0 {
			return limit
		}
		if i >= n {
			return time.Duration(w.Int64())
		}
		a.Add(a, b)
		a, b = b, a
	}
}

func FuzzStrategies(f *testing.F) {
	f.Add(1, int64(0), int64(0), int64(0), int64(0), 0.0)
	f.Add(64, int64(time.Second), int64(time.Second), int64(16*time.Second), int64(3), 2.0)
	f.Add(math.MaxInt, int64(math.MaxInt64), int64(math.MaxInt64), int64(0), int64(1), 1e300)
	f.Add(93, int64(-1), int64(1), int64(-1), int64(math.MinInt64), 1.0000001)
	f.Add(3, int64(5), int64(math.MinInt64), int64(7), int64(0), math.Inf(1))
	f.Add(0, int64(math.MinInt64), int64(time.Millisecond), int64(time.Hour), int64(2), 0.5)
	f.Add(-1, int64(-1), int64(3*time.Second), int64(20*time.Second), int64(-7), 3.0)
	f.Add(math.MinInt, int64(7*time.Second), int64(time.Second), int64(20*time.Second), int64(1), math.NaN())
	f.Add(2, int64(time.Second), int64(1<<52), int64(0), int64(0), 2.0)
	f.Add(35, int64(0), int64(0), int64(0), int64(0), 0.0)
	f.Fuzz(func(t *testing.T, n int, prev, a, b, c int64, x float64) {
		rawN, rawPrev := n, time.Duration(prev)
		if n < 1 {
			n = int(uint(n)>>2) + 1
		}
		p, da, db, dc := fuzzNonNeg(prev), fuzzNonNeg(a), fuzzNonNeg(b), fuzzNonNeg(c)
		validFloat := !math.IsNaN(x) && !math.IsInf(x, 0)
		check := func(name string, s backoff.Strategy, lo, hi time.Duration) time.Duration {
			t.Helper()
			d, ok := s.Delay(n, p)
			if !ok || d < lo || d > hi {
				t.Fatalf("%s %#v: Delay(%d, %v) = %v, %v; want in [%v, %v]", name, s, n, p, d, ok, lo, hi)
			}
			return d
		}
		// monotone checks that the next wait does not move the wrong way.
		monotone := func(name string, s backoff.Strategy, d time.Duration, grows bool) {
			t.Helper()
			if n == math.MaxInt {
				return
			}
			next, _ := s.Delay(n+1, d)
			if (grows && next < d) || (!grows && next > d) {
				t.Fatalf("%s %#v: wait %d is %v, wait %d is %v", name, s, n, d, n+1, next)
			}
		}
		capOr := func(m time.Duration) time.Duration { return fuzzOrDefault(m, math.MaxInt64) }
		// valid collects every strategy with valid fields, for the
		// out-of-contract checks at the end.
		var valid []backoff.Strategy

		if validFloat && (x == 0 || x >= 1) {
			s := backoff.Expo{Base: x, Factor: da, Max: db}
			factor := fuzzOrDefault(da, time.Second)
			d := check("Expo", s, min(factor, capOr(db)), capOr(db))
			monotone("Expo", s, d, true)
			// Base 2 is exact while the wait fits a float's mantissa.
			if (x == 0 || x == 2) && n-1 < 53 && factor < 1<<(53-(n-1)) {
				if want := min(factor<<(n-1), capOr(db)); d != want {
					t.Fatalf("Expo %#v: Delay(%d) = %v, want %v", s, n, d, want)
				}
			}
			if x == 1 && d != min(factor, capOr(db)) {
				t.Fatalf("Expo %#v: Delay(%d) = %v, want the factor", s, n, d)
			}
			valid = append(valid, s)
		}
		fibo := backoff.Fibo{Factor: da, Max: db}
		d := check("Fibo", fibo, min(fuzzOrDefault(da, time.Second), capOr(db)), capOr(db))
		monotone("Fibo", fibo, d, true)
		if want := fuzzFiboWait(n, fuzzOrDefault(da, time.Second), capOr(db)); d != want {
			t.Fatalf("Fibo %#v: Delay(%d) = %v, want %v", fibo, n, d, want)
		}
		valid = append(valid, fibo)

		want := fuzzOrDefault(da, time.Second)
		check("Constant", backoff.Constant{Interval: da}, want, want)
		check("NoWait", backoff.NoWait{}, 0, 0)
		valid = append(valid, backoff.Constant{Interval: da}, backoff.NoWait{})

		if validFloat && x >= 0 {
			s := backoff.Decay{Initial: da, Rate: x, Min: db}
			d := check("Decay", s, db, max(fuzzOrDefault(da, time.Second), db))
			monotone("Decay", s, d, false)
			if n == 1 && d != max(fuzzOrDefault(da, time.Second), db) {
				t.Fatalf("Decay %#v: first wait %v, want max(Initial, Min)", s, d)
			}
			valid = append(valid, s)
		}

		dec := backoff.Decorrelated{Base: da, Max: db}
		base, limit := fuzzOrDefault(da, time.Second), capOr(db)
		d = check("Decorrelated", dec, min(base, limit), limit)
		// Drawn from [Base, min(Max, 3*prev)]: never more than three times
		// the last wait, and exactly Base after a zero wait.
		if base < limit && p < limit/3 && d > max(base, 3*p) {
			t.Fatalf("Decorrelated %#v: Delay(%d, %v) = %v, more than max(Base, 3*prev)", dec, n, p, d)
		}
		valid = append(valid, dec)

		list := backoff.Intervals{da, db, dc}
		d, ok := list.Delay(n, p)
		if ok != (n <= 3) || d < 0 || (ok && d != list[n-1]) || (!ok && d != 0) {
			t.Fatalf("Intervals: Delay(%d) = %v, %v", n, d, ok)
		}
		short := list[:int(uint64(c)%4)]
		if d, ok := short.Delay(n, p); ok != (n <= len(short)) || d < 0 {
			t.Fatalf("Intervals%v: Delay(%d) = %v, %v", short, n, d, ok)
		}
		valid = append(valid, list, backoff.Intervals(nil))

		fn := backoff.StrategyFunc(func(int, time.Duration) (time.Duration, bool) { return time.Duration(a), c%2 == 0 })
		if d, ok := fn.Delay(n, p); d < 0 || d != max(time.Duration(a), 0) || ok != (c%2 == 0) {
			t.Fatalf("StrategyFunc: got %v, %v", d, ok)
		}
		valid = append(valid, fn)

		// Out of contract: n <= 0 (Decide passes State.Tries as it is) and a
		// negative prev. Still no panic and no negative wait; with prev >= 0
		// the cap holds too. (Decorrelated's cap with a hugely negative prev:
		// TestDecorrelatedOutOfContract.)
		for _, s := range valid {
			for _, nn := range []int{rawN, n} {
				for _, pp := range []time.Duration{rawPrev, p} {
					d, _ := s.Delay(nn, pp)
					if d < 0 {
						t.Fatalf("%#v: Delay(%d, %v) = %v, negative", s, nn, pp, d)
					}
				}
				d, _ := s.Delay(nn, p)
				limit := time.Duration(math.MaxInt64)
				switch s := s.(type) {
				case backoff.Expo:
					limit = capOr(s.Max)
				case backoff.Fibo:
					limit = capOr(s.Max)
				case backoff.Decorrelated:
					limit = capOr(s.Max)
				}
				if d > limit {
					t.Fatalf("%#v: Delay(%d, %v) = %v, above the cap %v", s, nn, p, d, limit)
				}
			}
		}
	})
}

func FuzzJitter(f *testing.F) {
	for _, d := range []int64{0, 1, 2, 3, int64(time.Second), math.MaxInt64 - 1, math.MaxInt64, -1, math.MinInt64, math.MaxInt64 - int64(time.Second) + 1} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		d := fuzzNonNeg(v)
		// RandomJitter saturates instead of wrapping near math.MaxInt64.
		randomHi := fuzzSatAdd(d, time.Second-1)
		for _, c := range []struct {
			name   string
			j      backoff.Jitter
			lo, hi time.Duration
		}{
			{"FullJitter", backoff.FullJitter, 0, d},
			{"EqualJitter", backoff.EqualJitter, d - d/2, d},
			{"NoJitter", backoff.NoJitter, d, d},
			{"RandomJitter", backoff.RandomJitter, d, randomHi},
		} {
			if got := c.j(d); got < c.lo || got > c.hi {
				t.Fatalf("%s(%v) = %v, want in [%v, %v]", c.name, d, got, c.lo, c.hi)
			}
			// A negative input (out of contract) is read as 0.
			if raw := time.Duration(v); raw < 0 {
				hi := time.Duration(0)
				if c.name == "RandomJitter" {
					hi = time.Second - 1
				}
				if got := c.j(raw); got < 0 || got > hi {
					t.Fatalf("%s(%v) = %v, want in [0, %v]", c.name, raw, got, hi)
				}
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{
		"0", "120", " 7 ", "99999999999999999999", "-1", "1.5", "", "abc", "+5", "0x10", "1e3", "007", "\t3\n",
		"9223372036", "9223372037", "18446744073709551615", "18446744073709551616",
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Sun, 06 Nov 1994 08:49:37", "Fri, 31 Dec 9999 23:59:59 GMT",
	} {
		f.Add(s, int64(784111777))
	}
	f.Add("Sun, 06 Nov 1994 08:49:37 GMT", int64(math.MinInt64))
	f.Add("Sun, 06 Nov 1994 08:49:37 GMT", int64(0))
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		now := time.Unix(unix, 0)
		d, err := backoff.ParseRetryAfter(s, now)
		if err != nil {
			if want := fmt.Sprintf("backoff: bad Retry-After value %q", s); err.Error() != want {
				t.Fatalf("ParseRetryAfter(%q): error %q, want %q", s, err, want)
			}
		} else if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, want >= 0", s, d)
		}
		// An independent reading: decimal seconds, else an HTTP-date.
		v := strings.TrimSpace(s)
		if v != "" && strings.Trim(v, "0123456789") == "" {
			secs, ok := new(big.Int).SetString(v, 10)
			want := time.Duration(math.MaxInt64)
			if ok && secs.Cmp(big.NewInt(int64(math.MaxInt64/time.Second))) <= 0 {
				want = time.Duration(secs.Int64()) * time.Second
			}
			if err != nil || d != want {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v", s, d, err, want)
			}
			return
		}
		if at, perr := http.ParseTime(v); perr == nil {
			if want := max(at.Sub(now), 0); err != nil || d != want {
				t.Fatalf("ParseRetryAfter(%q, %v) = %v, %v; want %v", s, now, d, err, want)
			}
		} else if err == nil {
			t.Fatalf("ParseRetryAfter(%q) = %v, want an error", s, d)
		}
	})
}

// FuzzDecide's flags.
const (
	fdRaw       = 1 << iota // strategy fields and limits as given: may be invalid
	fdMaxTries              // MaxTries(maxTries)
	fdMaxTime               // MaxTime(maxTime)
	fdStrict                // with fdMaxTime: MaxTimeStrict instead
	fdMaxWait               // MaxWait(maxWait)
	fdRuntime               // Runtime, after the strategy
	fdRuntimeOK             // the Runtime function gives its wait (else falls back)
	fdValuePred             // RetryOnValue: retry values divisible by 3
	fdRetryOn               // RetryOn(errFzRetry, errFzGiveUp)
	fdGiveUp                // GiveUp on errFzGiveUp
	fdDeadline              // State.HasDeadline
)

var (
	errFzRetry  = errors.New("fuzz: retryable")
	errFzGiveUp = errors.New("fuzz: give up")
	errFzOther  = errors.New("fuzz: other")
)

// fuzzErrLines checks that every line of a (possibly joined) error starts
// with "backoff: ".
func fuzzErrLines(t *testing.T, err error) {
	t.Helper()
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if !strings.HasPrefix(line, "backoff: ") {
			t.Fatalf("error line %q does not start with %q (whole error %q)", line, "backoff: ", err)
		}
	}
}

// FuzzDecide fuzzes the pure decision function over policies built with
// NewPolicy (every strategy and jitter, MaxTries, MaxTime, MaxTimeStrict,
// MaxWait, Runtime, RetryOnValue, RetryOn, GiveUp), states and outcomes. It
// checks an independent model of Decide's documented order (success,
// Permanent, retry conditions, GiveUp, MaxTries, MaxTime, exhaustion; then
// the wait: strategy or Runtime, MaxWait, jitter, MaxTime trim or strict
// give-up, deadline) and the invariants stated on Decision.
//
// State.Elapsed and State.Prev stay non-negative, as every runner makes
// them; State.Tries and State.Left take any value. (Negative Elapsed:
// TestDecideNegativeElapsed.)
func FuzzDecide(f *testing.F) {
	type seed struct {
		what                string
		kind, jit           uint8
		flags               uint16
		a, b, c             int64
		x                   float64
		maxTries            int
		maxTime, maxWait    int64
		tries               int
		elapsed, prev, left int64
		outKind             uint8
		value               int
		rt, jraw            int64
	}
	const s, ms = int64(time.Second), int64(time.Millisecond)
	for _, c := range []seed{
		{what: "default Expo, FullJitter", kind: 8, outKind: 1, tries: 1},
		{what: "success", kind: 0, jit: 4, outKind: 0, tries: 3, value: 3},
		{what: "Permanent before not retryable", kind: 0, jit: 4, outKind: 2, tries: 1, flags: fdRetryOn},
		{what: "Permanent inside errors.Join", kind: 0, jit: 4, outKind: 4, tries: 1},
		{what: "not retryable", kind: 1, jit: 4, outKind: 3, tries: 1, flags: fdRetryOn | fdGiveUp},
		{what: "GiveUp before MaxTries", kind: 1, jit: 4, outKind: 5, tries: 1, flags: fdRetryOn | fdGiveUp | fdMaxTries, maxTries: 1},
		{what: "MaxTries", kind: 2, jit: 4, outKind: 1, tries: 5, flags: fdMaxTries, maxTries: 5, a: s},
		{what: "MaxTime reached", kind: 2, jit: 4, outKind: 1, tries: 2, flags: fdMaxTime, maxTime: 10 * s, elapsed: 10 * s},
		{what: "trimmed to 5s", kind: 2, jit: 4, outKind: 1, tries: 2, flags: fdMaxTime, maxTime: 15 * s, elapsed: 10 * s, a: 10 * s},
		{what: "strict gives up", kind: 2, jit: 4, outKind: 1, tries: 2, flags: fdMaxTime | fdStrict, maxTime: 15 * s, elapsed: 10 * s, a: 10 * s},
		{what: "strict, jittered: either", kind: 2, jit: 1, outKind: 1, tries: 2, flags: fdMaxTime | fdStrict, maxTime: 15 * s, elapsed: 10 * s, a: 10 * s},
		{what: "RandomJitter over MaxWait", kind: 0, jit: 2, outKind: 1, tries: 40, flags: fdMaxWait, maxWait: 3 * s, x: 3},
		{what: "saturated Expo", kind: 0, jit: 3, outKind: 1, tries: math.MaxInt, flags: fdMaxWait, maxWait: math.MaxInt64},
		{what: "Intervals exhausted", kind: 3 + 9*2, jit: 4, outKind: 1, tries: 3, a: s, b: 2 * s},
		{what: "Intervals, tries 0", kind: 3 + 9*3, jit: 4, outKind: 1, tries: 0, a: 0, b: s, c: 2 * s},
		{what: "Retry-After capped", kind: 8, outKind: 1, tries: 1, flags: fdRuntime | fdRuntimeOK | fdMaxWait, rt: math.MaxInt64, maxWait: time.Hour.Nanoseconds()},
		{what: "Runtime falls back to Fibo", kind: 1, outKind: 1, tries: 4, flags: fdRuntime, rt: 7 * s},
		{what: "negative server wait", kind: 8, outKind: 1, tries: 1, flags: fdRuntime | fdRuntimeOK, rt: -5 * s},
		{what: "Decorrelated", kind: 6, outKind: 1, tries: 5, prev: 4 * s, a: s, b: 20 * s},
		{what: "Decorrelated with a jitter", kind: 6, jit: 3, outKind: 1, tries: 5, prev: math.MaxInt64, a: s, b: 20 * s},
		{what: "Decay", kind: 5, outKind: 1, tries: 3, a: 100 * s, b: 5 * s, x: 0.25},
		{what: "NoWait at a deadline", kind: 4, outKind: 1, tries: 1, flags: fdDeadline, left: 0},
		{what: "wait reaches the deadline", kind: 2, jit: 4, outKind: 1, tries: 1, flags: fdDeadline, left: 2 * s, a: 2 * s},
		{what: "just fits", kind: 2, jit: 4, outKind: 1, tries: 1, flags: fdDeadline, left: 2*s + 1, a: 2 * s},
		{what: "deadline passed", kind: 2, jit: 1, outKind: 1, tries: 1, flags: fdDeadline, left: -s, a: 2 * s},
		{what: "custom jitter, negative", kind: 2, jit: 5, outKind: 1, tries: 1, jraw: -s, flags: fdMaxTime, maxTime: s},
		{what: "custom jitter above MaxWait", kind: 2, jit: 5, outKind: 1, tries: 1, jraw: math.MaxInt64, flags: fdMaxWait | fdMaxTime, maxWait: ms, maxTime: time.Hour.Nanoseconds()},
		{what: "StrategyFunc exhausted", kind: 7, outKind: 1, tries: 1, a: -s, c: 1},
		{what: "StrategyFunc, negative wait", kind: 7, jit: 4, outKind: 1, tries: 1, a: -s, c: 2},
		{what: "value predicate, GiveUp not asked", kind: 2, jit: 4, outKind: 0, value: 3, tries: 2, flags: fdValuePred | fdMaxTries | fdGiveUp, maxTries: 3, a: s},
		{what: "value predicate at MaxTries", kind: 2, jit: 4, outKind: 0, value: 3, tries: 3, flags: fdValuePred | fdMaxTries, maxTries: 3},
		{what: "invalid: Expo.Base", kind: 0, outKind: 1, tries: 1, flags: fdRaw, x: 0.5},
		{what: "invalid: Decay.Rate", kind: 5, outKind: 1, tries: 1, flags: fdRaw, x: math.NaN()},
		{what: "invalid: Intervals[1]", kind: 3 + 9*3, outKind: 1, tries: 1, flags: fdRaw, a: 1, b: -1, c: 1},
		{what: "several invalid", kind: 6, outKind: 1, tries: 1, flags: fdRaw | fdMaxTries | fdMaxTime | fdMaxWait, a: -1, maxTries: 0, maxTime: -1, maxWait: 0},
		{what: "raw but valid: MaxTime(0)", kind: 1, outKind: 1, tries: 1, flags: fdRaw | fdMaxTries | fdMaxTime | fdMaxWait, a: s, maxTries: 2, maxTime: 0, maxWait: 1},
	} {
		f.Add(c.kind, c.jit, c.flags, c.a, c.b, c.c, c.x, c.maxTries, c.maxTime, c.maxWait,
			c.tries, c.elapsed, c.prev, c.left, c.outKind, c.value, c.rt, c.jraw)
	}
	f.Fuzz(func(t *testing.T, kind, jit uint8, flags uint16, a, b, c int64, x float64, maxTries int,
		maxTime, maxWait int64, tries int, elapsed, prev, left int64, outKind uint8, value int, rt, jraw int64) {
		raw := flags&fdRaw != 0
		dur := func(v int64) time.Duration {
			if raw {
				return time.Duration(v)
			}
			return fuzzNonNeg(v)
		}
		da, db, dc := dur(a), dur(b), dur(c)
		finite := !math.IsNaN(x) && !math.IsInf(x, 0)
		expoBase, decayRate := x, x
		if !raw {
			if !finite {
				expoBase, decayRate = 0, 0
			}
			expoBase, decayRate = math.Abs(expoBase), math.Abs(decayRate)
			if expoBase > 0 && expoBase < 1 {
				expoBase++
			}
		}

		// The strategy, as an option and as the Strategy the model asks.
		var (
			strategy backoff.Strategy = backoff.Expo{} // the default
			opts     []backoff.Option
			valid    = true
			decorr   bool
		)
		switch kind % 9 {
		case 0:
			s := backoff.Expo{Base: expoBase, Factor: da, Max: db}
			strategy, opts = s, append(opts, s)
			valid = !math.IsNaN(expoBase) && !math.IsInf(expoBase, 0) && (expoBase == 0 || expoBase >= 1) && da >= 0 && db >= 0
		case 1:
			s := backoff.Fibo{Factor: da, Max: db}
			strategy, opts = s, append(opts, s)
			valid = da >= 0 && db >= 0
		case 2:
			s := backoff.Constant{Interval: da}
			strategy, opts = s, append(opts, s)
			valid = da >= 0
		case 3:
			s := backoff.Intervals{da, db, dc}[:int(kind/9)%4]
			strategy, opts = s, append(opts, s)
			for _, d := range s {
				valid = valid && d >= 0
			}
		case 4:
			strategy, opts = backoff.NoWait{}, append(opts, backoff.NoWait{})
		case 5:
			s := backoff.Decay{Initial: da, Rate: decayRate, Min: db}
			strategy, opts = s, append(opts, s)
			valid = !math.IsNaN(decayRate) && !math.IsInf(decayRate, 0) && decayRate >= 0 && da >= 0 && db >= 0
		case 6:
			s := backoff.Decorrelated{Base: da, Max: db}
			strategy, opts, decorr = s, append(opts, s), true
			valid = da >= 0 && db >= 0
		case 7:
			s := backoff.StrategyFunc(func(int, time.Duration) (time.Duration, bool) { return time.Duration(a), c%2 == 0 })
			strategy, opts = s, append(opts, s)
		}
		hasRuntime, runtimeOK := flags&fdRuntime != 0, flags&fdRuntimeOK != 0
		if hasRuntime {
			opts = append(opts, backoff.Runtime(func(int, error) (time.Duration, bool) { return time.Duration(rt), runtimeOK }))
		}
		jk := jit % 6
		switch jk {
		case 1:
			opts = append(opts, backoff.FullJitter)
		case 2:
			opts = append(opts, backoff.RandomJitter)
		case 3:
			opts = append(opts, backoff.EqualJitter)
		case 4:
			opts = append(opts, backoff.NoJitter)
		case 5:
			opts = append(opts, backoff.Jitter(func(time.Duration) time.Duration { return time.Duration(jraw) }))
		}

		hasMaxTries := flags&fdMaxTries != 0
		if hasMaxTries {
			if !raw && maxTries < 1 {
				maxTries = int(uint(maxTries)>>1) + 1
			}
			opts = append(opts, backoff.MaxTries(maxTries))
			valid = valid && maxTries >= 1
		}
		hasMaxTime, strict := flags&fdMaxTime != 0, flags&(fdMaxTime|fdStrict) == fdMaxTime|fdStrict
		mt := dur(maxTime)
		if hasMaxTime {
			if strict {
				opts = append(opts, backoff.MaxTimeStrict(mt))
			} else {
				opts = append(opts, backoff.MaxTime(mt))
			}
			valid = valid && mt >= 0
		}
		hasMaxWait, mw := flags&fdMaxWait != 0, dur(maxWait)
		if hasMaxWait {
			if !raw && mw == 0 {
				mw = 1
			}
			opts = append(opts, backoff.MaxWait(mw))
			valid = valid && mw > 0
		}
		pred := func(v int) bool { return v%3 == 0 }
		if flags&fdValuePred != 0 {
			opts = append(opts, backoff.RetryOnValue(pred))
		}
		if flags&fdRetryOn != 0 {
			opts = append(opts, backoff.RetryOn(errFzRetry, errFzGiveUp))
		}
		if flags&fdGiveUp != 0 {
			opts = append(opts, backoff.GiveUp(func(err error) bool { return errors.Is(err, errFzGiveUp) }))
		}

		p, err := backoff.NewPolicy[int](opts...)
		if err != nil {
			if valid {
				t.Fatalf("NewPolicy rejected valid options: %v", err)
			}
			fuzzErrLines(t, err)
			return
		}
		if !valid || p == nil {
			t.Fatalf("NewPolicy accepted invalid options %#v", opts)
		}

		st := backoff.State{Tries: tries, Elapsed: fuzzNonNeg(elapsed), Prev: fuzzNonNeg(prev),
			Left: time.Duration(left), HasDeadline: flags&fdDeadline != 0}
		var oerr error
		switch outKind % 6 {
		case 1:
			oerr = errFzRetry
		case 2:
			oerr = backoff.Permanent(errFzRetry)
		case 3:
			oerr = errFzOther
		case 4:
			oerr = errors.Join(errFzOther, fmt.Errorf("wrapped: %w", backoff.Permanent(errFzRetry)))
		case 5:
			oerr = errFzGiveUp
		}
		out := backoff.Outcome[int]{Value: value, Err: oerr}
		d := backoff.Decide(p, st, out)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("Decide(%+v, %+v) with %#v = %+v: %s", st, out, opts, d, fmt.Sprintf(format, args...))
		}

		// The invariants stated on Decision and Decide, whatever the policy.
		switch {
		case d.Wait < 0:
			fail("negative wait")
		case d.Retry && d.Reason != backoff.ReasonNone:
			fail("a retry with a reason")
		case !d.Retry && d.Wait != 0:
			fail("a give-up with a wait")
		case d.Retry && st.HasDeadline && d.Wait >= st.Left:
			fail("the wait reaches the deadline")
		case d.Retry && hasMaxTries && st.Tries >= maxTries:
			fail("retry at MaxTries")
		case d.Retry && hasMaxTime && st.Elapsed >= mt:
			fail("retry after MaxTime")
		case d.Retry && hasMaxTime && d.Wait > mt-st.Elapsed:
			fail("the wait passes MaxTime")
		case d.Retry && hasMaxWait && jk != 2 && jk != 5 && d.Wait > mw:
			fail("the wait passes MaxWait")
		case d.Retry && hasMaxWait && jk == 2 && d.Wait > fuzzSatAdd(mw, time.Second-1):
			fail("RandomJitter passes MaxWait by a second or more")
		}

		// The model: the reasons decided before any wait, in order.
		exact := func(want backoff.Decision) {
			t.Helper()
			if d != want {
				fail("want %+v", want)
			}
		}
		permanent := outKind%6 == 2 || outKind%6 == 4
		switch {
		case oerr == nil && (flags&fdValuePred == 0 || !pred(value)):
			exact(backoff.Decision{})
			return
		case oerr != nil && permanent:
			exact(backoff.Decision{Reason: backoff.ReasonPermanent})
			return
		case outKind%6 == 3 && flags&fdRetryOn != 0: // errFzOther
			exact(backoff.Decision{Reason: backoff.ReasonNotRetryable})
			return
		case outKind%6 == 5 && flags&fdGiveUp != 0: // errFzGiveUp
			exact(backoff.Decision{Reason: backoff.ReasonGiveUp})
			return
		case hasMaxTries && st.Tries >= maxTries:
			exact(backoff.Decision{Reason: backoff.ReasonMaxTries})
			return
		case hasMaxTime && st.Elapsed >= mt:
			exact(backoff.Decision{Reason: backoff.ReasonMaxTime})
			return
		}

		// The wait's range: strategy or Runtime, MaxWait, jitter. Without
		// a jitter option, a server-given wait and a self-jittered
		// strategy's are not jittered; other strategies' get FullJitter.
		var lo, hi time.Duration
		effJitter := jk
		switch {
		case hasRuntime && runtimeOK:
			lo = max(time.Duration(rt), 0)
			hi = lo
			if effJitter == 0 {
				effJitter = 4
			}
		case decorr:
			s := strategy.(backoff.Decorrelated)
			base, limit := fuzzOrDefault(s.Base, time.Second), fuzzOrDefault(s.Max, math.MaxInt64)
			lo, hi = base, limit
			if base >= limit {
				lo = limit
			} else if st.Prev < limit/3 {
				hi = max(base, 3*st.Prev)
			}
		default:
			w, ok := strategy.Delay(st.Tries, st.Prev)
			if !ok {
				exact(backoff.Decision{Reason: backoff.ReasonExhausted})
				return
			}
			lo, hi = w, w
		}
		if effJitter == 0 {
			effJitter = 1
			if decorr {
				effJitter = 4
			}
		}
		if hasMaxWait {
			lo, hi = min(lo, mw), min(hi, mw)
		}
		switch effJitter {
		case 1:
			lo = 0
		case 2:
			hi = fuzzSatAdd(hi, time.Second-1)
		case 3:
			lo -= lo / 2
		case 5:
			lo = max(time.Duration(jraw), 0)
			hi = lo
		}
		// MaxTime: trimmed, or with MaxTimeStrict a give-up.
		strictMayGiveUp := false
		if hasMaxTime {
			timeLeft := mt - st.Elapsed // > 0: Elapsed < MaxTime here
			if strict {
				if lo > timeLeft {
					exact(backoff.Decision{Reason: backoff.ReasonMaxTime})
					return
				}
				strictMayGiveUp = hi > timeLeft
				hi = min(hi, timeLeft)
			} else {
				lo, hi = min(lo, timeLeft), min(hi, timeLeft)
			}
		}
		if d.Retry {
			if d.Wait < lo || d.Wait > hi {
				fail("wait outside [%v, %v]", lo, hi)
			}
			return
		}
		switch d.Reason {
		case backoff.ReasonMaxTime:
			if !strictMayGiveUp {
				fail("no wait in [%v, %v] passes MaxTime", lo, hi)
			}
		case backoff.ReasonContext:
			if !st.HasDeadline || hi < st.Left {
				fail("no wait in [%v, %v] reaches the deadline", lo, hi)
			}
		default:
			fail("want a retry after a wait in [%v, %v]", lo, hi)
		}
	})
}

// Regressions the fuzz targets' domains leave out, because the runners never
// produce these states; Decide and the strategies are public, though, and
// their documentation promises more.

// Decision.Wait is documented as never negative. A negative State.Elapsed
// (a durable backend whose clocks disagree) with a large MaxTime overflows
// the time left and gives a negative wait.
func TestDecideNegativeElapsed(t *testing.T) {
	for _, c := range []struct {
		maxTime, elapsed time.Duration
	}{
		{math.MaxInt64, -1},
		{time.Hour, math.MinInt64},
	} {
		p, err := backoff.NewPolicy[int](backoff.MaxTime(c.maxTime), backoff.NoJitter, backoff.Constant{Interval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		st := backoff.State{Tries: 1, Elapsed: c.elapsed}
		d := backoff.Decide(p, st, backoff.Outcome[int]{Err: errFzRetry})
		if d.Wait < 0 || (d.Retry && d.Wait > time.Second) {
			t.Errorf("MaxTime(%v), %+v: Decide = %+v, want a retry after 1s", c.maxTime, st, d)
		}
	}
}

// Decorrelated's waits stay within [Base, Max] for prev >= 0. A hugely
// negative prev wraps 3*prev to a large positive wait above Max; a
// negative Base (which validation rejects as an option, but which a
// StrategyFunc wrapping Delay gets past) makes rand.Int64N panic.
func TestDecorrelatedOutOfContract(t *testing.T) {
	s := backoff.Decorrelated{Base: time.Second, Max: 2 * time.Second}
	for _, prev := range []time.Duration{-1, -(1 << 62) - 1, math.MinInt64} {
		if d, ok := s.Delay(2, prev); !ok || d < time.Second || d > 2*time.Second {
			t.Errorf("%#v.Delay(2, %v) = %v, %v; want in [1s, 2s]", s, prev, d, ok)
		}
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("Decorrelated{Base: -5}.Delay(2, math.MaxInt64) panicked: %v", r)
			}
		}()
		backoff.Decorrelated{Base: -5}.Delay(2, math.MaxInt64)
	}()
}

// Found by FuzzParseRetryAfter: a value that starts with more digits than
// fit a uint64 and then has garbage is read as a saturated wait, because
// strconv.ParseUint reports ErrRange before it reaches the first
// non-digit. Such a value must be an error like any other garbage.
func TestParseRetryAfterDigitsThenGarbage(t *testing.T) {
	for _, s := range []string{"20000000000000000000A", "99999999999999999999 seconds", "18446744073709551616.5"} {
		if d, err := backoff.ParseRetryAfter(s, time.Unix(784111777, 0)); err == nil {
			t.Errorf("ParseRetryAfter(%q) = %v, nil; want an error", s, d)
		}
	}
}
