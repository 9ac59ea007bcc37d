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
//
// Its frame, and those under it down to the op, stay on the worker's
// stack while the op runs, and after every op that waits the worker reads
// them back from memory: thousands of workers' stacks do not stay in
// cache. So the attempt is written out here, in one small frame, and the
// turn's rare paths are in begin and what follows an attempt in
// attempted, which are not inlined.
func (j *job[T]) run(rt *runEnv) {
	now := rt.now()
	if !j.begin(rt, now) {
		return
	}
	// A retry due at once (no wait) runs on this worker, as a loop's would,
	// up to inPlace attempts in a row: queueing it through the owner and
	// the pool costs more than the scheduling of a whole I/O-bound attempt
	// on thousands of workers. A job let through by its group's limit or
	// rate goes back, so that the group's other jobs get their turn and
	// each attempt takes its own token, and so does one that was stopped,
	// so that it ends where every job ends.
	for range inPlace {
		ctx := j.ctx()
		ctl := j.attach()
		j.Tries++
		if rt.env.obs(&j.pol.cfg) != nil {
			j.observeStart(rt, now)
		}
		var pe *PanicError
		if j.pol.cfg.attemptTimeout <= 0 {
			j.last, pe, j.lastErr = callOp(ctx, j.op)
		} else {
			j.last, pe, j.lastErr = j.callTimed(ctx, rt)
		}
		if ctl != nil {
			ctl.detach()
		}
		if !j.attempted(rt, now, pe) || j.Gated() || j.stopped() != nil {
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

// begin starts a turn at now: it ends a job that was stopped, or whose
// MaxTime ran out while it was held, or whose budget gives up a deferred
// retry, and defers again one the budget still owes a wait. It reports
// whether an attempt is to run.
//
//go:noinline
func (j *job[T]) begin(rt *runEnv, now int64) bool {
	if sc := j.stopped(); sc != nil {
		reason, cause := stopReason(sc)
		elapsed := int64(0)
		if j.Tries > 0 {
			elapsed = now - j.start
		}
		j.end(rt, reason, j.lastErr, cause, dur(elapsed))
		return false
	}
	if j.Expired() {
		// Held for its group's rate past MaxTime: it ends as a retry
		// whose budget wait would pass MaxTime does, without an attempt.
		j.end(rt, ReasonMaxTime, j.lastErr, nil, dur(now-j.start))
		return false
	}
	if j.Flags&flagOwed != 0 {
		wait, giveUp := rt.env.budgetFor(&j.pol.cfg).reask(&j.pol.cfg, dur(now-j.start))
		if giveUp {
			j.end(rt, ReasonBudget, j.lastErr, nil, dur(now-j.start))
			return false
		}
		if wait > 0 {
			j.SetDue(int64(saturatingAdd(dur(now), wait)))
			return false
		}
		j.Flags &^= flagOwed
	}
	if j.Tries == 0 {
		j.start = now
		st := j.step(rt)
		st.first()
	}
	return true
}

// observeStart tells the observer that an attempt begun at now starts.
//
//go:noinline
func (j *job[T]) observeStart(rt *runEnv, now int64) {
	st := j.step(rt)
	st.started(int(j.Tries), dur(now-j.start), dur(max(now-j.Due(), 0)))
}

// attach marks the job's own context, if it has one, as in an attempt,
// and returns it, for detach after the attempt. Either way the attempt
// answers any Trigger so far.
func (j *job[T]) attach() *jobCtl {
	if j.x == nil {
		return nil
	}
	j.x.ctl.trig.Store(false)
	if !j.x.ctl.own() {
		return nil
	}
	j.x.ctl.attach()
	return &j.x.ctl
}

// attempted takes the outcome of the attempt begun at now, which run put
// in j.last and j.lastErr (pe: its panic), and decides what follows. It
// reports whether the next attempt is due at once: the job did not end,
// its wait is zero and its budget owes it nothing.
//
// It is not inlined, so that its large locals are not in a frame under
// the op: after every op that waits, a worker reads those frames back
// from memory (thousands of workers' stacks do not stay in cache), and a
// smaller frame is fewer cache lines to miss.
//
//go:noinline
func (j *job[T]) attempted(rt *runEnv, now int64, pe *PanicError) bool {
	rt.stats.attempts.Add(1)
	end := rt.now()
	a := attempt[T]{tries: int(j.Tries), elapsed: dur(end - j.start), took: dur(end - now), prev: j.prev, v: j.last, err: j.lastErr, pe: pe}
	var ev Event[T]
	st := j.step(rt)
	n := st.ended(j.ctx(), &a, &ev)
	if n.end {
		j.end(rt, n.reason, a.err, n.cause, a.elapsed)
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

// callTimed runs the op under the policy's AttemptTimeout: apart, so
// that ops without one do not run on its frame.
func (j *job[T]) callTimed(ctx context.Context, rt *runEnv) (T, *PanicError, error) {
	t := j.pol.cfg.attemptTimeout
	actx, cancel := rt.clock.ts.WithTimeout(ctx, t)
	watch := rt.watchOverdue(t, rt.env.log(&j.pol.cfg), j.id, j.key(), j.name())
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
