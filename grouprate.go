package backoff

import (
	"errors"
	"fmt"
	"math"

	"github.com/backoff-go/backoff/internal/sched"
)

// Group rates: a concurrency group may be held to a rate of attempts, so
// that jobs polling one API share its quota (100 requests a second for
// 10,000 polled jobs). Each rated group has a token bucket; a due job
// takes a token as a worker starts it, or is held by the owner goroutine
// until a token and a worker are both to be had.

// GroupRate holds every named concurrency group to perSecond attempts a
// second, with bursts of up to burst, unless GroupRateFor or SetGroupRate
// gives it a rate of its own. Jobs without a Group are not limited, and a
// group's rate never delays another group.
//
// Each rated group has a token bucket (golang.org/x/time/rate). A due
// job takes a token as a worker is handed its attempt; one that finds
// none is held, in the order it fell due, until its token comes, and is
// counted in Stats.RateHeld. A held job uses no worker and nothing polls for it: the
// owner goroutine's one timer is armed for the token's time. Every attempt
// of a rated job takes its own token: Trigger makes a job due, not
// exempt, and a retry with no wait goes back to the owner for its token.
// With GroupLimit too, a job takes a slot and a token together or
// neither, so a group whose slots are all taken spends no tokens.
//
// A job takes its token only when a worker is free to start its attempt
// at once; while every worker is busy, it is held (in Stats.RateHeld) and
// its group spends no tokens. So the attempts of a rated group that start
// in any window of length w number at most burst + perSecond·w, whether
// the workers are idle or saturated: after a stall of every worker, the
// group's held jobs start a burst's worth at once and then at the rate,
// not back to back. (A start is when its worker is handed the job: on the
// real clock, the goroutine's wake-up may add its latency.) Under
// overload a held job gets a worker only when no due job is queued for
// one, so due jobs without a rate go first.
//
// Time held counts towards MaxTime: a job whose MaxTime has run out when
// its token comes ends with ReasonMaxTime without calling its op. A held
// job still ends at once, using no token, when it is cancelled, its
// context ends or the scheduler closes.
//
// Nothing blocks on a rate: Submit returns as it would, and a held job
// waits in its group's queue at the owner. Cost: a bucket of about 100
// bytes per group that spent tokens lately (full buckets are forgotten),
// and per due attempt of a rated job a few map lookups and the bucket's
// arithmetic, with no allocation (about 0.1 µs of the owner's time, 15 ns
// without a rate: BenchmarkAdmit), and a lock of the worker pool when the
// free workers it counted last are spoken for; holding a job and letting
// it through cost O(1). Since a rated job never queues for a worker, a
// burst of a rated group's due jobs goes to the workers one hand-off at a
// time, each a worker's wake-up and a round trip to the owner: about 4 µs
// a job against 0.8 µs without a rate (BenchmarkGroupRate, 2 cores), far
// above any quota's rate.
func GroupRate(perSecond float64, burst int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if c.checkRate("GroupRate", perSecond, burst) {
			c.groupRate = sched.Rate{PerSecond: perSecond, Burst: burst}
		}
	})
}

// GroupRateFor holds the group called name to perSecond attempts a second,
// with bursts of up to burst, overriding GroupRate for it. See GroupRate.
func GroupRateFor(name string, perSecond float64, burst int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if name == "" {
			c.fail("GroupRateFor: name is empty")
			return
		}
		if c.checkRate(fmt.Sprintf("GroupRateFor(%q)", name), perSecond, burst) {
			if c.groupRates == nil {
				c.groupRates = make(map[string]sched.Rate)
			}
			c.groupRates[name] = sched.Rate{PerSecond: perSecond, Burst: burst}
		}
	})
}

// checkRate records an error for each bad field of a rate given to fn,
// and reports whether there was none.
func (c *schedConfig) checkRate(fn string, perSecond float64, burst int) bool {
	errs := rateErrs(fn, perSecond, burst)
	c.errs = append(c.errs, errs...)
	return len(errs) == 0
}

func rateErrs(fn string, perSecond float64, burst int) []error {
	var errs []error
	if !(perSecond > 0) || math.IsInf(perSecond, 1) {
		errs = append(errs, fmt.Errorf("backoff: %s: perSecond must be finite and > 0, got %v", fn, perSecond))
	}
	if burst < 1 {
		errs = append(errs, fmt.Errorf("backoff: %s: burst must be >= 1, got %d", fn, burst))
	}
	return errs
}

// SetGroupRate holds the group called name to perSecond attempts a second,
// with bursts of up to burst, from its next token on: to slow down after
// a 429, say, or to speed up again. It sets the group's own rate, as
// GroupRateFor does, so a GroupRate default no longer applies to it; the
// other groups keep theirs. The tokens the group has saved are kept, up to
// the new burst, and the token a held job waits for comes at the new rate.
//
// It never blocks: the change reaches the owner goroutine through its
// inbox, which takes it in before the jobs that fall due after it. Bad
// arguments are an error naming the field; once Close or Shutdown was
// called it returns ErrClosed, and it fails on a zero Scheduler.
func (s *Scheduler) SetGroupRate(name string, perSecond float64, burst int) error {
	switch {
	case s == nil:
		return errors.New("backoff: SetGroupRate: scheduler is nil")
	case s.core == nil:
		return errors.New("backoff: SetGroupRate: the Scheduler was not made by NewScheduler")
	case name == "":
		return errors.New("backoff: SetGroupRate: name is empty")
	}
	if errs := rateErrs(fmt.Sprintf("SetGroupRate(%q)", name), perSecond, burst); len(errs) > 0 {
		return errors.Join(errs...)
	}
	if !s.core.SetRate(name, sched.Rate{PerSecond: perSecond, Burst: burst}) {
		return ErrClosed
	}
	return nil
}
