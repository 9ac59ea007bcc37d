package backoff

import (
	"context"
	"errors"
	"sync"
	"time"
)

// jobCtl is the context of a job that can be stopped on its own (it has a
// Handle or a Key): the context it was submitted under, plus the job's own
// Cancel. It is part of the job's extra record and costs nothing more
// until an op asks for Done: only then does it make a channel and watch
// its parent, for as long as the attempt runs. context.WithCancel on it (an
// op deriving contexts) uses its AfterFunc method, so no goroutine is
// started for that either.
//
// Between attempts it does not watch its parent: a parent that ends then
// ends the job, which ends this context (release). So a scheduler that
// closes starts a goroutine for each running attempt whose op asked for
// Done, not for each waiting job.
//
// Limitation: context.Cause on it reports its parent's cause, not the
// job's Cancel.
type jobCtl struct {
	mu       sync.Mutex
	parent   context.Context // the job's context group's; set at its first attempt
	err      error
	canceled bool // stopped by Cancel, not by its parent or the job's end
	done     chan struct{}
	unwatch  func() bool // stops the watch of parent, while an attempt runs
	funcs    []*ctlFunc
}

type ctlFunc struct{ f func() }

// stop is Cancel.
func (c *jobCtl) stop() { c.end(context.Canceled, true) }

// release ends the context when the job has ended.
func (c *jobCtl) release() { c.end(context.Canceled, false) }

func (c *jobCtl) end(err error, canceled bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err, c.canceled = err, canceled
	if c.done != nil {
		close(c.done)
	}
	funcs, unwatch := c.funcs, c.unwatch
	c.funcs, c.unwatch = nil, nil
	c.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
	for _, f := range funcs {
		go f.f()
	}
}

// attach sets the parent as an attempt starts and, if someone waits on
// this context, watches the parent while the attempt runs.
func (c *jobCtl) attach(parent context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parent = parent
	if c.err == nil && (c.done != nil || len(c.funcs) > 0) {
		c.watchLocked()
	}
}

// detach stops watching the parent as an attempt ends.
func (c *jobCtl) detach() {
	c.mu.Lock()
	unwatch := c.unwatch
	c.unwatch = nil
	c.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
}

// watchLocked ends c when its parent ends; c.mu is held.
func (c *jobCtl) watchLocked() {
	if c.unwatch == nil && c.parent != nil {
		parent := c.parent
		c.unwatch = context.AfterFunc(parent, func() { c.end(parent.Err(), false) })
	}
}

func (c *jobCtl) wasCanceled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.canceled
}

// Deadline is the parent's.
func (c *jobCtl) Deadline() (time.Time, bool) {
	if p := c.parentCtx(); p != nil {
		return p.Deadline()
	}
	return time.Time{}, false
}

// Value is the parent's: the submitted context's values.
func (c *jobCtl) Value(key any) any {
	if p := c.parentCtx(); p != nil {
		return p.Value(key)
	}
	return nil
}

func (c *jobCtl) parentCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parent
}

// Done makes the channel on first use.
func (c *jobCtl) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err == nil && c.parent != nil && c.parent.Err() != nil {
			c.err = c.parent.Err()
		}
		if c.err != nil {
			close(c.done)
		} else {
			c.watchLocked()
		}
	}
	return c.done
}

// Err reports the job's own end, else, while nobody watches the parent,
// the parent's.
func (c *jobCtl) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.unwatch == nil && c.parent != nil {
		return c.parent.Err()
	}
	return nil
}

// AfterFunc lets the context package derive contexts from c without a
// goroutine each: f runs in its own goroutine once c is done.
func (c *jobCtl) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	cf := &ctlFunc{f}
	c.funcs = append(c.funcs, cf)
	c.watchLocked()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, g := range c.funcs {
			if g == cf {
				c.funcs = append(c.funcs[:i], c.funcs[i+1:]...)
				return true
			}
		}
		return false
	}
}

func (c *jobCtl) String() string { return "backoff.jobContext" }

// stopReason maps why a job's context ended to a give-up reason.
func stopReason(ctx context.Context) (Reason, error) {
	if c, ok := ctx.(*jobCtl); ok {
		if c.wasCanceled() {
			return ReasonCanceled, nil
		}
		if p := c.parentCtx(); p != nil {
			ctx = p
		}
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrClosed) {
		return ReasonClosed, nil
	}
	return ReasonContext, cause
}
