package backoff

import (
	"math"
	"strings"
	"testing"
	"time"
)

type strategyValidator interface{ validate() error }

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		v    strategyValidator
		want string // part of the error, naming the field
	}{
		{Expo{Base: 0.5}, "backoff: Expo.Base must be 0 (default 2) or >= 1, got 0.5"},
		{Expo{Base: -2}, "Expo.Base"},
		{Expo{Base: math.NaN()}, "Expo.Base must be finite"},
		{Expo{Base: math.Inf(1)}, "Expo.Base must be finite"},
		{Expo{Factor: -1}, "backoff: Expo.Factor must not be negative, got -1ns"},
		{Expo{Max: -time.Second}, "Expo.Max"},
		{Fibo{Factor: -1}, "Fibo.Factor"},
		{Fibo{Max: -1}, "Fibo.Max"},
		{Constant{Interval: -1}, "Constant.Interval"},
		{Intervals{1, 2, -time.Second}, "backoff: Intervals[2] is negative: -1s"},
		{Decay{Initial: -1}, "Decay.Initial"},
		{Decay{Rate: -1}, "Decay.Rate must be 0 (default 1) or positive"},
		{Decay{Rate: math.NaN()}, "Decay.Rate must be finite"},
		{Decay{Rate: math.Inf(-1)}, "Decay.Rate must be finite"},
		{Decay{Min: -1}, "Decay.Min"},
		{Decorrelated{Base: -1}, "Decorrelated.Base"},
		{Decorrelated{Max: -1}, "Decorrelated.Max"},
		{StrategyFunc(nil), "backoff: StrategyFunc is nil"},
	}
	for _, c := range cases {
		err := c.v.validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%#v: got %v, want an error containing %q", c.v, err, c.want)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, v := range []strategyValidator{
		Expo{}, Expo{Base: 1}, Expo{Base: 1.5, Factor: time.Millisecond, Max: time.Second},
		Fibo{}, Constant{}, Intervals{}, Intervals{0, 0}, NoWait{},
		Decay{}, Decay{Min: time.Hour}, Decorrelated{}, Decorrelated{Base: 2, Max: 1},
		StrategyFunc(func(int, time.Duration) (time.Duration, bool) { return 0, true }),
	} {
		if err := v.validate(); err != nil {
			t.Errorf("%#v: unexpected error %v", v, err)
		}
	}
}

// The policy skips its default jitter for strategies that are random already.
func TestSelfJittered(t *testing.T) {
	var s Strategy = Decorrelated{}
	if _, ok := s.(interface{ selfJittered() }); !ok {
		t.Fatal("Decorrelated should be self-jittered")
	}
	s = Expo{}
	if _, ok := s.(interface{ selfJittered() }); ok {
		t.Fatal("Expo should not be self-jittered")
	}
}

func TestOptionsSetConfig(t *testing.T) {
	var c config
	Fibo{Max: time.Second}.apply(&c)
	if c.strategy != (Fibo{Max: time.Second}) {
		t.Fatalf("strategy not set: %#v", c.strategy)
	}
	NoJitter.apply(&c)
	if !c.jitterSet || c.jitter == nil {
		t.Fatal("jitter not set")
	}
}
