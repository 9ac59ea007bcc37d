package backoff

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// jobCtl is the context of a job that can be stopped on its own (it has a
// Handle or a Key): the context it was submitted under, plus the job's own
// Cancel. It is part of the job's extra record and costs nothing more
// until an op asks for Done: only then does it make a channel and watch
// its parent, for as long as an attempt runs. context.WithCancel on it (an
// op deriving contexts) uses its AfterFunc method, so no goroutine is
// started for that either. The checks made on every attempt (Err,
// Deadline, Value, whether Cancel was called) take no lock.
//
// Between attempts it does not watch its parent: a parent that ends then
// ends the job, which ends this context (release). So a scheduler that
// closes starts a goroutine for each running attempt whose op asked for
// Done, not for each waiting job.
//
// Limitation: context.Cause on it reports its parent's cause, not the
// job's Cancel.
type jobCtl struct {
	// parent is the job's context group's context: set by the worker of
	// the job's first attempt, before its op runs, and never changed.
	parent context.Context
	state  atomic.Uint32 // ctlEnded, ctlCanceled, ctlWaited, ctlWatching

	mu      sync.Mutex // guards the rest
	err     error
	done    chan struct{}
	unwatch func() bool // stops the watch of parent
	funcs   []*ctlFunc
}

const (
	ctlEnded    = 1 << iota // err is set
	ctlCanceled             // ended by Cancel, not by its parent or the job's end
	ctlWaited               // someone called Done or AfterFunc: attempts watch the parent
	ctlWatching             // a watch of parent is set
)

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
	c.err = err
	bits := uint32(ctlEnded)
	if canceled {
		bits |= ctlCanceled
	}
	c.state.Store(c.state.Load()&^ctlWatching | bits)
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

// attach is called by a worker as an attempt starts, with the job's
// context group's context; while the attempt runs it watches that parent,
// if someone waits on this context.
func (c *jobCtl) attach(parent context.Context) {
	if c.parent == nil {
		c.parent = parent
	}
	if c.state.Load()&ctlWaited == 0 {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.watchLocked()
	}
	c.mu.Unlock()
}

// detach stops watching the parent as an attempt ends.
func (c *jobCtl) detach() {
	if c.state.Load()&ctlWatching == 0 {
		return
	}
	c.mu.Lock()
	unwatch := c.unwatch
	c.unwatch = nil
	c.state.And(^uint32(ctlWatching))
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
		c.state.Or(ctlWatching)
	}
}

func (c *jobCtl) wasCanceled() bool { return c.state.Load()&ctlCanceled != 0 }

// Deadline is the parent's.
func (c *jobCtl) Deadline() (time.Time, bool) {
	if c.parent == nil {
		return time.Time{}, false
	}
	return c.parent.Deadline()
}

// Value is the parent's: the submitted context's values.
func (c *jobCtl) Value(key any) any {
	if c.parent == nil {
		return nil
	}
	return c.parent.Value(key)
}

// Done makes the channel on first use.
func (c *jobCtl) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		c.state.Or(ctlWaited)
		if c.err == nil && c.parent != nil && c.parent.Err() != nil {
			c.err = c.parent.Err()
			c.state.Or(ctlEnded)
		}
		if c.err != nil {
			close(c.done)
		} else {
			c.watchLocked()
		}
	}
	return c.done
}

// Err reports the job's own end; else, while nobody watches the parent,
// the parent's (while someone does, the parent's end reaches it through
// the watch, and Done closes with it).
func (c *jobCtl) Err() error {
	switch s := c.state.Load(); {
	case s&ctlEnded != 0:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	case s&ctlWatching != 0, c.parent == nil:
		return nil
	}
	return c.parent.Err()
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
	c.state.Or(ctlWaited)
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
		if c.parent != nil {
			ctx = c.parent
		}
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrClosed) {
		return ReasonClosed, nil
	}
	return ReasonContext, cause
}
