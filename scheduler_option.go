package backoff

import (
	"fmt"
	"log/slog"

	"github.com/benbjohnson/clock"
)

// SchedulerOption configures a [Scheduler]. [WithClock], [WithLogger] and
// [WithObserver] are both job and scheduler options.
type SchedulerOption interface {
	applySched(c *schedConfig)
}

type schedConfig struct {
	workers  int
	intake   int
	clock    clock.Clock
	logger   *slog.Logger
	observer Observer
	budget   budgetUse
	errs     []error

	groupLimit  int
	groupLimits map[string]int
	maxPending  int
}

func (c *schedConfig) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("backoff: "+format, args...))
}

type schedOptionFunc func(c *schedConfig)

func (f schedOptionFunc) applySched(c *schedConfig) { f(c) }

// Limits on sizes that NewScheduler allocates in full, so that a typo
// is an error rather than an out-of-memory crash.
const (
	maxWorkers    = 1 << 20
	maxIntakeSize = 1 << 24
)

// Workers sets how many attempts may run at once (default 4 × GOMAXPROCS,
// at least 8), at most 2^20. Each worker is one goroutine for the
// scheduler's life.
func Workers(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 || n > maxWorkers {
			c.fail("Workers must be in [1, %d], got %d", maxWorkers, n)
		}
		c.workers = n
	})
}

// IntakeSize sets how many submitted jobs may wait for the scheduler's
// owner goroutine to take them (default 4096, at most 2^24). When it is full, Submit
// blocks and a NonBlocking Submit fails with ErrIntakeFull.
func IntakeSize(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 || n > maxIntakeSize {
			c.fail("IntakeSize must be in [1, %d], got %d", maxIntakeSize, n)
		}
		c.intake = n
	})
}
