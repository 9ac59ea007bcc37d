package backoff

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Scheduler runs many retry loops on a fixed set of goroutines: one owner
// goroutine keeps every pending wait in one timer structure and holds one
// timer of the clock, armed for the earliest deadline; due attempts run on
// a bounded pool of workers. A waiting job costs a record of about a
// hundred bytes, not a goroutine, and the goroutine count does not grow
// with the number of jobs.
//
// Jobs enter with [Submit] (a [Handle] per job) or [SubmitTo] (a shared
// results channel). A Scheduler is safe for concurrent use. Close or
// Shutdown it when done: until then its goroutines run.
type Scheduler struct {
	ts    timeSource
	epoch time.Time
	env   env
	stats schedStats

	intake chan submission
	wakes  chan jobber
	kicks  chan struct{}
	// ctxEnded receives groups whose context ended, from their watches.
	ctxEnded  chan *group
	stopReq   chan struct{} // closed by Shutdown and Close
	cancelReq chan struct{} // closed when pending work must be cancelled
	discard   chan struct{} // closed when undelivered results are dropped
	done      chan struct{} // closed when the owner has exited
	// loopDone is closed when the owner stops serving requests: every
	// job has ended, and it only waits for workers and flushers.
	loopDone chan struct{}

	mu          sync.Mutex
	closed      bool
	live        int
	keys        map[string]jobber
	stopOnce    sync.Once
	cancelOnce  sync.Once
	discardOnce sync.Once

	ready    readyQueue
	retMu    sync.Mutex
	returned []jobber

	boxMu    sync.Mutex
	outbox   map[any]any
	backlogs atomic.Int32
	flushers sync.WaitGroup

	ids     atomic.Uint64
	pending pendingCap

	// Owned by the owner goroutine.
	groups    map[context.Context]*group
	lastGroup *group // the group groupFor returned last
	allGroups map[*group]struct{}
	top       groupHeap
	closing   bool // no new jobs will come: exit once all have ended
	canceling bool // the rest are being cancelled
	due       []jobber
	limits    limiter
}

// NewScheduler starts a scheduler: its owner goroutine and its workers.
// Bad options are an error naming them.
func NewScheduler(opts ...SchedulerOption) (*Scheduler, error) {
	c := schedConfig{workers: max(8, 4*runtime.GOMAXPROCS(0)), intake: 4096}
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
	s := &Scheduler{
		ts:        newTimeSource(c.clock),
		env:       env{logger: c.logger, observer: c.observer, budget: c.budget},
		intake:    make(chan submission, c.intake),
		wakes:     make(chan jobber, 64),
		kicks:     make(chan struct{}, 1),
		ctxEnded:  make(chan *group, 64),
		stopReq:   make(chan struct{}),
		cancelReq: make(chan struct{}),
		discard:   make(chan struct{}),
		done:      make(chan struct{}),
		loopDone:  make(chan struct{}),
		keys:      make(map[string]jobber),
		outbox:    make(map[any]any),
		groups:    make(map[context.Context]*group),
		allGroups: make(map[*group]struct{}),
		limits:    limiter{deflt: c.groupLimit, limits: c.groupLimits, active: make(map[string]*lane)},
	}
	s.pending.init(c.maxPending)
	s.env.handlerPanic = func(*PanicError) { s.stats.handlerPanics.Add(1) }
	s.epoch = s.ts.Now()
	s.ready.init(c.workers)
	var workers errgroup.Group
	for _, c := range s.ready.chunks {
		workers.Go(func() error { return s.work(c) })
	}
	go s.own(&workers)
	return s, nil
}

func (s *Scheduler) now() int64 { return int64(s.ts.Now().Sub(s.epoch)) }

func dur(ns int64) time.Duration { return time.Duration(ns) }

// own is the owner goroutine: the only one that touches the timer
// structure and the groups.
func (s *Scheduler) own(workers *errgroup.Group) {
	var (
		timer alarm
		armed = int64(-1) // the deadline the timer is set for
		back  []jobber
		// Each request is heard once: its channel stays closed.
		stopReq, cancelReq = s.stopReq, s.cancelReq
	)
	defer close(s.done)
	for {
		now := s.now()
		s.popDue(now)
		if s.closing && s.idle() {
			break
		}
		var tick <-chan time.Time
		if len(s.top) > 0 {
			next := s.top[0].h[0].at
			if next <= now {
				continue
			}
			if next != armed {
				if timer == nil {
					timer = s.ts.NewTimer(dur(next - now))
				} else {
					rearm(timer, dur(next-now))
				}
				armed = next
			}
			tick = timer.C()
		}
		select {
		case <-tick:
			// A hint: popDue reads the clock again.
			armed = -1
		case sub := <-s.intake:
			// One clock reading serves the whole batch: a job due a
			// moment late is found by the next popDue.
			now := s.now()
			s.take(sub, now)
			for range 256 {
				select {
				case sub := <-s.intake:
					s.take(sub, now)
					continue
				default:
				}
				break
			}
		case <-s.kicks:
			s.retMu.Lock()
			back, s.returned = s.returned, back[:0]
			s.retMu.Unlock()
			now := s.now()
			for i, j := range back {
				s.settle(j, now)
				back[i] = nil
			}
			s.flushDue()
		case g := <-s.ctxEnded:
			s.endGroup(g)
		case j := <-s.wakes:
			s.trigger(j)
		case <-stopReq:
			stopReq = nil
			s.closing = true
		case <-cancelReq:
			cancelReq = nil
			s.closing, s.canceling = true, true
			for g := range s.allGroups {
				g.cancel(ErrClosed)
			}
		}
	}
	close(s.loopDone)
	if timer != nil {
		timer.Stop()
	}
	s.ready.close()
	_ = workers.Wait()
	s.flushers.Wait()
}

// idle reports whether every submitted job has ended.
func (s *Scheduler) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live == 0
}

// submission is a job on its way to the owner, with the context it was
// submitted under; the record keeps only the context's group.
type submission struct {
	j   jobber
	ctx context.Context
}

// take receives a submitted job.
func (s *Scheduler) take(sub submission, now int64) {
	j := sub.j
	b := j.base()
	if b.at == 0 {
		b.at = now
	}
	b.g = s.groupFor(sub.ctx)
	b.g.live++
	if c := j.control(); c != nil {
		c.bind(b.g.ctx)
	}
	if b.at <= now || j.stopped() != nil {
		s.makeReady(j)
		s.flushDue()
		return
	}
	s.wait(j)
}

// wait puts a job in its group's heap.
func (s *Scheduler) wait(j jobber) {
	b := j.base()
	g := b.g
	if g.ended {
		s.makeReady(j)
		s.flushDue()
		return
	}
	b.state = stateWaiting
	top := len(g.h) == 0 || b.at < g.h[0].at
	g.h.push(entry{b.at, j})
	s.stats.waiting.Add(1)
	if top {
		s.top.fix(g)
	}
}

// popDue moves every job due by now to the ready queue, in deadline order.
func (s *Scheduler) popDue(now int64) {
	for len(s.top) > 0 {
		g := s.top[0]
		if g.h[0].at > now {
			break
		}
		e := g.h.pop()
		if b := e.j.base(); b.state == stateWaiting && b.at == e.at {
			s.makeReady(e.j)
		} else {
			g.stale--
		}
		s.top.fix(g)
		if len(s.due) >= 1024 {
			s.flushDue()
		}
	}
	s.flushDue()
}

// makeReady sends a due job towards the workers, unless its group's
// limit holds it back.
func (s *Scheduler) makeReady(j jobber) {
	b := j.base()
	if b.state == stateWaiting {
		s.stats.waiting.Add(-1)
	}
	if !s.admit(j) {
		return
	}
	b.state = stateReady
	s.due = append(s.due, j)
}

func (s *Scheduler) flushDue() {
	if len(s.due) == 0 {
		return
	}
	s.ready.push(s.due)
	clear(s.due)
	s.due = s.due[:0]
}

// settle takes back a job from a worker: it either waits again or has ended.
func (s *Scheduler) settle(j jobber, now int64) {
	s.freeSlot(j)
	b := j.base()
	if !b.ended {
		if b.at <= now || j.stopped() != nil {
			s.makeReady(j)
			s.flushDue()
		} else {
			s.wait(j)
		}
		return
	}
	g := b.g
	g.live--
	if g.live == 0 {
		s.release(g)
	}
	s.mu.Lock()
	s.live--
	s.mu.Unlock()
	s.pending.release()
}

// freeKey drops key from the live keys if it still belongs to j.
func (s *Scheduler) freeKey(key string, j jobber) {
	s.mu.Lock()
	if s.keys[key] == j {
		delete(s.keys, key)
	}
	s.mu.Unlock()
}

// trigger makes a waiting job due now (Trigger, Cancel), and lets a held
// job that was cancelled end.
func (s *Scheduler) trigger(j jobber) {
	b := j.base()
	switch {
	case b.state == stateWaiting:
		b.g.stale++
		s.makeReady(j)
		s.flushDue()
		b.g.compact()
		s.top.fix(b.g)
	case b.state == stateHeld && j.stopped() != nil:
		s.unhold(b)
		s.makeReady(j)
		s.flushDue()
	}
}

// wake asks the owner to make j due now if it is waiting.
func (s *Scheduler) wake(j jobber) {
	select {
	case s.wakes <- j:
	case <-s.loopDone:
		// Every job has ended: there is nothing to wake.
	}
}

// Cancel stops the live job with key, as Handle.Cancel does, and reports
// whether there was one.
func (s *Scheduler) Cancel(key string) bool {
	s.mu.Lock()
	j := s.keys[key]
	s.mu.Unlock()
	if j == nil {
		return false
	}
	j.control().stop()
	s.wake(j)
	return true
}

// Trigger makes the waiting job with key attempt now instead of at the end
// of its wait ("check now"), and reports whether a live job has the key.
// A job that is running or due is not affected. Its next wait follows the
// strategy as usual.
func (s *Scheduler) Trigger(key string) bool {
	s.mu.Lock()
	j := s.keys[key]
	s.mu.Unlock()
	if j == nil {
		return false
	}
	s.wake(j)
	return true
}

// Close stops the scheduler: Submit fails with ErrClosed from now on,
// every waiting job gives up at once with ReasonClosed, running attempts'
// contexts are cancelled, and their jobs end with ReasonClosed when their
// ops return. Terminal events that a results channel has not taken are
// discarded and counted in Stats. Close returns when every goroutine of the
// scheduler has exited, so it waits for ops that ignore their context.
// Calling it again returns the same nil error.
func (s *Scheduler) Close() error {
	s.beginStop()
	s.cancelOnce.Do(func() { close(s.cancelReq) })
	s.discardOnce.Do(func() { close(s.discard) })
	<-s.done
	return nil
}

// Shutdown stops intake (Submit fails with ErrClosed) and lets every job
// run to its end, then returns nil once all goroutines have exited. If ctx
// ends first, it cancels the rest as Close does and returns ctx.Err()
// without waiting for ops that ignore their context.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.beginStop()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		// Both may be ready: a scheduler that has finished reports nil.
		select {
		case <-s.done:
			return nil
		default:
		}
	}
	s.cancelOnce.Do(func() { close(s.cancelReq) })
	s.discardOnce.Do(func() { close(s.discard) })
	return ctx.Err()
}

func (s *Scheduler) beginStop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopReq) })
}
