package backoff_test

import (
	"math"
	"testing"
	"time"

	"github.com/backoff-go/backoff"
)

// inRange checks many draws of j(d) against [lo, hi].
func jitterInRange(t *testing.T, name string, j backoff.Jitter, d, lo, hi time.Duration) {
	t.Helper()
	for range 200 {
		if got := j(d); got < lo || got > hi {
			t.Fatalf("%s(%v) = %v, want in [%v, %v]", name, d, got, lo, hi)
		}
	}
}

func TestJitterRanges(t *testing.T) {
	for n := range 100 {
		d := time.Duration(n) * time.Second
		jitterInRange(t, "FullJitter", backoff.FullJitter, d, 0, d)
		jitterInRange(t, "RandomJitter", backoff.RandomJitter, d, d, d+time.Second-1)
		jitterInRange(t, "EqualJitter", backoff.EqualJitter, d, d/2, d)
		jitterInRange(t, "NoJitter", backoff.NoJitter, d, d, d)
	}
}

func TestJitterEdges(t *testing.T) {
	const big = time.Duration(math.MaxInt64)
	for _, d := range []time.Duration{0, 1, 2, 3, big - 1, big} {
		jitterInRange(t, "FullJitter", backoff.FullJitter, d, 0, d)
		jitterInRange(t, "EqualJitter", backoff.EqualJitter, d, d/2, d)
		jitterInRange(t, "NoJitter", backoff.NoJitter, d, d, d)
	}
	jitterInRange(t, "RandomJitter", backoff.RandomJitter, big, big, big) // saturates
	jitterInRange(t, "RandomJitter", backoff.RandomJitter, 0, 0, time.Second-1)
}

// FullJitter should spread waits, not merely stay in range.
func TestFullJitterSpreads(t *testing.T) {
	const d = time.Second
	var low, high int
	for range 1000 {
		switch v := backoff.FullJitter(d); {
		case v < d/4:
			low++
		case v > 3*d/4:
			high++
		}
	}
	if low < 100 || high < 100 { // about 250 each; 100 is many sigma away
		t.Fatalf("poor spread: %d below 25%%, %d above 75%%", low, high)
	}
}
