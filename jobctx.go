package backoff

import (
	"context"
	"sync"
	"time"
)

// jobCtl is the context of a job that can be stopped on its own (it has a
// Handle or a Key): its group's context, plus the job's own Cancel. It is
// part of the job's allocation and costs nothing more until an op asks
// for Done: only then does it make a channel and watch the group's
// context. context.WithCancel on it (an op deriving contexts) uses its
// AfterFunc method, so no goroutine is started for that either.
//
// Limitation: context.Cause on it reports the group's cause, not the
// job's Cancel.
type jobCtl struct {
	key    string
	parent context.Context // the group's context, set by the owner before the first attempt

	mu       sync.Mutex
	err      error
	canceled bool // stopped by Cancel, not by its parent or the job's end
	done     chan struct{}
	unwatch  func() bool
	funcs    []*ctlFunc
}

type ctlFunc struct{ f func() }

// bind sets the parent; a Cancel that came first stands.
func (c *jobCtl) bind(parent context.Context) {
	c.mu.Lock()
	c.parent = parent
	c.mu.Unlock()
}

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
	c.funcs = nil
	c.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
	for _, f := range funcs {
		go f.f()
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
func (c *jobCtl) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Value is the parent's: the submitted context's values.
func (c *jobCtl) Value(key any) any { return c.parent.Value(key) }

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

// Err reports the job's own end, else, while nobody watches Done, the
// parent's.
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
