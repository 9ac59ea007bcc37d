package backoff

import (
	"context"
	"errors"
	"time"

	"github.com/backoff-go/backoff/internal/backend"
)

// Durable backends in this module (riverbackoff) run a policy through
// internal/backend: the attempt step of step.go, called part by part as
// the backend's job reaches each, as Retry and the Scheduler call it.

func init() {
	backend.Register(func(p any, panicked func()) any {
		return p.(interface{ backend(func()) any }).backend(panicked)
	})
}

func (p *Policy[T]) backend(panicked func()) any {
	return &backendPolicy[T]{p: p, env: env{handlerPanic: panicked}}
}

// backendPolicy runs a policy's jobs with no scheduler around them: the
// policy's own logger, observer and budget, as in Retry. Its env is never
// written after it is made.
type backendPolicy[T any] struct {
	p   *Policy[T]
	env env
}

func (b *backendPolicy[T]) Job(id uint64, name string) backend.Job[T] {
	if b.p.cfg.name != "" {
		name = b.p.cfg.name
	}
	return &backendJob[T]{step[T]{p: b.p, e: &b.env, id: id, name: name}}
}

// backendJob is one job's step; the backend keeps the job's progress and
// passes it in.
type backendJob[T any] struct{ st step[T] }

func (j *backendJob[T]) Begin(tries int, first bool, elapsed, late time.Duration, owed bool) (time.Duration, bool) {
	if u := j.st.e.budgetFor(&j.st.p.cfg); owed && u.b != nil {
		if wait, giveUp := u.reask(&j.st.p.cfg, elapsed); wait > 0 || giveUp {
			return wait, giveUp
		}
	}
	if first {
		j.st.first()
	}
	j.st.started(tries, elapsed, late)
	return 0, false
}

func (j *backendJob[T]) Ended(a backend.Attempt[T]) backend.Judgment {
	var pe *PanicError
	errors.As(a.Panic, &pe)
	at := attempt[T]{tries: a.Tries, elapsed: a.Elapsed, took: a.Took, prev: a.Prev, v: a.Value, err: a.Err, pe: pe, final: a.Final}
	ev := Event[T]{ID: j.st.id, Tries: a.Tries, Elapsed: a.Elapsed, Value: a.Value}
	n := j.st.ended(context.Background(), &at, &ev)
	if !n.end {
		return backend.Judgment{Retry: true, Wait: n.wait, Owed: n.owed}
	}
	_ = j.st.finish(&ev, n.reason, a.Err, n.cause) // the backend reports ev.Err whatever ErrorOnGiveUp says
	return backend.Judgment{Reason: uint8(n.reason), Cause: n.cause, Err: ev.Err}
}

func (j *backendJob[T]) Returned(tries int, elapsed, took time.Duration, err error) {
	j.st.returned(&attempt[T]{tries: tries, elapsed: elapsed, took: took, err: err})
}

func (j *backendJob[T]) End(reason uint8, tries int, elapsed time.Duration, v T, last, cause error) error {
	ev := Event[T]{ID: j.st.id, Tries: tries, Elapsed: elapsed, Value: v}
	_ = j.st.finish(&ev, Reason(reason), last, cause)
	return ev.Err
}
