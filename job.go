package backoff

import (
	"context"
	"errors"
)

// jobber is how the scheduler's untyped parts hold a job of any value type.
type jobber interface {
	base() *jobBase
	// control is the job's own stop switch, nil for a plain fan-in job.
	control() *jobCtl
	// stopped returns the context whose end stops the job, or nil.
	stopped() context.Context
	// attempt runs on a worker: one attempt, or the job's end when its
	// context is done.
	attempt(s *Scheduler)
	// groupName is the job's concurrency group, or "".
	groupName() string
}

// Where a job is, as the owner sees it.
const (
	stateNew     uint8 = iota // submitted, not yet taken in by the owner
	stateWaiting              // in its group's heap
	stateReady                // due: in the ready queue or with a worker
	stateHeld                 // due, held back by its group's limit
)

// jobBase is the untyped part of a job record. Ownership moves with the
// job: the owner reads and writes it while the job waits, a worker while
// it runs; the ready queue and the hand-back list order the two.
type jobBase struct {
	g     *group
	id    uint64
	at    int64 // due time, in ns since the scheduler's epoch
	start int64 // when the first attempt started
	prev  int64 // the last wait
	tries int32
	state uint8
	ended bool
	owed  bool // a retry the budget deferred: it asks again before it runs
	slot  bool // holds one of its group's attempts in flight
}

func (b *jobBase) base() *jobBase { return b }

// job is a scheduled job's record: everything it needs between attempts,
// and nothing per attempt.
type job[T any] struct {
	jobBase
	pol     *Policy[T]
	op      func(context.Context) (T, error)
	out     chan<- Event[T] // SubmitTo's results channel
	h       *Handle[T]      // Submit's, or for a keyed SubmitTo job, its stop switch only
	last    T
	lastErr error
}

// stopped returns the context whose end stops the job, or nil while it
// runs on. The group's context is checked as well as the job's own: when
// a user's context ends, the group's context ends and its watch makes the
// waiting jobs due, but a job's own context (a jobCtl whose op asked for
// Done) hears of it a moment later, through a watch of its own. Without
// this check a job made due by its group's end could run its op again in
// that moment.
func (j *job[T]) stopped() context.Context {
	if c := j.ctx(); c.Err() != nil {
		return c
	}
	if j.g.ctx.Err() != nil {
		return j.g.ctx
	}
	return nil
}

func (j *job[T]) control() *jobCtl {
	if j.h != nil {
		return &j.h.ctl
	}
	return nil
}

// ctx is the context the job's op runs under.
func (j *job[T]) ctx() context.Context {
	if j.h != nil {
		return &j.h.ctl
	}
	return j.g.ctx
}

// stopReason maps why a job's context ended to a give-up reason.
func stopReason(ctx context.Context) (Reason, error) {
	if c, ok := ctx.(*jobCtl); ok {
		if c.wasCanceled() {
			return ReasonCanceled, nil
		}
		ctx = c.parent
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrClosed) {
		return ReasonClosed, nil
	}
	return ReasonContext, cause
}

func (j *job[T]) attempt(s *Scheduler) {
	ctx := j.ctx()
	now := s.now()
	if sc := j.stopped(); sc != nil {
		reason, cause := stopReason(sc)
		elapsed := int64(0)
		if j.tries > 0 {
			elapsed = now - j.start
		}
		j.end(s, reason, j.lastErr, cause, elapsed)
		return
	}
	bu := s.env.budgetFor(&j.pol.cfg)
	if j.owed {
		wait, giveUp := bu.reask(&j.pol.cfg, dur(now-j.start))
		if giveUp {
			j.end(s, ReasonBudget, j.lastErr, nil, now-j.start)
			return
		}
		if wait > 0 {
			j.at = int64(saturatingAdd(dur(now), wait))
			return
		}
		j.owed = false
	}
	if j.tries == 0 {
		j.start = now
		if bu.b != nil {
			bu.b.first()
		}
	}
	obs := s.env.obs(j.pol)
	if obs != nil {
		observe(&s.env, obs, Observation{Kind: ObserveAttemptStart, ID: j.id, Key: j.key(), Name: j.pol.cfg.name,
			Tries: int(j.tries) + 1, Elapsed: dur(now - j.start), Lateness: dur(max(now-j.at, 0))})
	}
	actx := ctx
	cancel := context.CancelFunc(nil)
	var watch *overdueWatch
	if t := j.pol.cfg.attemptTimeout; t > 0 {
		actx, cancel = s.ts.WithTimeout(ctx, t)
		watch = s.watchOverdue(t, s.env.log(j.pol), j.id, j.key(), j.pol.cfg.name)
	}
	v, pe, err := callOp(actx, j.op)
	if cancel != nil {
		cancel()
		watch.done(s)
	}
	s.stats.attempts.Add(1)
	j.tries++
	began := now
	now = s.now()
	elapsed := now - j.start
	if obs != nil {
		observe(&s.env, obs, Observation{Kind: ObserveAttemptEnd, ID: j.id, Key: j.key(), Name: j.pol.cfg.name,
			Tries: int(j.tries), Elapsed: dur(elapsed), Duration: dur(now - began), Err: attemptErr(err, pe)})
	}
	j.last, j.lastErr = v, err
	d, cause := judge(ctx, j.pol, State{Tries: int(j.tries), Elapsed: dur(elapsed), Prev: dur(j.prev)}, v, err, pe)
	if d.Reason == ReasonContext {
		d.Reason, cause = stopReason(ctx)
	}
	if d.Done() {
		j.end(s, d.Reason, err, cause, elapsed)
		return
	}
	giveUp, owed := bu.charge()
	if giveUp {
		j.end(s, ReasonBudget, err, nil, elapsed)
		return
	}
	j.owed = owed
	ev := Event[T]{Kind: EventBackoff, ID: j.id, Key: j.key(), Tries: int(j.tries),
		Elapsed: dur(elapsed), Wait: d.Wait, Value: v, Err: err}
	if pe := backingOff(j.pol, &s.env, &ev); pe != nil {
		j.end(s, ReasonPanic, err, pe, elapsed)
		return
	}
	if j.h != nil {
		j.h.progress(ev, &s.stats)
	}
	j.prev = int64(d.Wait)
	j.at = int64(saturatingAdd(dur(now), d.Wait))
}

// end gives the job its terminal event, delivers it, and marks the job for
// the owner to retire.
func (j *job[T]) end(s *Scheduler, reason Reason, last, cause error, elapsed int64) {
	ev := Event[T]{ID: j.id, Key: j.key(), Tries: int(j.tries), Elapsed: dur(elapsed), Value: j.last}
	// Free the key before the end is published: whoever sees it (a
	// handler, the terminal event, Result) may submit a new job with the
	// same key at once.
	if j.h != nil {
		s.freeKey(j.h.ctl.key, j)
	}
	err := finish(j.pol, &s.env, &ev, reason, last, cause)
	s.stats.ended(reason)
	switch {
	case j.out != nil:
		deliver(s, j.out, ev)
	case j.h != nil:
		j.h.complete(ev, err)
	}
	if j.h != nil {
		j.h.ctl.release()
	}
	j.ended = true
	j.op, j.lastErr = nil, nil
}

func (j *job[T]) groupName() string { return j.pol.cfg.group }

func (j *job[T]) key() string {
	if j.h != nil {
		return j.h.ctl.key
	}
	return ""
}
