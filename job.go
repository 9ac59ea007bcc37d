package backoff

import (
	"context"
	"math"
	"time"

	"github.com/backoff-go/backoff/internal/sched"
)

// job is a scheduled job's record: everything it needs between attempts,
// and nothing per attempt. Its size is the scheduler's cost per pending
// job: 96 bytes for a job of struct{} values with no key, group or name of
// its own (TestJobRecordSize).
type job[T any] struct {
	sched.Base // due time, place, tries, and the core's bookkeeping

	id      uint64
	start   int64         // when the first attempt started, ns on the scheduler's clock
	prev    time.Duration // the last wait
	pol     *Policy[T]
	op      func(context.Context) (T, error)
	out     chan<- Event[T] // SubmitTo's results channel
	x       *jobExtra[T]    // nil for a SubmitTo job with no key, group or name of its own
	last    T               // not last: a zero-size final field would be padded
	lastErr error
}

// jobExtra is what only some jobs need: a Handle, a key, a group or a
// name of their own. A Submit job's is part of its Handle; a keyed SubmitTo
// job's is 72 bytes, allocated with the job record (176 bytes for both with
// struct{} values).
type jobExtra[T any] struct {
	ctl    jobCtl     // the op's context and the key, when the job can be stopped on its own
	names  *jobNames  // the job's own group and name; nil when it has none
	handle *Handle[T] // a Submit job's
}

// jobNames are the Group and Name a job was given of its own; they are
// allocated with the record that points to them.
type jobNames struct {
	group, name       string
	hasGroup, hasName bool
}

// Base.Flags bits.
const (
	flagOwed   = 1 << iota // a retry the budget deferred: it asks again before it runs
	flagEnding             // end has begun
	flagBits   = iota      // the bits above, below reasonShift
)

// reasonShift places an ended SubmitTo job's Reason in the top four bits
// of Base.Flags, where it waits from publish to retire. A copy, not the
// GiveUpError's field, which an OnGiveUp handler could change.
const reasonShift = 4

var (
	_ [1<<(8-reasonShift) - numReasons]struct{} // every Reason fits
	_ [reasonShift - flagBits]struct{}          // and the flags stay below it
)

func (j *job[T]) Canceled() bool { return j.x != nil && j.x.ctl.wasCanceled() }

func (j *job[T]) TakeTrigger() bool { return j.x != nil && j.x.ctl.trig.Swap(false) }

func (j *job[T]) Group() string {
	if n := j.names(); n != nil && n.hasGroup {
		return n.group
	}
	return j.pol.cfg.group
}

// Deadline is when MaxTime runs out: the first attempt's start plus
// MaxTime, once there was one. Only the job's holder may call it.
func (j *job[T]) Deadline() int64 {
	c := &j.pol.cfg
	if !c.hasMaxTime || j.Tries == 0 {
		return math.MaxInt64
	}
	return int64(saturatingAdd(dur(j.start), c.maxTime))
}

func (j *job[T]) key() string {
	if j.x != nil {
		return j.x.ctl.key
	}
	return ""
}

func (j *job[T]) name() string {
	if n := j.names(); n != nil && n.hasName {
		return n.name
	}
	return j.pol.cfg.name
}

func (j *job[T]) names() *jobNames {
	if j.x == nil {
		return nil
	}
	return j.x.names
}

// ctx is the context the job's op runs under.
func (j *job[T]) ctx() context.Context {
	if j.x != nil && j.x.ctl.own() {
		return &j.x.ctl
	}
	return j.Context()
}

// stopped returns the context whose end stops the job, or nil while it
// runs on.
func (j *job[T]) stopped() context.Context {
	if j.x != nil && j.x.ctl.own() && j.x.ctl.Err() != nil {
		return &j.x.ctl
	}
	if c := j.Context(); c.Err() != nil {
		return c
	}
	return nil
}

func (j *job[T]) step(rt *runEnv) step[T] {
	return step[T]{p: j.pol, e: &rt.env, id: j.id, key: j.key(), name: j.name()}
}

// run is one turn of the job on a worker: an attempt, or the job's end
// when it was stopped or its budget gives up. It leaves the job ended or
// with its next due time set.
func (j *job[T]) run(rt *runEnv) {
	now := rt.now()
	if sc := j.stopped(); sc != nil {
		reason, cause := stopReason(sc)
		elapsed := int64(0)
		if j.Tries > 0 {
			elapsed = now - j.start
		}
		j.end(rt, reason, j.lastErr, cause, dur(elapsed))
		return
	}
	if j.Expired() {
		// Held for its group's rate past MaxTime: it ends as a retry
		// whose budget wait would pass MaxTime does, without an attempt.
		j.end(rt, ReasonMaxTime, j.lastErr, nil, dur(now-j.start))
		return
	}
	st := j.step(rt)
	if j.Flags&flagOwed != 0 {
		wait, giveUp := rt.env.budgetFor(&j.pol.cfg).reask(&j.pol.cfg, dur(now-j.start))
		if giveUp {
			j.end(rt, ReasonBudget, j.lastErr, nil, dur(now-j.start))
			return
		}
		if wait > 0 {
			j.SetDue(int64(saturatingAdd(dur(now), wait)))
			return
		}
		j.Flags &^= flagOwed
	}
	if j.Tries == 0 {
		j.start = now
		st.first()
	}
	// A retry due at once (no wait) runs on this worker, as a loop's would,
	// up to inPlace attempts in a row: queueing it through the owner and
	// the pool costs more than the scheduling of a whole I/O-bound attempt
	// on thousands of workers. A job let through by its group's limit or
	// rate goes back, so that the group's other jobs get their turn and
	// each attempt takes its own token, and so does one that was stopped,
	// so that it ends where every job ends.
	for range inPlace {
		if !j.attempt(rt, &st, now) || j.Gated() || j.stopped() != nil {
			return
		}
		// Read again: the handlers, the logger and the observer ran
		// since the last attempt's end, and belong to neither attempt.
		now = rt.now()
	}
}

// inPlace bounds the attempts a job makes in one turn on a worker, so that
// a job retrying with no wait still lets the jobs due before it run.
const inPlace = 8

// attempt runs one attempt, begun at now, and what follows it. It reports
// whether the next attempt is due at once: the job did not end, its wait
// is zero and its budget owes it nothing.
func (j *job[T]) attempt(rt *runEnv, st *step[T], now int64) bool {
	ctx := j.ctx()
	var ctl *jobCtl
	if j.x != nil {
		j.x.ctl.trig.Store(false) // this attempt answers any Trigger so far
		if j.x.ctl.own() {
			ctl = &j.x.ctl
			ctl.attach()
		}
	}
	j.Tries++
	st.started(int(j.Tries), dur(now-j.start), dur(max(now-j.Due(), 0)))
	v, pe, err := j.call(ctx, rt, st)
	if ctl != nil {
		ctl.detach()
	}
	return j.attempted(ctx, rt, st, now, v, pe, err)
}

// attempted takes the outcome of the attempt begun at now and run under
// ctx, and decides what follows; it reports what attempt does.
//
// It is apart from attempt, and not inlined, so that its large locals are
// not in a frame under the op: after every op that waits, a worker reads
// those frames back from memory (thousands of workers' stacks do not stay
// in cache), and a smaller frame is fewer cache lines to miss.
//
//go:noinline
func (j *job[T]) attempted(ctx context.Context, rt *runEnv, st *step[T], now int64, v T, pe *PanicError, err error) bool {
	rt.stats.attempts.Add(1)
	end := rt.now()
	a := attempt[T]{tries: int(j.Tries), elapsed: dur(end - j.start), took: dur(end - now), prev: j.prev, v: v, err: err, pe: pe}
	j.last, j.lastErr = v, err
	var ev Event[T]
	n := st.ended(ctx, &a, &ev)
	if n.end {
		j.end(rt, n.reason, err, n.cause, a.elapsed)
		return false
	}
	if h := j.handle(); h != nil {
		h.progress(ev, rt.stats)
	}
	if n.owed {
		j.Flags |= flagOwed
	}
	j.prev = n.wait
	j.SetDue(int64(saturatingAdd(dur(end), n.wait)))
	return n.wait == 0 && !n.owed
}

// call runs the op under ctx, bounded by the policy's AttemptTimeout.
func (j *job[T]) call(ctx context.Context, rt *runEnv, st *step[T]) (T, *PanicError, error) {
	if j.pol.cfg.attemptTimeout <= 0 {
		return callOp(ctx, j.op)
	}
	return j.callTimed(ctx, rt, st)
}

// callTimed is call with an AttemptTimeout: apart, so that ops without
// one do not run on its frame.
func (j *job[T]) callTimed(ctx context.Context, rt *runEnv, st *step[T]) (T, *PanicError, error) {
	t := j.pol.cfg.attemptTimeout
	actx, cancel := rt.clock.ts.WithTimeout(ctx, t)
	watch := rt.watchOverdue(t, rt.env.log(&j.pol.cfg), j.id, st.key, st.name)
	defer func() { // deferred, so that a runtime.Goexit in the op runs it too
		cancel()
		watch.done()
	}()
	return callOp(actx, j.op)
}

// exited ends the job when its worker exits through runtime.Goexit during
// an attempt (in the op, an OnBackoff handler, the log or the observer):
// the goroutine is lost, the job is not. A Goexit during the job's end is
// seen to by end itself.
func (j *job[T]) exited(rt *runEnv) {
	if j.Ended || j.Flags&flagEnding != 0 {
		return
	}
	if j.x != nil && j.x.ctl.own() {
		j.x.ctl.detach()
	}
	j.end(rt, ReasonPanic, j.lastErr, goexitError(), dur(rt.now()-j.start))
}

// end retires the job: it frees the job's key and its MaxPending slot
// first, so that whoever sees the end may submit again at once, then
// gives the job its terminal event, runs the end's callbacks and
// publishes the event. The owner takes the job back after that, and sends
// a results channel's event then (retire).
func (j *job[T]) end(rt *runEnv, reason Reason, last, cause error, elapsed time.Duration) {
	j.Flags |= flagEnding
	if j.x != nil && j.x.ctl.keyed() {
		rt.keys.remove(&j.x.ctl)
	}
	rt.pending.release()
	st := j.step(rt)
	ev := Event[T]{ID: j.id, Key: st.key, Tries: int(j.Tries), Elapsed: elapsed, Value: j.last}
	_ = st.terminal(&ev, reason, last, cause) // a Handle's Result derives its error from ev
	rt.stats.ended(reason)
	published := false
	defer func() {
		if !published {
			// runtime.Goexit in a callback: counted as a panic there, and
			// the job's outcome stands.
			rt.env.panicked()
			j.publish(rt, ev)
		}
	}()
	st.ending(&ev, last)
	j.publish(rt, ev)
	published = true
}

// publish hands the terminal event on and marks the job ended. A Handle
// is the job's own, so the worker completes it. A results channel is
// shared by many jobs: its event waits in the record (its error, value,
// elapsed time and reason, the rest being the record's already) for the
// owner, which sends it as it takes the job back (retire). Workers that
// each took the results' lock to queue an event behind a lagging reader
// made a convoy of thousands of workers on two cores; the owner is one
// goroutine.
func (j *job[T]) publish(rt *runEnv, ev Event[T]) {
	j.op = nil
	if j.out != nil {
		j.lastErr, j.last, j.prev = ev.Err, ev.Value, ev.Elapsed
		j.Flags = j.Flags&(1<<reasonShift-1) | uint8(ev.Reason)<<reasonShift
	} else {
		if h := j.handle(); h != nil {
			h.complete(ev)
		}
		var zero T
		j.lastErr, j.last = nil, zero
	}
	if j.x != nil && j.x.ctl.own() {
		j.x.ctl.release()
	}
	j.Ended = true
}

// retire sends an ended SubmitTo job's terminal event, kept by publish,
// on its results channel. Called by the owner as it takes the job back.
func (j *job[T]) retire(rt *runEnv) {
	if j.out == nil {
		return
	}
	ev := Event[T]{Kind: EventSuccess, ID: j.id, Key: j.key(), Tries: int(j.Tries), Elapsed: j.prev, Value: j.last, Err: j.lastErr}
	if ev.Err != nil {
		ev.Kind, ev.Reason = EventGiveUp, Reason(j.Flags>>reasonShift)
	}
	deliver(rt.out, j.out, ev)
	var zero T
	j.lastErr, j.last = nil, zero
}

func (j *job[T]) handle() *Handle[T] {
	if j.x == nil {
		return nil
	}
	return j.x.handle
}
