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

// Workers sets how many attempts may run at once (default 4 × GOMAXPROCS,
// at least 8). Each worker is one goroutine for the scheduler's life.
func Workers(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 {
			c.fail("Workers must be >= 1, got %d", n)
		}
		c.workers = n
	})
}

// IntakeSize sets how many submitted jobs may wait for the scheduler's
// owner goroutine to take them (default 4096). When it is full, Submit
// blocks and a NonBlocking Submit fails with ErrIntakeFull.
func IntakeSize(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 {
			c.fail("IntakeSize must be >= 1, got %d", n)
		}
		c.intake = n
	})
}
