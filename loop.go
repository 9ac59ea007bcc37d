package backoff

import (
	"context"
	"errors"
	"iter"
)

// Loop retries a block of code in place: python-backoff's retry_context.
//
//	loop := backoff.Attempts[*http.Response](ctx, backoff.MaxTries(5))
//	for a := range loop.All() {
//		resp, err := getURL(a.Context())
//		a.Return(resp, err)
//	}
//	resp, err := loop.Result()
//	if err != nil {
//		return err
//	}
//	defer resp.Body.Close()
//
// The body reports each attempt with Fail or Return; a body that reports
// nothing succeeded. After a failure the next iteration starts when the
// wait has passed. The loop ends on success or give-up, and Result then
// gives what Retry would have returned. Breaking out of the loop ends it
// too: Result reports success if the attempt had not failed, else a
// give-up with ReasonCanceled. A panic in the body is not caught.
//
// A Loop runs once and is not safe for concurrent use. (Attempts returns a
// Loop rather than the sequence itself so that the outcome has a home
// after the loop.) The zero Loop, and a nil one, yield nothing, and their
// Result is an error.
type Loop[T any] struct {
	st  *loopState[T]
	err error
	ran bool
}

// Attempts prepares a retry loop with opts; range over its All method.
// Bad options make All yield nothing and Result return the error.
// The options a Scheduler alone takes (Key, Group, NonBlocking, Subscribe)
// are bad options here. A ctx that has already ended yields nothing, and
// Result gives up with ReasonContext after 0 tries.
func Attempts[T any](ctx context.Context, opts ...Option) *Loop[T] {
	p, jo, err := resolve[T](opts)
	if err == nil && ctx == nil {
		err = errors.New("backoff: Attempts: ctx is nil")
	}
	if err == nil {
		err = jo.forLoop("Attempts")
	}
	if err != nil {
		return &Loop[T]{err: err}
	}
	return &Loop[T]{st: newLoopState(ctx, newTimeSource(jo.clock), p, &jo)}
}

// Attempt is one pass of a [Loop]'s body.
type Attempt[T any] struct {
	n      int
	ctx    context.Context
	v      T
	err    error
	failed bool
}

// Number is the attempt's number, 1 for the first; 0 for a nil Attempt.
func (a *Attempt[T]) Number() int {
	if a == nil {
		return 0
	}
	return a.n
}

// Context is the loop's context, or with AttemptTimeout one that ends with
// this attempt; nil for a nil Attempt.
func (a *Attempt[T]) Context() context.Context {
	if a == nil {
		return nil
	}
	return a.ctx
}

// Fail reports that the attempt failed with err. Fail(nil) reports success.
func (a *Attempt[T]) Fail(err error) {
	var zero T
	a.Return(zero, err)
}

// Return reports the attempt's value and error; the policy's retry
// conditions and value predicate judge them, as for Retry. On a nil
// Attempt it does nothing.
func (a *Attempt[T]) Return(v T, err error) {
	if a != nil {
		a.v, a.err, a.failed = v, err, true
	}
}

// All yields the attempts. The same *Attempt is reused for each one.
func (l *Loop[T]) All() iter.Seq[*Attempt[T]] {
	return func(yield func(*Attempt[T]) bool) {
		if l == nil || l.st == nil || l.err != nil || l.ran {
			return
		}
		l.ran = true
		st := l.st
		defer st.sl.stop()
		if !st.begin() {
			return
		}
		a := &Attempt[T]{}
		for {
			*a = Attempt[T]{n: st.ev.Tries + 1}
			actx, cancel := st.attemptContext()
			a.ctx = actx
			began := st.attemptStarts()
			more := yield(a)
			cancel()
			if !more {
				st.broken(began, a.v, a.err, a.failed)
				return
			}
			if st.after(began, a.v, a.err, nil) {
				return
			}
		}
	}
}

// Result returns the loop's outcome: the last value and, on give-up, a
// *GiveUpError. Before the loop has ended it returns an error.
func (l *Loop[T]) Result() (T, error) {
	var zero T
	if l == nil || (l.st == nil && l.err == nil) {
		return zero, errors.New("backoff: Loop.Result: the Loop was not made by Attempts")
	}
	if l.err != nil {
		return zero, l.err
	}
	if !l.st.done {
		return zero, errors.New("backoff: Loop.Result: the loop has not ended")
	}
	return l.st.result()
}

// Tries returns the number of attempts the loop has made.
func (l *Loop[T]) Tries() int {
	if l == nil || l.st == nil {
		return 0
	}
	return l.st.ev.Tries
}
