package backoff

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// The attempt step: what happens around one attempt, in this order,
// whoever runs the job (Retry, Wrap, Attempts, a scheduler's workers, and
// through backend.go a durable backend's worker):
//
//	observe start → call → observe end → judge → budget → OnBackoff, log, observe → wait
//
// and at the job's end: terminal event → OnSuccess or OnGiveUp, log,
// observe → publish. The runners keep the job's progress (tries, times,
// the last outcome) and do the calling, waiting and publishing, each its
// own way; the rest is here, once.

// env is what a runner adds to a policy: defaults from a scheduler and a
// place to report handler panics.
type env struct {
	logger   *slog.Logger
	observer Observer
	// handlerPanic is told about a panic that does not change the job's
	// outcome: in OnSuccess, OnGiveUp, an Observer, or formatting an error
	// for a log record.
	handlerPanic func()
	budget       budgetUse // for jobs without a budget of their own
}

func (e *env) log(c *config) *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return e.logger
}

func (e *env) obs(c *config) Observer {
	if c.observer != nil {
		return c.observer
	}
	return e.observer
}

func (e *env) budgetFor(c *config) budgetUse {
	if c.budget.b != nil {
		return c.budget
	}
	return e.budget
}

func (e *env) panicked() {
	if e.handlerPanic != nil {
		e.handlerPanic()
	}
}

// step is one job's policy with what its records need: the step's
// functions read no state between attempts but what the runner passes in.
type step[T any] struct {
	p    *Policy[T]
	e    *env
	id   uint64
	key  string
	name string
}

// attempt is how one attempt went, as its runner measured it.
type attempt[T any] struct {
	tries   int           // attempts made, this one included
	elapsed time.Duration // since the first attempt started, at this one's end
	took    time.Duration // this attempt's run time
	prev    time.Duration // the wait before it; 0 before the first
	v       T
	err     error
	pe      *PanicError // the op's panic, if it panicked
	// final says that no attempt can follow, whatever the policy says: a
	// durable backend's own attempt limit ran out. A retry the policy
	// allows ends the job with ReasonMaxTries instead, before the budget
	// is asked for it.
	final bool
}

// next is what follows an attempt: the job's end, or a retry after wait.
type next struct {
	end    bool
	reason Reason
	cause  error
	wait   time.Duration
	owed   bool // the budget had no room: ask again when the wait is over
}

// first counts a job's first attempt in its budget, before it runs.
func (s *step[T]) first() {
	if b := s.e.budgetFor(&s.p.cfg).b; b != nil {
		b.first()
	}
}

// started tells the observer that attempt number tries starts, late after
// its due time.
func (s *step[T]) started(tries int, elapsed, late time.Duration) {
	if o := s.e.obs(&s.p.cfg); o != nil {
		observe(s.e, o, Observation{Kind: ObserveAttemptStart, ID: s.id, Key: s.key, Name: s.name,
			Tries: tries, Elapsed: elapsed, Lateness: late})
	}
}

// ended takes an attempt's outcome, run under ctx, and decides what
// follows. For a retry it fills ev with the backoff event and runs the
// OnBackoff handlers, the log and the observer; a panic in one of them
// ends the job.
func (s *step[T]) ended(ctx context.Context, a *attempt[T], ev *Event[T]) next {
	s.returned(a)
	d, cause := judge(ctx, s.p, progress{Tries: a.tries, Elapsed: a.elapsed, Prev: a.prev}, a.v, a.err, a.pe)
	if d.Reason == ReasonContext {
		d.Reason, cause = stopReason(ctx)
	}
	if d.Done() {
		return next{end: true, reason: d.Reason, cause: cause}
	}
	if a.final {
		return next{end: true, reason: ReasonMaxTries}
	}
	giveUp, owed := s.e.budgetFor(&s.p.cfg).charge()
	if giveUp {
		return next{end: true, reason: ReasonBudget}
	}
	*ev = Event[T]{Kind: EventBackoff, ID: s.id, Key: s.key, Tries: a.tries, Elapsed: a.elapsed,
		Wait: d.Wait, Value: a.v, Err: a.err}
	if pe := s.backingOff(ev); pe != nil {
		return next{end: true, reason: ReasonPanic, cause: pe}
	}
	return next{wait: d.Wait, owed: owed}
}

// returned tells the observer how an attempt ended.
func (s *step[T]) returned(a *attempt[T]) {
	if o := s.e.obs(&s.p.cfg); o != nil {
		observe(s.e, o, Observation{Kind: ObserveAttemptEnd, ID: s.id, Key: s.key, Name: s.name,
			Tries: a.tries, Elapsed: a.elapsed, Duration: a.took, Err: attemptErr(a.err, a.pe)})
	}
}

// backingOff runs the OnBackoff handlers, the log and the observer for a
// retry. A handler panic is returned: it ends the job.
func (s *step[T]) backingOff(ev *Event[T]) (pe *PanicError) {
	defer func() {
		if r := recover(); r != nil {
			pe = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	for _, h := range s.p.onBackoff {
		h(*ev)
	}
	logBackoff(s.e, s.e.log(&s.p.cfg), s.name, ev)
	if o := s.e.obs(&s.p.cfg); o != nil {
		observe(s.e, o, Observation{Kind: ObserveBackoff, ID: ev.ID, Key: ev.Key, Name: s.name,
			Tries: ev.Tries, Elapsed: ev.Elapsed, Wait: ev.Wait, Err: ev.Err})
	}
	return nil
}

// terminal completes ev, which holds the job's identity, tries, elapsed
// time and last value, as the job's terminal event, and returns the error
// the job's caller gets.
func (s *step[T]) terminal(ev *Event[T], reason Reason, last, cause error) error {
	ev.Wait = 0
	if reason == ReasonNone {
		ev.Kind, ev.Err, ev.Reason = EventSuccess, nil, ReasonNone
		return nil
	}
	ev.Kind, ev.Reason = EventGiveUp, reason
	ev.Err = &GiveUpError{Reason: reason, Err: last, Cause: cause, Tries: ev.Tries, Elapsed: ev.Elapsed}
	if s.p.cfg.quietGiveUp {
		return nil
	}
	return ev.Err
}

// finish ends a job that its runner retires at once: it completes ev as
// the terminal event and runs the end's callbacks. It returns the error
// the job's caller gets.
func (s *step[T]) finish(ev *Event[T], reason Reason, last, cause error) error {
	err := s.terminal(ev, reason, last, cause)
	s.ending(ev, last)
	return err
}

// ending runs the OnSuccess or OnGiveUp handlers, the log and the observer
// for a terminal event; last is the last attempt's error. A panic in any
// of them is logged and counted, and the job's outcome stands.
func (s *step[T]) ending(ev *Event[T], last error) {
	hs := s.p.onSuccess
	kind := ObserveSuccess
	if ev.Kind == EventGiveUp {
		hs, kind = s.p.onGiveUp, ObserveGiveUp
		logGiveUp(s.e, s.e.log(&s.p.cfg), s.name, ev, last)
	}
	for _, h := range hs {
		runHandler(s.e, s.p.cfg.logger, h, ev)
	}
	if o := s.e.obs(&s.p.cfg); o != nil {
		observe(s.e, o, Observation{Kind: kind, ID: ev.ID, Key: ev.Key, Name: s.name,
			Tries: ev.Tries, Elapsed: ev.Elapsed, Err: last, Reason: ev.Reason})
	}
}

// callOp runs one attempt, turning a panic into a *PanicError so that the
// job, not the process, ends.
func callOp[T any](ctx context.Context, op func(context.Context) (T, error)) (v T, pe *PanicError, err error) {
	defer func() {
		if r := recover(); r != nil {
			pe = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	v, err = op(ctx)
	return v, nil, err
}

// judge decides what follows an attempt run under the job context ctx.
// An op error after the context ended is the context's doing, not a
// reason to retry.
func judge[T any](ctx context.Context, p *Policy[T], st progress, v T, err error, pe *PanicError) (d decision, cause error) {
	if pe != nil {
		return decision{Reason: ReasonPanic}, pe
	}
	if err != nil && ctx.Err() != nil {
		return decision{Reason: ReasonContext}, context.Cause(ctx)
	}
	st.Left, st.HasDeadline = deadlineLeft(ctx)
	defer func() {
		if r := recover(); r != nil {
			d, cause = decision{Reason: ReasonPanic}, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return decide(p, st, outcome[T]{v, err}), nil
}

// deadlineLeft reads the context deadline against real time: a context
// deadline is wall-clock time whatever clock the waits run on.
func deadlineLeft(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(dl), true
}

// runHandler contains a panic in an OnSuccess or OnGiveUp handler: it is
// logged and reported, and the job's outcome stands (README, Semantics:
// "Panics"). It is logged to the runner's logger (a
// scheduler's), else to the job's.
func runHandler[T any](e *env, jobLogger *slog.Logger, h func(Event[T]), ev *Event[T]) {
	defer func() {
		if r := recover(); r != nil {
			pe := &PanicError{Value: r, Stack: debug.Stack()}
			l := e.logger
			if l == nil {
				l = jobLogger
			}
			if l != nil {
				l.Error("backoff: handler panicked", slog.Any("panic", r), slog.String("stack", string(pe.Stack)))
			}
			e.panicked()
		}
	}()
	h(*ev)
}
