package backoff

import (
	"context"
	"errors"
	"fmt"

	"github.com/backoff-go/backoff/internal/sched"
)

// Submit starts a job on s that calls op until it succeeds or the policy
// gives up, and returns its Handle. ctx governs the whole job: its values
// reach op, and its end or deadline ends the job with ReasonContext. The
// op's context is ctx, also cancelled by Handle.Cancel and by Close.
//
// Submit blocks at the scheduler's MaxPending, until a job ends or ctx
// ends (then it returns ctx's error and the job was not submitted); with
// the NonBlocking option it fails at once with ErrPendingFull instead. It
// also waits, for a moment, when a burst of submissions has outrun the
// scheduler's owner goroutine by a few thousand jobs. Bad options, a nil argument, a duplicate Key, a ctx that has
// already ended and a closed scheduler are errors, and nothing runs.
//
// Options are a *Policy[T] or policy options, and the job's own: Key,
// Group, Name, InitialDelay, NonBlocking and Subscribe, which never copy a
// policy. Cost, with a *Policy[T] and the job's own options: the job
// record and the Handle, two allocations; a third for the terminal event
// when the job ends. Policy options beside a *Policy make a derived
// policy, on every call.
func Submit[T any](ctx context.Context, s *Scheduler, op func(context.Context) (T, error), opts ...Option) (*Handle[T], error) {
	p, jo, err := prepare[T](ctx, s, op, opts, "Submit")
	if err != nil {
		return nil, err
	}
	j := &job[T]{}
	*j = newJob(s, p, op, &jo)
	var h *Handle[T]
	if jo.hasNames() {
		hn := &struct {
			h Handle[T]
			n jobNames
		}{}
		h = &hn.h
		h.x.names = &hn.n
	} else {
		h = &Handle[T]{}
	}
	h.j, h.core = j, s.core
	h.x.handle = h
	j.x = extra(j, &h.x, &jo)
	if jo.subscribe {
		h.events = make(chan Event[T], eventBuffer)
	}
	if err := s.enqueue(ctx, j, &j.x.ctl, &jo); err != nil {
		return nil, err
	}
	return h, nil
}

// SubmitTo is Submit for fan-in: the job's terminal event, and nothing
// else, goes to results, which many jobs may share; Event.ID and Event.Key
// tell them apart. It returns the job's ID. A terminal event that results
// cannot take at once is kept, in order, until the reader takes it: a
// results channel that is never read holds its jobs' last events until
// Close discards them (counted in Stats). Once Close or Shutdown has
// returned, nothing is sent on results again: its owner may close it
// then, not before.
//
// Cost: one allocation with a *Policy[T]: the job record, and with a Key
// of the job's own the record of the key, in one; one more for a Group or
// Name of the job's own.
func SubmitTo[T any](ctx context.Context, s *Scheduler, op func(context.Context) (T, error), results chan<- Event[T], opts ...Option) (uint64, error) {
	if results == nil {
		return 0, errors.New("backoff: SubmitTo: results channel is nil")
	}
	p, jo, err := prepare[T](ctx, s, op, opts, "SubmitTo")
	if err != nil {
		return 0, err
	}
	if jo.subscribe {
		return 0, errors.New("backoff: SubmitTo: Subscribe is for Submit: a SubmitTo job has no Handle")
	}
	var j *job[T]
	switch {
	case jo.hasNames():
		j = &job[T]{}
		*j = newJob(s, p, op, &jo)
		xn := &struct {
			x jobExtra[T]
			n jobNames
		}{}
		xn.x.names = &xn.n
		j.x = extra(j, &xn.x, &jo)
	case jo.hasKey:
		jx := &struct {
			j job[T]
			x jobExtra[T]
		}{j: newJob(s, p, op, &jo)}
		j = &jx.j
		j.x = extra(j, &jx.x, &jo)
	default:
		j = &job[T]{}
		*j = newJob(s, p, op, &jo)
	}
	j.out = results
	var c *jobCtl
	if j.x != nil {
		c = &j.x.ctl
	}
	if err := s.enqueue(ctx, j, c, &jo); err != nil {
		return 0, err
	}
	return j.id, nil
}

// prepare checks a submission's arguments and resolves its options.
func prepare[T any](ctx context.Context, s *Scheduler, op func(context.Context) (T, error), opts []Option, fn string) (*Policy[T], jobOpts, error) {
	switch {
	case s == nil:
		return nil, jobOpts{}, fmt.Errorf("backoff: %s: scheduler is nil", fn)
	case s.core == nil:
		return nil, jobOpts{}, fmt.Errorf("backoff: %s: the Scheduler was not made by NewScheduler", fn)
	}
	if err := checkCall(ctx, op == nil, fn); err != nil {
		return nil, jobOpts{}, err
	}
	p, jo, err := resolve[T](opts)
	if err == nil && jo.hasClock {
		err = fmt.Errorf("backoff: %s: WithClock belongs to NewScheduler", fn)
	}
	if err != nil {
		return nil, jobOpts{}, err
	}
	return p, jo, nil
}

// newJob returns a new job record of s, as a value, so that the caller's
// allocation only writes to the fresh memory: a read of it would wait for
// the cache line.
func newJob[T any](s *Scheduler, p *Policy[T], op func(context.Context) (T, error), jo *jobOpts) job[T] {
	j := job[T]{pol: p, op: op, id: s.ids.Add(1)}
	// A first attempt without a delay is due when the owner takes the job
	// in, which saves a clock reading per submission.
	if !jo.startAt.IsZero() {
		if at := saturatingAdd(s.rt.clock.since(jo.startAt), startDelay(p, 0)); at > 0 {
			j.SetDue(int64(at))
		}
	} else if d := startDelay(p, jo.delayOf(&p.cfg)); d > 0 {
		j.SetDue(int64(saturatingAdd(dur(s.rt.now()), d)))
	}
	return j
}

// extra fills x, a job's extra record, from the job's options: a Handle's
// (x.handle is set) or a key makes the job stoppable on its own.
func extra[T any](j *job[T], x *jobExtra[T], jo *jobOpts) *jobExtra[T] {
	if n := x.names; n != nil {
		*n = jobNames{group: jo.group, name: jo.name, hasGroup: jo.hasGroup, hasName: jo.hasName}
	}
	var state uint32
	if x.handle != nil || jo.hasKey {
		state |= ctlOwn
	}
	if jo.hasKey {
		state |= ctlKeyed
	}
	x.ctl.job, x.ctl.key = j, jo.key
	x.ctl.state.Store(state)
	return x
}

// enqueue registers a job, whose context c is (or nil), and hands it to
// the owner.
func (s *Scheduler) enqueue(ctx context.Context, j sched.Job, c *jobCtl, jo *jobOpts) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.pending.take(ctx, s.stopped, jo.nonBlocking); err != nil {
		if errors.Is(err, ErrPendingFull) {
			s.stats.rejected.Add(1)
		}
		return err
	}
	if jo.hasKey {
		if err := s.keys.add(c); err != nil {
			s.pending.release()
			return err
		}
	}
	if err := s.core.Submit(ctx, j); err != nil {
		if jo.hasKey {
			s.keys.remove(c)
		}
		s.pending.release()
		if errors.Is(err, sched.ErrStopped) {
			return ErrClosed
		}
		return err
	}
	s.stats.submitted.Add(1)
	return nil
}
