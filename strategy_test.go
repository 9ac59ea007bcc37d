package backoff_test

import (
	"math"
	"testing"
	"time"

	"github.com/backoff-go/backoff"
)

const tsec = time.Second // short, for the tables below

// waits collects the first count waits of s, feeding each back as prev.
func strategyWaits(t *testing.T, s backoff.Strategy, count int) []time.Duration {
	t.Helper()
	var out []time.Duration
	var prev time.Duration
	for n := 1; n <= count; n++ {
		d, ok := s.Delay(n, prev)
		if !ok {
			t.Fatalf("Delay(%d) exhausted, want a wait", n)
		}
		out = append(out, d)
		prev = d
	}
	return out
}

func secsList(vs ...float64) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v * float64(tsec))
	}
	return out
}

func equalWaits(t *testing.T, got, want []time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("wait %d: got %v, want %v (all: %v)", i+1, got[i], want[i], got)
		}
	}
}

func TestExpo(t *testing.T) {
	cases := []struct {
		name string
		s    backoff.Expo
		f    func(i int) float64
	}{
		{"default", backoff.Expo{}, func(i int) float64 { return math.Pow(2, float64(i)) }},
		{"base3", backoff.Expo{Base: 3}, func(i int) float64 { return math.Pow(3, float64(i)) }},
		{"factor3", backoff.Expo{Factor: 3 * tsec}, func(i int) float64 { return 3 * math.Pow(2, float64(i)) }},
		{"base3 factor5", backoff.Expo{Base: 3, Factor: 5 * tsec}, func(i int) float64 { return 5 * math.Pow(3, float64(i)) }},
		{"base1", backoff.Expo{Base: 1, Factor: 2 * tsec}, func(int) float64 { return 2 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []float64
			for i := range 9 {
				want = append(want, c.f(i))
			}
			equalWaits(t, strategyWaits(t, c.s, 9), secsList(want...))
		})
	}
}

func TestExpoMax(t *testing.T) {
	equalWaits(t, strategyWaits(t, backoff.Expo{Max: 16 * tsec}, 7), secsList(1, 2, 4, 8, 16, 16, 16))
	equalWaits(t, strategyWaits(t, backoff.Expo{Factor: 3 * tsec, Max: 16 * tsec}, 7), secsList(3, 6, 12, 16, 16, 16, 16))
	equalWaits(t, strategyWaits(t, backoff.Expo{Factor: 3 * tsec, Max: 60 * tsec}, 7), secsList(3, 6, 12, 24, 48, 60, 60))
	equalWaits(t, strategyWaits(t, backoff.Expo{Factor: tsec / 2}, 5), secsList(0.5, 1, 2, 4, 8))
	// A cap below the first wait wins from the start, as in python.
	equalWaits(t, strategyWaits(t, backoff.Expo{Factor: 5 * tsec, Max: 2 * tsec}, 3), secsList(2, 2, 2))
}

func TestFibo(t *testing.T) {
	equalWaits(t, strategyWaits(t, backoff.Fibo{}, 7), secsList(1, 1, 2, 3, 5, 8, 13))
	equalWaits(t, strategyWaits(t, backoff.Fibo{Max: 8 * tsec}, 8), secsList(1, 1, 2, 3, 5, 8, 8, 8))
	equalWaits(t, strategyWaits(t, backoff.Fibo{Max: 30 * tsec}, 10), secsList(1, 1, 2, 3, 5, 8, 13, 21, 30, 30))
	equalWaits(t, strategyWaits(t, backoff.Fibo{Factor: 10 * time.Millisecond}, 4), secsList(0.01, 0.01, 0.02, 0.03))
	// fib(92) is the largest that fits an int64; with a 1ns factor it is still exact.
	d, _ := backoff.Fibo{Factor: 1}.Delay(92, 0)
	if d != 7540113804746346429 {
		t.Fatalf("fib(92) = %d", d)
	}
	if d, _ := (backoff.Fibo{Factor: 1}).Delay(93, 0); d != math.MaxInt64 {
		t.Fatalf("fib(93) should saturate, got %d", d)
	}
}

func TestConstant(t *testing.T) {
	want := make([]time.Duration, 9)
	for i := range want {
		want[i] = 3 * tsec
	}
	equalWaits(t, strategyWaits(t, backoff.Constant{Interval: 3 * tsec}, 9), want)
	equalWaits(t, strategyWaits(t, backoff.Constant{}, 2), secsList(1, 1))
	equalWaits(t, strategyWaits(t, backoff.NoWait{}, 3), secsList(0, 0, 0))
}

func TestIntervals(t *testing.T) {
	s := backoff.Intervals(secsList(1, 2.0, 3.25))
	equalWaits(t, strategyWaits(t, s, 3), secsList(1, 2, 3.25))
	for _, n := range []int{4, 5, math.MaxInt} {
		if d, ok := s.Delay(n, 0); ok || d != 0 {
			t.Fatalf("Delay(%d) = %v, %v; want exhausted", n, d, ok)
		}
	}
	if _, ok := (backoff.Intervals{}).Delay(1, 0); ok {
		t.Fatal("an empty list should be exhausted at once")
	}
	equalWaits(t, strategyWaits(t, backoff.Intervals{0, 0}, 2), secsList(0, 0))
}

func TestDecay(t *testing.T) {
	cases := []struct {
		name string
		s    backoff.Decay
		f    func(i float64) float64
	}{
		{"default", backoff.Decay{}, func(i float64) float64 { return math.Exp(-i) }},
		{"initial100", backoff.Decay{Initial: 100 * tsec}, func(i float64) float64 { return 100 * math.Exp(-i) }},
		{"rate3", backoff.Decay{Initial: 100 * tsec, Rate: 3}, func(i float64) float64 { return 100 * math.Exp(-3*i) }},
		{"min5", backoff.Decay{Initial: 100 * tsec, Rate: 3, Min: 5 * tsec}, func(i float64) float64 { return max(100*math.Exp(-3*i), 5) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strategyWaits(t, c.s, 10)
			for i, d := range got {
				want := time.Duration(c.f(float64(i)) * float64(tsec))
				if diff := d - want; diff < -time.Microsecond || diff > time.Microsecond {
					t.Fatalf("wait %d: got %v, want about %v", i+1, d, want)
				}
			}
		})
	}
}

func TestDecorrelated(t *testing.T) {
	s := backoff.Decorrelated{Base: 100 * time.Millisecond, Max: 5 * tsec}
	for range 200 {
		var prev time.Duration
		for n := 1; n <= 30; n++ {
			d, ok := s.Delay(n, prev)
			if !ok {
				t.Fatal("Decorrelated should never be exhausted")
			}
			if n == 1 && d != s.Base {
				t.Fatalf("first wait %v, want Base %v", d, s.Base)
			}
			hi := min(s.Max, max(s.Base, 3*prev))
			if d < s.Base || d > hi {
				t.Fatalf("wait %d after %v: %v not in [%v, %v]", n, prev, d, s.Base, hi)
			}
			prev = d
		}
	}
	// The waits do grow: after enough attempts some reach the upper half.
	var top int
	for range 100 {
		if d, _ := s.Delay(10, s.Max); d > s.Max/2 {
			top++
		}
	}
	if top == 0 {
		t.Fatal("no wait ever reached the upper half of the range")
	}
	if d, _ := (backoff.Decorrelated{}).Delay(1, 0); d != tsec {
		t.Fatalf("default Base: got %v, want 1s", d)
	}
	if d, _ := (backoff.Decorrelated{Base: 2 * tsec, Max: tsec}).Delay(1, 0); d != tsec {
		t.Fatalf("Max below Base: got %v, want 1s", d)
	}
}

func TestStrategyFunc(t *testing.T) {
	s := backoff.StrategyFunc(func(n int, prev time.Duration) (time.Duration, bool) {
		return time.Duration(2-n) * tsec, n < 4
	})
	equalWaits(t, strategyWaits(t, s, 3), secsList(1, 0, 0)) // negative waits read as 0
	if _, ok := s.Delay(4, 0); ok {
		t.Fatal("the function's exhaustion should pass through")
	}
}

// Every strategy must survive extreme attempt counts without overflow.
func TestSaturation(t *testing.T) {
	const limit = 10 * time.Minute
	strategies := map[string]struct {
		s     backoff.Strategy
		limit time.Duration
	}{
		"expo":            {backoff.Expo{}, math.MaxInt64},
		"expo max":        {backoff.Expo{Max: limit}, limit},
		"expo base huge":  {backoff.Expo{Base: 1e300, Factor: math.MaxInt64}, math.MaxInt64},
		"expo base 1.01":  {backoff.Expo{Base: 1.01, Max: limit}, limit},
		"fibo":            {backoff.Fibo{}, math.MaxInt64},
		"fibo max":        {backoff.Fibo{Max: limit}, limit},
		"fibo factor max": {backoff.Fibo{Factor: math.MaxInt64}, math.MaxInt64},
		"constant":        {backoff.Constant{Interval: math.MaxInt64}, math.MaxInt64},
		"nowait":          {backoff.NoWait{}, 0},
		"decay":           {backoff.Decay{Initial: math.MaxInt64, Rate: 1e-300}, math.MaxInt64},
		"decay min":       {backoff.Decay{Rate: 1e300, Min: limit}, limit},
		"decorrelated":    {backoff.Decorrelated{}, math.MaxInt64},
		"decorrelated mx": {backoff.Decorrelated{Base: tsec, Max: limit}, limit},
		"intervals":       {backoff.Intervals{math.MaxInt64}, math.MaxInt64},
	}
	ns := []int{1, 2, 63, 64, 65, 93, 1000, math.MaxInt32, math.MaxInt - 1, math.MaxInt}
	prevs := []time.Duration{0, 1, limit, math.MaxInt64 / 3, math.MaxInt64}
	for name, c := range strategies {
		for _, n := range ns {
			for _, prev := range prevs {
				d, _ := c.s.Delay(n, prev)
				if d < 0 || d > c.limit {
					t.Errorf("%s: Delay(%d, %v) = %v, want in [0, %v]", name, n, prev, d, c.limit)
				}
			}
		}
	}
	if d, _ := (backoff.Expo{}).Delay(math.MaxInt, 0); d != math.MaxInt64 {
		t.Errorf("uncapped Expo should saturate at MaxInt64, got %v", d)
	}
	if d, _ := (backoff.Fibo{Max: limit}).Delay(math.MaxInt, 0); d != limit {
		t.Errorf("capped Fibo should sit at the cap, got %v", d)
	}
	if d, _ := (backoff.Decay{Min: 5 * tsec}).Delay(math.MaxInt, 0); d != 5*tsec {
		t.Errorf("Decay should sit at Min, got %v", d)
	}
}

// Strategies and jitters are options: this fails to compile if one is not.
var _ = []backoff.Option{
	backoff.Expo{}, backoff.Fibo{}, backoff.Constant{}, backoff.Intervals{}, backoff.NoWait{},
	backoff.Decay{}, backoff.Decorrelated{}, backoff.StrategyFunc(nil), backoff.FullJitter,
}
