package backoff

import (
	"fmt"
	"log/slog"

	"github.com/benbjohnson/clock"

	"github.com/backoff-go/backoff/internal/sched"
)

// SchedulerOption configures a [Scheduler]. [WithClock], [WithLogger],
// [WithObserver] and [WithBudget] are both job and scheduler options.
type SchedulerOption interface {
	applySched(c *schedConfig)
}

type schedConfig struct {
	workers  int
	clock    clock.Clock
	logger   *slog.Logger
	observer Observer
	budget   budgetUse
	errs     []error

	groupLimit  int
	groupLimits map[string]int
	groupRate   sched.Rate
	groupRates  map[string]sched.Rate
	maxPending  int
}

func (c *schedConfig) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("backoff: "+format, args...))
}

type schedOptionFunc func(c *schedConfig)

func (f schedOptionFunc) applySched(c *schedConfig) { f(c) }

// maxWorkers is the most workers a Scheduler may have: a typo beyond it is
// an error rather than a million goroutines.
const maxWorkers = 1 << 20

// Workers sets how many attempts may run at once (default 4 × GOMAXPROCS,
// at least 8), at most 2^20. A worker is a goroutine, started when an
// attempt falls due and every started worker is busy, and kept until the
// scheduler stops; an idle one waits on a channel of its own and costs no
// CPU, so the setting costs nothing until it is used. Ops that wait on I/O
// want many workers: a worker is busy for the whole of its op. Measured
// on 2 cores (BenchmarkBusyWorkers): a busy worker holds about 5.5 KB,
// heap and stack; 65,536 start in about 0.2 s, and 2^20 in 21 s.
func Workers(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 || n > maxWorkers {
			c.fail("Workers must be in [1, %d], got %d", maxWorkers, n)
		}
		c.workers = n
	})
}
