package backoff

import (
	"context"
	"errors"
)

// ErrPendingFull is returned by Submit and SubmitTo with the NonBlocking
// option when the scheduler holds MaxPending jobs.
var ErrPendingFull = errors.New("backoff: pending jobs at MaxPending")

// MaxPending caps the jobs a scheduler holds, from Submit to their end, at
// n. At the cap, Submit blocks until a job ends, its ctx ends (it returns
// ctx's error) or the scheduler stops (ErrClosed); a NonBlocking Submit
// fails at once with ErrPendingFull. A job's slot is free before its end
// is published: a Submit right after a Result or a terminal event finds
// it. Without a cap, pending jobs are bounded by memory alone, at about
// 150 bytes each. The cap costs two channel operations per job.
func MaxPending(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 {
			c.fail("MaxPending must be >= 1, got %d", n)
		}
		c.maxPending = n
	})
}

// pendingCap counts pending jobs against MaxPending: one token per job.
// The zero value has no cap.
type pendingCap struct{ tokens chan struct{} }

func (p *pendingCap) init(n int) {
	if n > 0 {
		p.tokens = make(chan struct{}, n)
	}
}

// take takes a token for a new job, waiting for one unless nonBlocking,
// until ctx ends or the scheduler stops.
func (p *pendingCap) take(ctx context.Context, stopped <-chan struct{}, nonBlocking bool) error {
	if p.tokens == nil {
		return nil
	}
	select {
	case p.tokens <- struct{}{}:
		return nil
	default:
	}
	if nonBlocking {
		return ErrPendingFull
	}
	select {
	case p.tokens <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stopped:
		return ErrClosed
	}
}

func (p *pendingCap) release() {
	if p.tokens != nil {
		<-p.tokens
	}
}
