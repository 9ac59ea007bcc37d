package backoff

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// env is what a runner adds to a policy: defaults from a scheduler and a
// place to report handler panics.
type env struct {
	logger   *slog.Logger
	observer Observer
	// handlerPanic is told about a panic in OnSuccess or OnGiveup, which
	// does not change the job's outcome.
	handlerPanic func(*PanicError)
	budget       budgetUse // for jobs without a budget of their own
}

func (e *env) log(p policyView) *slog.Logger {
	if l := p.log(); l != nil {
		return l
	}
	return e.logger
}

func (e *env) obs(p policyView) Observer {
	if o := p.obs(); o != nil {
		return o
	}
	return e.observer
}

func (e *env) budgetFor(c *config) budgetUse {
	if c.budget.b != nil {
		return c.budget
	}
	return e.budget
}

type policyView interface {
	log() *slog.Logger
	obs() Observer
}

func (p *Policy[T]) log() *slog.Logger { return p.cfg.logger }
func (p *Policy[T]) obs() Observer     { return p.cfg.observer }

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
func judge[T any](ctx context.Context, p *Policy[T], st State, v T, err error, pe *PanicError) (d Decision, cause error) {
	if pe != nil {
		return Decision{Reason: ReasonPanic}, pe
	}
	if err != nil && ctx.Err() != nil {
		return Decision{Reason: ReasonContext}, context.Cause(ctx)
	}
	st.Left, st.HasDeadline = deadlineLeft(ctx)
	defer func() {
		if r := recover(); r != nil {
			d, cause = Decision{Reason: ReasonPanic}, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return Decide(p, st, Outcome[T]{v, err}), nil
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

// backingOff runs the OnBackoff handlers, the log and the observer for a
// retry. A handler panic is returned: it ends the job.
func backingOff[T any](p *Policy[T], e *env, ev *Event[T]) (pe *PanicError) {
	defer func() {
		if r := recover(); r != nil {
			pe = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	for _, h := range p.onBackoff {
		h(*ev)
	}
	logBackoff(e.log(p), p.cfg.name, ev)
	if o := e.obs(p); o != nil {
		observe(e, o, Observation{Kind: ObserveBackoff, ID: ev.ID, Key: ev.Key, Name: p.cfg.name,
			Tries: ev.Tries, Elapsed: ev.Elapsed, Wait: ev.Wait, Err: ev.Err})
	}
	return nil
}

// finish completes ev as the job's terminal event and runs the handlers,
// the log and the observer. It returns the error the job's caller gets.
func finish[T any](p *Policy[T], e *env, ev *Event[T], reason Reason, last, cause error) error {
	var result error
	if reason == ReasonNone {
		ev.Kind, ev.Err = EventSuccess, nil
	} else {
		ev.Kind, ev.Reason = EventGiveUp, reason
		ev.Err = &GiveUpError{Reason: reason, Err: last, Cause: cause, Tries: ev.Tries, Elapsed: ev.Elapsed}
		if !p.cfg.quietGiveup {
			result = ev.Err
		}
	}
	hs := p.onSuccess
	if ev.Kind == EventGiveUp {
		hs = p.onGiveup
		logGiveUp(e.log(p), p.cfg.name, ev, last)
	}
	for _, h := range hs {
		runHandler(e, p.cfg.logger, h, ev)
	}
	if o := e.obs(p); o != nil {
		kind := ObserveSuccess
		if ev.Kind == EventGiveUp {
			kind = ObserveGiveUp
		}
		observe(e, o, Observation{Kind: kind, ID: ev.ID, Key: ev.Key, Name: p.cfg.name,
			Tries: ev.Tries, Elapsed: ev.Elapsed, Err: last, Reason: reason})
	}
	return result
}

// runHandler contains a panic in an OnSuccess or OnGiveup handler: it is
// logged and reported, and the job's outcome stands (semantics item 10).
// It is logged to the runner's logger (a scheduler's), else to the job's.
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
			if e.handlerPanic != nil {
				e.handlerPanic(pe)
			}
		}
	}()
	h(*ev)
}
