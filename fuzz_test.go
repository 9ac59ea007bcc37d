package backoff_test

import (
	"math"
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

func FuzzStrategies(f *testing.F) {
	f.Add(1, int64(0), int64(0), int64(0), int64(0), 0.0)
	f.Add(64, int64(time.Second), int64(time.Second), int64(16*time.Second), int64(3), 2.0)
	f.Add(math.MaxInt, int64(math.MaxInt64), int64(math.MaxInt64), int64(0), int64(1), 1e300)
	f.Add(93, int64(-1), int64(1), int64(-1), int64(math.MinInt64), 1.0000001)
	f.Add(3, int64(5), int64(math.MinInt64), int64(7), int64(0), math.Inf(1))
	f.Fuzz(func(t *testing.T, n int, prev, a, b, c int64, x float64) {
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

		if validFloat && (x == 0 || x >= 1) {
			s := backoff.Expo{Base: x, Factor: da, Max: db}
			d := check("Expo", s, min(fuzzOrDefault(da, time.Second), capOr(db)), capOr(db))
			monotone("Expo", s, d, true)
		}
		fibo := backoff.Fibo{Factor: da, Max: db}
		monotone("Fibo", fibo, check("Fibo", fibo, min(fuzzOrDefault(da, time.Second), capOr(db)), capOr(db)), true)

		want := fuzzOrDefault(da, time.Second)
		check("Constant", backoff.Constant{Interval: da}, want, want)
		check("NoWait", backoff.NoWait{}, 0, 0)

		if validFloat && x >= 0 {
			s := backoff.Decay{Initial: da, Rate: x, Min: db}
			d := check("Decay", s, db, max(fuzzOrDefault(da, time.Second), db))
			monotone("Decay", s, d, false)
		}

		dec := backoff.Decorrelated{Base: da, Max: db}
		check("Decorrelated", dec, min(fuzzOrDefault(da, time.Second), capOr(db)), capOr(db))

		list := backoff.Intervals{da, db, dc}
		d, ok := list.Delay(n, p)
		if ok != (n <= 3) || d < 0 || (ok && d != list[n-1]) {
			t.Fatalf("Intervals: Delay(%d) = %v, %v", n, d, ok)
		}

		fn := backoff.StrategyFunc(func(int, time.Duration) (time.Duration, bool) { return time.Duration(a), c%2 == 0 })
		if d, ok := fn.Delay(n, p); d < 0 || d != max(time.Duration(a), 0) || ok != (c%2 == 0) {
			t.Fatalf("StrategyFunc: got %v, %v", d, ok)
		}
	})
}

func FuzzJitter(f *testing.F) {
	for _, d := range []int64{0, 1, 2, int64(time.Second), math.MaxInt64 - 1, math.MaxInt64, -1} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		d := fuzzNonNeg(v)
		// RandomJitter saturates instead of wrapping near math.MaxInt64.
		randomHi := time.Duration(math.MaxInt64)
		if d <= randomHi-time.Second {
			randomHi = d + time.Second - 1
		}
		for _, c := range []struct {
			name   string
			j      backoff.Jitter
			lo, hi time.Duration
		}{
			{"FullJitter", backoff.FullJitter, 0, d},
			{"EqualJitter", backoff.EqualJitter, d / 2, d},
			{"NoJitter", backoff.NoJitter, d, d},
			{"RandomJitter", backoff.RandomJitter, d, randomHi},
		} {
			if got := c.j(d); got < c.lo || got > c.hi {
				t.Fatalf("%s(%v) = %v, want in [%v, %v]", c.name, d, got, c.lo, c.hi)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{
		"0", "120", " 7 ", "99999999999999999999", "-1", "1.5", "", "abc",
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
	} {
		f.Add(s, int64(784111777))
	}
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		d, err := backoff.ParseRetryAfter(s, time.Unix(unix, 0))
		switch {
		case err != nil && !strings.HasPrefix(err.Error(), "backoff: bad Retry-After value "):
			t.Fatalf("ParseRetryAfter(%q): unexpected error text %q", s, err)
		case err == nil && d < 0:
			t.Fatalf("ParseRetryAfter(%q) = %v, want >= 0", s, d)
		}
	})
}
