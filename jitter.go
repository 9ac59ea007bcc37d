package backoff

import (
	"math/rand/v2"
	"time"
)

// Jitter spreads a wait at random, so that many jobs that failed together do
// not retry together. It must return a value in [0, math.MaxInt64] for any
// d >= 0, and be safe for concurrent use.
//
// A Jitter is an option: pass one to [Retry] or [NewPolicy] to replace the
// default, [FullJitter]. It is applied after the strategy's cap, so the cap
// bounds the wait before jitter, not after (see [RandomJitter]).
type Jitter func(d time.Duration) time.Duration

func (j Jitter) apply(c *config) {
	if j == nil {
		c.fail("Jitter is nil (NoJitter means none)")
	}
	c.setJitter(j)
}

// FullJitter waits a uniform random time in [0, d]: a 4s wait becomes anything
// from 0 to 4s. It is the default (AWS's "full jitter", python-backoff's
// full_jitter): it spreads retries the most, at the cost of some waits
// being very short. It never exceeds the strategy's cap. O(1), no allocation.
var FullJitter Jitter = fullJitter

// RandomJitter adds a uniform random time in [0, 1s) to d: a 4s wait becomes
// 4s to 5s (python-backoff's random_jitter). It keeps every wait at least as
// long as the strategy asked, so it may exceed the strategy's Max by up to a
// second. It saturates at math.MaxInt64. O(1), no allocation.
var RandomJitter Jitter = randomJitter

// EqualJitter keeps half of d and draws the other half at random: a 4s wait
// becomes 2s to 4s. A middle ground between [FullJitter] and [NoJitter] that
// never retries sooner than half the planned wait. O(1), no allocation.
var EqualJitter Jitter = equalJitter

// NoJitter leaves every wait as the strategy gave it, for deterministic
// schedules (tests, or waits a server asked for).
var NoJitter Jitter = noJitter

func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	// Unsigned so that d+1 fits even when d is math.MaxInt64.
	return time.Duration(rand.Uint64N(uint64(d) + 1))
}

func randomJitter(d time.Duration) time.Duration {
	d = max(d, 0)
	r := time.Duration(rand.Int64N(int64(time.Second)))
	if d > maxDuration-r {
		return maxDuration
	}
	return d + r
}

func equalJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	half := d / 2
	return d - half + time.Duration(rand.Uint64N(uint64(half)+1))
}

func noJitter(d time.Duration) time.Duration { return max(d, 0) }
