package sched

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Config sets up a Core.
type Config struct {
	// Workers is the most attempts that may run at once.
	Workers int
	Clock   Clock
	// Run runs one step of a job on a worker: an attempt, or the job's
	// end. It must hand the job back ended, or with its next due time set.
	Run func(Job)
	// Exited is called on a worker that exits through runtime.Goexit
	// during Run, with its job, before the job is handed back: the job
	// must be ended then. A new worker takes the lost one's place.
	Exited func(Job)
	// Retire, if set, is called by the owner with each ended job it
	// takes back, before Pending counts the job out. It must not block.
	Retire func(Job)
	// GroupLimit caps every concurrency group; GroupLimits caps the named
	// ones. 0 means no cap.
	GroupLimit  int
	GroupLimits map[string]int
	// GroupRate holds every concurrency group to a rate; GroupRates the
	// named ones. The zero Rate means none.
	GroupRate  Rate
	GroupRates map[string]Rate
	// CloseCause is the cause of the cancel that ends every job's context
	// when the scheduler closes.
	CloseCause error
}

// Core is a running scheduler core: its owner goroutine and worker pool.
// Its methods are safe for concurrent use and never block, except Wait.
type Core struct {
	in     *inbox
	pool   *pool
	gauges Gauges
	done   chan struct{}
}

// Gauges are counts that the owner keeps, for Stats.
type Gauges struct {
	// Pending counts jobs accepted and not yet taken back ended by the
	// owner, which it does a moment after their end was published.
	Pending  atomic.Int64
	Waiting  atomic.Int64 // in the timer structure
	Held     atomic.Int64 // held by their concurrency group's limit
	RateHeld atomic.Int64 // held by their concurrency group's rate
}

// Start starts a core: its owner goroutine. Workers start as jobs fall
// due.
func Start(cfg Config) *Core {
	kick := make(chan struct{}, 1)
	c := &Core{
		in:   &inbox{kick: kick},
		pool: &pool{run: cfg.Run, exited: cfg.Exited, kick: kick, max: cfg.Workers},
		done: make(chan struct{}),
	}
	o := &owner{
		cfg:    cfg,
		in:     c.in,
		pool:   c.pool,
		gauges: &c.gauges,
		groups: make(map[context.Context]*ctxGroup),
		all:    make(map[*ctxGroup]struct{}),
		lanes: lanes{deflt: cfg.GroupLimit, limits: cfg.GroupLimits,
			rates:  rates{deflt: cfg.GroupRate, own: maps.Clone(cfg.GroupRates), buckets: make(map[string]*rate.Limiter)},
			active: make(map[string]*lane), held: make(map[Job]holdPos)},
	}
	if o.lanes.rates.own == nil {
		o.lanes.rates.own = make(map[string]Rate)
	}
	o.lanes.on = o.lanes.deflt > 0 || len(o.lanes.limits) > 0 || o.lanes.rates.on()
	go func() {
		defer close(c.done)
		o.run()
	}()
	return c
}

// ErrStopped is Submit's error once Stop was called.
var ErrStopped = errors.New("sched: stopped")

// Submit hands a job to the owner, under the context it was submitted
// with. When a burst of submissions has outrun the owner, it waits for the
// owner to take them in, or for ctx's end (then it returns ctx's error).
// Once Stop was called it returns ErrStopped. On an error the job was not
// taken.
func (c *Core) Submit(ctx context.Context, j Job) error {
	c.gauges.Pending.Add(1)
	for {
		ok, full := c.in.submit(ctx, j)
		switch {
		case ok:
			return nil
		case full == nil:
			c.gauges.Pending.Add(-1)
			return ErrStopped
		}
		select {
		case <-full:
		case <-ctx.Done():
			c.gauges.Pending.Add(-1)
			return ctx.Err()
		}
	}
}

// Wake asks the owner to look at j again: to end it at once if it was
// stopped (Canceled) and waits or is held, or to make it due now if a
// Trigger came for it.
func (c *Core) Wake(j Job) { c.in.wake(j) }

// Sync returns once the owner has taken back every job handed back to it
// before the call (and so has called Config.Retire for each ended one),
// or once the owner has exited. The owner never waits for a worker, so a
// worker may call it.
func (c *Core) Sync() {
	done := make(chan struct{})
	c.in.sync(done)
	select {
	case <-done:
	case <-c.done:
	}
}

// SetRate holds the group called name to r from its next token on,
// whatever rate it had. It never blocks; once Stop was called it does
// nothing and reports false.
func (c *Core) SetRate(name string, r Rate) bool { return c.in.setRate(rateChange{name, r}) }

// Stop stops intake. Jobs run to their end, or with cancel, every job's
// context is cancelled with Config.CloseCause and waiting jobs are made
// due, so that their workers end them at once.
func (c *Core) Stop(cancel bool) { c.in.stop(cancel) }

// Done is closed when the owner and every worker have exited, after Stop,
// once every job has ended.
func (c *Core) Done() <-chan struct{} { return c.done }

// Gauges returns the owner's counts.
func (c *Core) Gauges() *Gauges { return &c.gauges }

// Ready returns the number of due jobs waiting for a free worker.
func (c *Core) Ready() int { return c.pool.queued() }

// Running returns the number of attempts running now.
func (c *Core) Running() int { return int(c.pool.running.Load()) }
