package backoff

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Retry calls op until it succeeds or the policy gives up, waiting between
// attempts on the calling goroutine. With no options it never gives up: it
// retries every error for ever, with uncapped Expo waits (1s, 2s, 4s, ...;
// the 20th is about 6 days) and full jitter, as python-backoff's
// on_exception does. Give it MaxTries or MaxTime, and a cap (Expo.Max or
// MaxWait).
//
// Retry is python-backoff's decorator, called directly. op receives ctx,
// or with AttemptTimeout a context that ends with the attempt.
//
// It returns the last value and, on give-up, a *GiveUpError that wraps the
// Reason and the last error (nil with ErrorOnGiveUp(false)). A ctx that
// has already ended makes no call: Retry gives up with ReasonContext after
// 0 tries. When ctx ends during a wait, Retry returns at once with
// ReasonContext. Bad options, a nil op or ctx, and the options only a
// Scheduler takes (Key, Group, NonBlocking, Subscribe) are an error before
// anything runs.
//
// Retry parks the calling goroutine for the whole loop, and op runs on it:
// a runtime.Goexit in op or a handler ends that goroutine, as Go says. For
// many loops at once, use a [Scheduler].
func Retry[T any](ctx context.Context, op func(context.Context) (T, error), opts ...Option) (T, error) {
	p, jo, err := resolve[T](opts)
	if err == nil {
		err = checkCall(ctx, op == nil, "Retry")
	}
	if err == nil {
		err = jo.forLoop("Retry")
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return retry(ctx, newTimeSource(jo.clock), p, &jo, op)
}

// Wrap returns op wrapped in Retry with opts: python-backoff's decorator.
// The options are checked once, here; if they are bad, every call of the
// returned function returns that error without calling op. The returned
// function is safe for concurrent use, and each call has its own tries and
// clock.
func Wrap[T any](op func(context.Context) (T, error), opts ...Option) func(context.Context) (T, error) {
	p, jo, err := resolve[T](opts)
	if err == nil && op == nil {
		err = errors.New("backoff: Wrap: op is nil")
	}
	if err == nil {
		err = jo.forLoop("Wrap")
	}
	ts := newTimeSource(jo.clock)
	return func(ctx context.Context) (T, error) {
		if err != nil {
			var zero T
			return zero, err
		}
		if ctx == nil {
			var zero T
			return zero, errors.New("backoff: Wrap: ctx is nil")
		}
		return retry(ctx, ts, p, &jo, op)
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

func retry[T any](ctx context.Context, ts timeSource, p *Policy[T], jo *jobOpts, op func(context.Context) (T, error)) (T, error) {
	r := newLoopState(ctx, ts, p, jo)
	defer r.sl.stop()
	if !r.begin() {
		return r.result()
	}
	for {
		actx, cancel := r.attemptContext()
		began := r.attemptStarts()
		v, pe, err := callOp(actx, op)
		cancel()
		if r.after(began, v, err, pe) {
			return r.result()
		}
	}
}

// loopState runs a job on the calling goroutine: Retry and Attempts.
type loopState[T any] struct {
	ctx   context.Context
	ts    timeSource
	env   env // empty: a loop has no scheduler to take defaults from
	st    step[T]
	delay time.Duration
	at    time.Time // StartAt's, or zero
	sl    sleeper
	start time.Time
	prev  time.Duration
	ev    Event[T] // the last event, and at the end the terminal one
	err   error
	done  bool
}

func newLoopState[T any](ctx context.Context, ts timeSource, p *Policy[T], jo *jobOpts) *loopState[T] {
	r := &loopState[T]{ctx: ctx, ts: ts, sl: sleeper{ts: ts}, delay: jo.delayOf(&p.cfg), at: jo.startAt}
	r.st = step[T]{p: p, e: &r.env, name: jo.nameOf(&p.cfg)}
	return r
}

// begin waits the initial delay, if any, and starts the clock. A context
// that has already ended, or ends during the delay, ends the loop before
// any attempt.
func (r *loopState[T]) begin() bool {
	if r.ctx.Err() != nil {
		r.end(ReasonContext, nil, context.Cause(r.ctx))
		return false
	}
	delay := r.delay
	if !r.at.IsZero() {
		delay = max(r.at.Sub(r.ts.Now()), 0)
	}
	if d := startDelay(r.st.p, delay); d > 0 && !r.sl.sleep(r.ctx, d) {
		r.end(ReasonContext, nil, context.Cause(r.ctx))
		return false
	}
	r.start = r.ts.Now()
	r.st.first()
	return true
}

// startDelay is the wait before a job's first attempt: its initial delay
// and the policy's StartJitter.
func startDelay[T any](p *Policy[T], delay time.Duration) time.Duration {
	if j := p.cfg.startJitter; j > 0 {
		delay = saturatingAdd(delay, rand.N(j))
	}
	return delay
}

// attemptStarts tells the observer, if any, that an attempt starts, and
// returns when. Without an observer it reads no clock.
func (r *loopState[T]) attemptStarts() time.Time {
	if r.env.obs(&r.st.p.cfg) == nil {
		return time.Time{}
	}
	now := r.ts.Now()
	r.st.started(r.ev.Tries+1, now.Sub(r.start), 0)
	return now
}

func (r *loopState[T]) attemptContext() (context.Context, context.CancelFunc) {
	if t := r.st.p.cfg.attemptTimeout; t > 0 {
		return r.ts.WithTimeout(r.ctx, t)
	}
	return r.ctx, func() {}
}

// after takes the outcome of an attempt that began at began (zero when
// nobody observes), and either ends the loop (true) or waits for the next
// attempt (false).
func (r *loopState[T]) after(began time.Time, v T, err error, pe *PanicError) bool {
	now := r.ts.Now()
	a := attempt[T]{tries: r.ev.Tries + 1, elapsed: now.Sub(r.start), prev: r.prev, v: v, err: err, pe: pe}
	if !began.IsZero() {
		a.took = now.Sub(began)
	}
	r.ev.Tries, r.ev.Elapsed, r.ev.Value = a.tries, a.elapsed, v
	n := r.st.ended(r.ctx, &a, &r.ev)
	if n.end {
		r.end(n.reason, err, n.cause)
		return true
	}
	for wait, owed := n.wait, n.owed; ; {
		if !r.sl.sleep(r.ctx, wait) {
			r.ev.Elapsed = r.ts.Now().Sub(r.start)
			r.end(ReasonContext, err, context.Cause(r.ctx))
			return true
		}
		if !owed {
			break
		}
		giveUp := false
		if wait, giveUp = r.st.e.budgetFor(&r.st.p.cfg).reask(&r.st.p.cfg, r.ts.Now().Sub(r.start)); giveUp {
			r.ev.Elapsed = r.ts.Now().Sub(r.start)
			r.end(ReasonBudget, err, nil)
			return true
		}
		owed = wait > 0
	}
	r.prev = n.wait
	return false
}

// end gives the loop its terminal event and runs the end's callbacks.
func (r *loopState[T]) end(reason Reason, last, cause error) {
	r.err = r.st.finish(&r.ev, reason, last, cause)
	r.done = true
}

func (r *loopState[T]) result() (T, error) { return r.ev.Value, r.err }

// broken ends a loop whose body broke out of its attempt that began at
// began: with success if the attempt had not failed, else with
// ReasonCanceled.
func (r *loopState[T]) broken(began time.Time, v T, err error, failed bool) {
	now := r.ts.Now()
	a := attempt[T]{tries: r.ev.Tries + 1, elapsed: now.Sub(r.start), v: v, err: err}
	if !began.IsZero() {
		a.took = now.Sub(began)
	}
	r.st.returned(&a)
	r.ev.Tries, r.ev.Elapsed, r.ev.Value = a.tries, a.elapsed, v
	if failed && (err != nil || (r.st.p.valuePred != nil && r.st.p.valuePred(v))) {
		r.end(ReasonCanceled, err, nil)
	} else {
		r.end(ReasonNone, nil, nil)
	}
}
