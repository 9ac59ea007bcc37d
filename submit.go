package backoff

import (
	"context"
	"errors"
	"fmt"
)

// Submit starts a job on s that calls op until it succeeds or the policy
// gives up, and returns its Handle. ctx governs the whole job: its values
// reach op, and its end or deadline ends the job with ReasonContext. The
// op's context is ctx, also cancelled by Handle.Cancel and by Close.
//
// Submit blocks while the scheduler's intake is full, until ctx ends
// (then it returns ctx's error and the job was not submitted); with the
// NonBlocking option it fails at once with ErrIntakeFull. Bad options, a
// nil argument, a duplicate Key and a closed scheduler are errors, and
// nothing runs.
//
// Cost, when opts is a single *Policy[T]: two allocations (the job record
// and the Handle), and one more for the terminal event when the job ends.
// Other options are resolved into a policy on every call.
func Submit[T any](ctx context.Context, s *Scheduler, op func(context.Context) (T, error), opts ...Option) (*Handle[T], error) {
	j, c, err := newJob(ctx, s, op, opts, "Submit")
	if err != nil {
		return nil, err
	}
	h := &Handle[T]{s: s, j: j}
	h.ctl.key = c.key
	j.h = h
	if err := s.enqueue(ctx, j, c); err != nil {
		return nil, err
	}
	return h, nil
}

// SubmitTo is Submit for fan-in: the job's terminal event, and nothing
// else, goes to results, which many jobs may share; Event.ID and Event.Key
// tell them apart. It returns the job's ID. A terminal event that results
// cannot take at once is kept, in order, until the reader takes it: a
// results channel that is never read holds its jobs' last events until
// Close discards them (counted in Stats).
//
// Cost: one allocation (the job record) when opts is a single *Policy[T]
// and there is no Key.
func SubmitTo[T any](ctx context.Context, s *Scheduler, op func(context.Context) (T, error), results chan<- Event[T], opts ...Option) (uint64, error) {
	if results == nil {
		return 0, errors.New("backoff: SubmitTo: results channel is nil")
	}
	j, c, err := newJob(ctx, s, op, opts, "SubmitTo")
	if err != nil {
		return 0, err
	}
	j.out = results
	if c.hasKey {
		// A keyed job can be stopped by key, which takes the stop switch
		// that a Handle carries; the Handle itself stays internal.
		j.h = &Handle[T]{s: s, j: j}
		j.h.ctl.key = c.key
	}
	if err := s.enqueue(ctx, j, c); err != nil {
		return 0, err
	}
	return j.id, nil
}

// NonBlocking makes Submit and SubmitTo fail with ErrIntakeFull instead of
// blocking when the scheduler's intake is full.
func NonBlocking() Option {
	return optionFunc(func(c *config) { c.nonBlocking = true })
}

func newJob[T any](ctx context.Context, s *Scheduler, op func(context.Context) (T, error), opts []Option, fn string) (*job[T], *config, error) {
	if s == nil {
		return nil, nil, fmt.Errorf("backoff: %s: scheduler is nil", fn)
	}
	if err := checkCall(ctx, op == nil, fn); err != nil {
		return nil, nil, err
	}
	p, c, err := resolve[T](opts)
	if err == nil && c.clock != nil {
		err = fmt.Errorf("backoff: %s: WithClock belongs to NewScheduler", fn)
	}
	if err != nil {
		return nil, nil, err
	}
	j := &job[T]{pol: p, op: op}
	j.id = s.ids.Add(1)
	// A first attempt without a delay is due when the owner takes the job
	// in (take), which saves a clock reading per submission.
	if d := startDelay(p); d > 0 {
		j.at = int64(saturatingAdd(dur(s.now()), d))
	}
	return j, c, nil
}

// enqueue registers a job and hands it to the owner.
func (s *Scheduler) enqueue(ctx context.Context, j jobber, c *config) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.pending.take(ctx, s, c.nonBlocking); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.pending.release()
		return ErrClosed
	}
	if c.hasKey {
		if s.keys[c.key] != nil {
			s.mu.Unlock()
			s.pending.release()
			return fmt.Errorf("%w: %q", ErrDuplicateKey, c.key)
		}
		s.keys[c.key] = j
	}
	s.live++
	s.mu.Unlock()
	sub := submission{j, ctx}
	if c.nonBlocking {
		select {
		case s.intake <- sub:
		default:
			s.unregister(j, c)
			s.stats.rejected.Add(1)
			return ErrIntakeFull
		}
	} else {
		select {
		case s.intake <- sub:
		case <-ctx.Done():
			s.unregister(j, c)
			return ctx.Err()
		}
	}
	s.stats.submitted.Add(1)
	return nil
}

// unregister undoes enqueue's bookkeeping for a job that never got in.
func (s *Scheduler) unregister(j jobber, c *config) {
	s.mu.Lock()
	s.live--
	if c.hasKey && s.keys[c.key] == j {
		delete(s.keys, c.key)
	}
	s.mu.Unlock()
	s.pending.release()
	s.kick()
}
