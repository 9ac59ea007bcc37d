package backoff

import (
	"context"
	"time"

	"github.com/backoff-go/backoff/internal/backend"
)

// Durable backends in this module (riverbackoff) run a policy through
// internal/backend, with the same attempt step as Retry and the Scheduler.

func init() {
	backend.Register(func(p any) any { return p.(interface{ backend() any }).backend() })
}

func (p *Policy[T]) backend() any { return backendPolicy[T]{p} }

type backendPolicy[T any] struct{ p *Policy[T] }

func (b backendPolicy[T]) Judge(tries int, elapsed, prev time.Duration, v T, err error) backend.Judgment {
	d, cause := judge(context.Background(), b.p, State{Tries: tries, Elapsed: elapsed, Prev: prev}, v, err, nil)
	return backend.Judgment{Retry: d.Retry, Wait: d.Wait, Reason: uint8(d.Reason), Cause: cause}
}
