package backoff

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backoff-go/backoff/internal/sched"
)

// Scheduler runs many retry loops on a fixed set of goroutines: one owner
// goroutine keeps every pending wait in one timer structure and holds one
// timer of the clock, armed for the earliest deadline; due attempts run on
// a bounded pool of workers, started as work comes. A waiting job costs a
// record of about a hundred bytes, not a goroutine, and the goroutine
// count does not grow with the number of jobs.
//
// Jobs enter through two functions: [Submit], which returns a [Handle] per
// job (go doc lists it under type Handle), and [SubmitTo], which sends
// each job's terminal event to a results channel many jobs share. A
// Scheduler is safe for concurrent use. Close or Shutdown it when done:
// until then its goroutines run. The zero Scheduler is unusable but safe:
// Submit fails, and the rest does nothing.
type Scheduler struct {
	core    *sched.Core // nil in a zero Scheduler
	rt      runEnv
	stats   counters
	keys    keyTable
	pending pendingCap
	out     outbox
	ids     atomic.Uint64

	stopOnce sync.Once
	stopped  chan struct{} // closed when Close or Shutdown is first called
}

// runEnv is what a job needs on a worker, and all it gets of its
// scheduler.
type runEnv struct {
	clock   epochClock
	env     env
	stats   *counters
	out     *outbox
	keys    *keyTable
	pending *pendingCap
	core    *sched.Core
}

func (rt *runEnv) now() int64 { return rt.clock.Now() }

func dur(ns int64) time.Duration { return time.Duration(ns) }

// runner is a job as a worker runs it.
type runner interface {
	run(rt *runEnv)
	exited(rt *runEnv)
	retire(rt *runEnv)
}

// NewScheduler starts a scheduler: its owner goroutine. Bad options are
// an error naming them.
func NewScheduler(opts ...SchedulerOption) (*Scheduler, error) {
	c := schedConfig{workers: max(8, 4*runtime.GOMAXPROCS(0))}
	for _, o := range opts {
		if o == nil {
			c.fail("nil SchedulerOption")
			continue
		}
		o.applySched(&c)
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	s := &Scheduler{stopped: make(chan struct{})}
	ts := newTimeSource(c.clock)
	s.rt = runEnv{
		clock:   newEpochClock(ts),
		env:     env{logger: c.logger, observer: c.observer, budget: c.budget, handlerPanic: func() { s.stats.handlerPanics.Add(1) }},
		stats:   &s.stats,
		out:     &s.out,
		keys:    &s.keys,
		pending: &s.pending,
	}
	s.pending.init(c.maxPending)
	s.out.init(&s.stats)
	s.core = sched.Start(sched.Config{
		Workers:     c.workers,
		Clock:       &s.rt.clock,
		Run:         func(j sched.Job) { j.(runner).run(&s.rt) },
		Exited:      func(j sched.Job) { j.(runner).exited(&s.rt) },
		Retire:      func(j sched.Job) { j.(runner).retire(&s.rt) },
		GroupLimit:  c.groupLimit,
		GroupLimits: c.groupLimits,
		GroupRate:   c.groupRate,
		GroupRates:  c.groupRates,
		CloseCause:  ErrClosed,
	})
	s.rt.core = s.core
	return s, nil
}

// Cancel stops the live job with key, as Handle.Cancel does, and reports
// whether there was one. It never blocks.
func (s *Scheduler) Cancel(key string) bool {
	if s == nil || s.core == nil {
		return false
	}
	c := s.keys.get(key)
	if c == nil {
		return false
	}
	c.stop()
	s.core.Wake(c.job)
	return true
}

// Trigger makes the live job with key attempt now instead of at the end
// of its wait ("check now"), and reports whether there was one. If an
// attempt is running, the wait after it is cut to 0 instead, once; a job
// due now is not affected. The job's backoff event still says the wait
// the strategy planned. A triggered job still waits for its concurrency
// group's turn, for its group's token (GroupRate) and for room in its
// retry budget. It never blocks.
func (s *Scheduler) Trigger(key string) bool {
	if s == nil || s.core == nil {
		return false
	}
	c := s.keys.get(key)
	if c == nil {
		return false
	}
	c.trig.Store(true)
	s.core.Wake(c.job)
	return true
}

// Close stops the scheduler: Submit fails with ErrClosed from now on,
// every waiting job gives up at once with ReasonClosed, running attempts'
// contexts are cancelled, and their jobs end when their ops return (with
// success, if an op returns success). Terminal events that a results
// channel has not taken are discarded and counted in Stats. Close returns
// when every goroutine of the scheduler has exited, so it waits for ops
// that ignore their context. After it returns nothing is sent on a
// results channel again: that is when their owner may close them.
//
// Called from a callback running on a worker (an op, a handler, an
// Observer or a logger, of this scheduler or another), Close lets the
// owner goroutine send the terminal events of the jobs it has taken back
// ended (a moment: the owner never waits for a worker), then stops every
// job, seals the results channels and returns without waiting for the
// workers, which include its caller. A job whose end is still under way
// on another worker, and every job Close stops, has its event discarded
// and counted. Calling it again returns nil, and so does Close of a zero
// Scheduler.
func (s *Scheduler) Close() error {
	if s == nil || s.core == nil {
		return nil
	}
	onWorker := sched.OnWorker()
	if onWorker {
		// Sealed before the jobs it stops end, unlike a Close that
		// waits: their events are discarded even where results has room.
		s.core.Sync()
	}
	s.stop(true)
	s.out.dropBacklogs()
	if !onWorker {
		<-s.core.Done()
	}
	s.out.close()
	return nil
}

// Shutdown stops intake (Submit fails with ErrClosed) and lets every job
// run to its end and every results channel's backlog be read, then returns
// nil once all goroutines have exited. If ctx ends first, it cancels the
// rest as Close does and returns ctx.Err() without waiting for ops that
// ignore their context. Either way, after it returns nothing is sent on a
// results channel again: the terminal events of jobs that end later are
// discarded and counted, while their handlers still run.
//
// Called from a callback running on a worker, Shutdown lets the owner
// send the terminal events of the jobs it has taken back ended, stops
// intake, seals the results channels and returns nil without waiting for
// the running jobs, which end as they would (their events discarded). A
// nil ctx is an error; Shutdown of a zero Scheduler returns nil.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	if s == nil || s.core == nil {
		return nil
	}
	if ctx == nil {
		return errors.New("backoff: Shutdown: ctx is nil")
	}
	onWorker := sched.OnWorker()
	if onWorker {
		s.core.Sync()
	}
	s.stop(false)
	if onWorker {
		s.out.close()
		return nil
	}
	select {
	case <-s.core.Done():
	case <-ctx.Done():
	}
	// Both may be ready: a scheduler that has finished reports nil.
	select {
	case <-s.core.Done():
		if s.out.n.Load() > 0 {
			select {
			case <-s.out.drained():
			case <-ctx.Done():
			}
		}
		if s.out.n.Load() == 0 {
			s.out.close()
			return nil
		}
	default:
	}
	s.core.Sync()
	s.stop(true)
	s.out.close()
	return ctx.Err()
}

// stop stops intake, and with cancel every job.
func (s *Scheduler) stop(cancel bool) {
	s.stopOnce.Do(func() { close(s.stopped) })
	s.core.Stop(cancel)
}
