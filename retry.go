package backoff

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Retry calls op until it succeeds or the policy gives up, waiting between
// attempts on the calling goroutine; it is python-backoff's decorator,
// called directly. op receives ctx, or with AttemptTimeout a context that
// ends with the attempt.
//
// It returns the last value and, on give-up, a *GiveUpError that wraps the
// Reason and the last error (nil with ErrorOnGiveup(false)). When ctx ends
// during a wait, Retry returns at once with ReasonContext. Bad options or
// a nil op or ctx are an error before anything runs.
//
// Retry parks the calling goroutine for the whole loop; for many loops at
// once, use a [Scheduler].
func Retry[T any](ctx context.Context, op func(context.Context) (T, error), opts ...Option) (T, error) {
	p, c, err := resolve[T](opts)
	if err == nil {
		err = checkCall(ctx, op == nil, "Retry")
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return retry(ctx, newTimeSource(c.clock), p, op)
}

// Wrap returns op wrapped in Retry with opts: python-backoff's decorator.
// The options are checked once, here; if they are bad, every call of the
// returned function returns that error without calling op. The returned
// function is safe for concurrent use, and each call has its own tries and
// clock.
func Wrap[T any](op func(context.Context) (T, error), opts ...Option) func(context.Context) (T, error) {
	p, c, err := resolve[T](opts)
	if err == nil && op == nil {
		err = errors.New("backoff: Wrap: op is nil")
	}
	ts := newTimeSource(c.clock)
	return func(ctx context.Context) (T, error) {
		if err != nil {
			var zero T
			return zero, err
		}
		if ctx == nil {
			var zero T
			return zero, errors.New("backoff: Wrap: ctx is nil")
		}
		return retry(ctx, ts, p, op)
	}
}

func checkCall(ctx context.Context, nilOp bool, fn string) error {
	if ctx == nil {
		return errors.New("backoff: " + fn + ": ctx is nil")
	}
	if nilOp {
		return errors.New("backoff: " + fn + ": op is nil")
	}
	return nil
}

func retry[T any](ctx context.Context, ts timeSource, p *Policy[T], op func(context.Context) (T, error)) (T, error) {
	r := newLoopState(ctx, ts, p)
	defer r.sl.stop()
	if !r.begin() {
		return r.result()
	}
	for {
		actx, cancel := r.attemptContext()
		began := r.attemptStarts()
		v, pe, err := callOp(actx, op)
		cancel()
		r.attemptEnds(began, err, pe)
		if r.after(v, err, pe) {
			return r.result()
		}
	}
}

// loopState runs a policy on the calling goroutine; Retry and Attempts
// share it.
type loopState[T any] struct {
	ctx   context.Context
	ts    timeSource
	p     *Policy[T]
	env   env
	sl    sleeper
	bu    budgetUse
	start time.Time
	prev  time.Duration
	ev    Event[T]
	err   error
	done  bool
}

func newLoopState[T any](ctx context.Context, ts timeSource, p *Policy[T]) *loopState[T] {
	return &loopState[T]{ctx: ctx, ts: ts, p: p, sl: sleeper{ts: ts}, bu: p.cfg.budget}
}

// begin waits the initial delay, if any, and starts the clock.
func (r *loopState[T]) begin() bool {
	if d := startDelay(r.p); d > 0 && !r.sl.sleep(r.ctx, d) {
		r.end(ReasonContext, nil, context.Cause(r.ctx))
		return false
	}
	r.start = r.ts.Now()
	if r.bu.b != nil {
		r.bu.b.first()
	}
	return true
}

func startDelay[T any](p *Policy[T]) time.Duration {
	d := p.cfg.initialDelay
	if p.cfg.startJitter > 0 {
		d = saturatingAdd(d, rand.N(p.cfg.startJitter))
	}
	return d
}

// attemptStarts tells the observer, if any, that an attempt starts, and
// returns when. Without an observer it reads no clock.
func (r *loopState[T]) attemptStarts() time.Time {
	o := r.env.obs(r.p)
	if o == nil {
		return time.Time{}
	}
	now := r.ts.Now()
	observe(&r.env, o, Observation{Kind: ObserveAttemptStart, Name: r.p.cfg.name, Tries: r.ev.Tries + 1, Elapsed: now.Sub(r.start)})
	return now
}

// attemptEnds tells the observer, if any, how the attempt that began at
// began ended.
func (r *loopState[T]) attemptEnds(began time.Time, err error, pe *PanicError) {
	o := r.env.obs(r.p)
	if o == nil {
		return
	}
	now := r.ts.Now()
	observe(&r.env, o, Observation{Kind: ObserveAttemptEnd, Name: r.p.cfg.name, Tries: r.ev.Tries + 1,
		Elapsed: now.Sub(r.start), Duration: now.Sub(began), Err: attemptErr(err, pe)})
}

func (r *loopState[T]) attemptContext() (context.Context, context.CancelFunc) {
	if r.p.cfg.attemptTimeout > 0 {
		return r.ts.WithTimeout(r.ctx, r.p.cfg.attemptTimeout)
	}
	return r.ctx, func() {}
}

// after records an attempt's outcome, and either ends the loop (true) or
// waits for the next attempt (false).
func (r *loopState[T]) after(v T, err error, pe *PanicError) bool {
	r.ev.Tries++
	r.ev.Elapsed = r.ts.Now().Sub(r.start)
	r.ev.Value = v
	d, cause := judge(r.ctx, r.p, State{Tries: r.ev.Tries, Elapsed: r.ev.Elapsed, Prev: r.prev}, v, err, pe)
	if d.Done() {
		r.end(d.Reason, err, cause)
		return true
	}
	giveUp, owed := r.bu.charge()
	if giveUp {
		r.end(ReasonBudget, err, nil)
		return true
	}
	r.ev.Kind, r.ev.Wait, r.ev.Err = EventBackoff, d.Wait, err
	if pe := backingOff(r.p, &r.env, &r.ev); pe != nil {
		r.end(ReasonPanic, err, pe)
		return true
	}
	for wait := d.Wait; ; {
		if !r.sl.sleep(r.ctx, wait) {
			r.ev.Elapsed = r.ts.Now().Sub(r.start)
			r.end(ReasonContext, err, context.Cause(r.ctx))
			return true
		}
		if !owed {
			break
		}
		if wait, giveUp = r.bu.reask(&r.p.cfg, r.ts.Now().Sub(r.start)); giveUp {
			r.ev.Elapsed = r.ts.Now().Sub(r.start)
			r.end(ReasonBudget, err, nil)
			return true
		}
		owed = wait > 0
	}
	r.prev = d.Wait
	return false
}

func (r *loopState[T]) end(reason Reason, last, cause error) {
	r.ev.Wait = 0
	r.err = finish(r.p, &r.env, &r.ev, reason, last, cause)
	r.done = true
}

func (r *loopState[T]) result() (T, error) { return r.ev.Value, r.err }
