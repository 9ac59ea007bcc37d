package sched

import (
	"context"
	"math"
	"time"
)

// owner is the state of the owner goroutine. Only that goroutine has a
// pointer to it.
type owner struct {
	cfg    Config
	in     *inbox
	pool   *pool
	gauges *Gauges

	groups     map[context.Context]*ctxGroup // the hashable contexts' groups
	last       *ctxGroup                     // the group groupFor returned last
	all        map[*ctxGroup]struct{}
	peakGroups int // the most groups in all since it was made
	top        groupHeap
	lanes      lanes
	due        []Job // made ready, not yet pushed to the pool
	live       int   // jobs taken in and not yet ended
	// spare is the pool's free workers at its last count (pool.free) less
	// the jobs pushed since: a lower bound, as only the owner gives
	// workers jobs, and workers only come free meanwhile (seat.go).
	spare int

	closing   bool // no new jobs will come: exit once all have ended
	canceling bool // the rest are being cancelled

	mail  mail                // the inbox's last batch
	back  [backShards]jobList // the pool's last hand-back batch: back[:backs]
	backs int
}

// run is the owner's loop: it keeps one timer armed for the earliest due
// time or token time (rate.go) and wakes for that timer or a kick (the
// inbox, or jobs handed back).
func (o *owner) run() {
	var (
		timer Timer
		armed = int64(-1) // the due time the timer is set for
		fired bool
	)
	for {
		now := o.cfg.Clock.Now()
		if fired {
			// A timer that fired means its due time has come, even when
			// the clock's reading says otherwise: past the range of
			// time.Duration it saturates, and the owner would spin.
			now = max(now, armed)
			fired, armed = false, -1
		}
		o.popDue(now)
		if o.closing && o.live == 0 {
			break
		}
		var tick <-chan time.Time
		if next, ok := o.nextTime(); ok {
			if next <= now {
				continue
			}
			if next != armed {
				if timer == nil {
					timer = o.cfg.Clock.NewTimer(time.Duration(next - now))
				} else {
					Rearm(timer, time.Duration(next-now))
				}
				armed = next
			}
			tick = timer.C()
		}
		select {
		case <-tick:
			fired = true
		case <-o.in.kick:
			o.drain()
		}
	}
	if timer != nil {
		timer.Stop()
	}
	// A Sync that came after the last batch finds nothing left to take
	// back.
	o.in.take(&o.mail)
	o.mail.answerSyncs()
	o.pool.close()
}

// nextTime returns the earliest due time or token time, if there is one.
func (o *owner) nextTime() (int64, bool) {
	next, ok := int64(math.MaxInt64), false
	if len(o.top) > 0 {
		next, ok = o.top[0].tl.first(), true
	}
	if t := o.lanes.rates.timed; len(t) > 0 {
		next, ok = min(next, t[0].at), true
	}
	return next, ok
}

// drain takes in everything the inbox and the workers have for the owner.
// One clock reading serves the whole batch: a job due a moment late is
// found by the next popDue.
func (o *owner) drain() {
	o.in.take(&o.mail)
	o.backs = o.pool.takeBack(&o.back)
	now := o.cfg.Clock.Now()
	for _, r := range o.mail.rates {
		o.setRate(r.name, r.rate, now)
	}
	// Workers that came free go first to the rated jobs that waited for
	// one, not to the jobs that fall due in this batch.
	o.seat(now)
	for _, s := range o.mail.subs {
		o.take(s, now)
	}
	for i := range o.backs {
		for _, b := range o.back[i].blocks {
			for _, j := range b {
				o.settle(j, now)
			}
		}
	}
	for _, j := range o.mail.wakes {
		o.wake(j, now)
	}
	for _, g := range o.mail.ended {
		o.endGroup(g, now)
	}
	o.closing = o.closing || o.mail.closed
	if o.mail.cancel && !o.canceling {
		o.canceling = true
		for g := range o.all {
			o.closeGroup(g, now)
		}
	}
	o.flushDue()
	// Every job handed back before a Sync asked is in this batch: it was
	// on the hand-back list before the Sync was in the inbox, which the
	// owner took first.
	o.mail.answerSyncs()
	// Keep no ended job reachable from the lists until the next batch.
	for i := range o.backs {
		o.back[i].handled()
	}
	o.mail.clear()
}

// take receives a submitted job.
func (o *owner) take(s submission, now int64) {
	j := s.j
	b := j.base()
	b.g = o.groupFor(s.ctx)
	b.g.live++
	o.live++
	if b.at == 0 || j.TakeTrigger() {
		b.at = now // no initial delay, or a Trigger came first
	}
	o.next(j, now)
}

// settle takes back a job from a worker: it waits again, or it has ended.
func (o *owner) settle(j Job, now int64) {
	o.freeSlot(j, now)
	b := j.base()
	if !b.Ended {
		if j.TakeTrigger() {
			b.at = min(b.at, now)
		}
		o.next(j, now)
		return
	}
	if o.cfg.Retire != nil {
		o.cfg.Retire(j)
	}
	g := b.g
	g.live--
	if g.live == 0 {
		o.release(g)
	}
	o.live--
	o.gauges.Pending.Add(-1)
}

// next sends a job that has not ended on: to the workers if it is due or
// stopped, else into the timer structure.
func (o *owner) next(j Job, now int64) {
	b := j.base()
	if b.at <= now || b.g.ended || o.stopped(j) {
		o.makeReady(j, now)
		return
	}
	b.state = stateWaiting
	g := b.g
	top := g.tl.len() == 0 || b.at < g.tl.first()
	g.tl.push(entry{b.at, j})
	o.gauges.Waiting.Add(1)
	if top {
		o.top.fix(g)
	}
}

// wake looks at a job again for Wake: a stopped job that waits or is held
// goes to a worker, which ends it; a triggered job that waits is due now.
// A job with a worker is seen to when it comes back (settle).
func (o *owner) wake(j Job, now int64) {
	b := j.base()
	switch b.state {
	case stateWaiting:
		if o.stopped(j) || j.TakeTrigger() {
			b.g.stale++
			o.makeReady(j, now)
			b.g.compact()
			o.top.fix(b.g)
		}
	case stateHeld:
		if o.stopped(j) {
			o.tidy(o.unhold(j))
			o.toWorkers(j)
		}
	}
}

// stopped reports whether a job is to end without another attempt.
func (o *owner) stopped(j Job) bool { return j.base().g.ended || j.Canceled() }

// popDue moves every job due by now towards the workers, in due order,
// after the held jobs whose token has come.
func (o *owner) popDue(now int64) {
	o.releaseTimed(now)
	for len(o.top) > 0 {
		g := o.top[0]
		if g.tl.first() > now {
			break
		}
		e := g.tl.pop()
		if standsFor(e) {
			o.makeReady(e.j, now)
		} else {
			g.stale--
		}
		o.top.fix(g)
		if len(o.due) >= 1024 {
			o.flushDue()
		}
	}
	o.flushDue()
}

// makeReady sends a due job towards the workers, unless its concurrency
// group's limit or rate holds it back.
func (o *owner) makeReady(j Job, now int64) {
	if j.base().state == stateWaiting {
		o.gauges.Waiting.Add(-1)
	}
	if o.admit(j, now) {
		o.toWorkers(j)
	}
}

// toWorkers queues a job for the pool; flushDue pushes the batch.
func (o *owner) toWorkers(j Job) {
	j.base().state = stateReady
	o.due = append(o.due, j)
}

func (o *owner) flushDue() {
	if len(o.due) == 0 {
		return
	}
	o.pool.push(o.due)
	o.spare -= len(o.due)
	o.due = spent(o.due)
}
