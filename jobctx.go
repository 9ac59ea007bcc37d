package backoff

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backoff-go/backoff/internal/sched"
)

// jobCtl is the context of a job that can be stopped on its own (it has a
// Handle or a Key): the context it was submitted under, plus the job's own
// Cancel and Trigger, and its key, by which the scheduler's key table
// finds it. It is part of the job's extra record, 56 bytes, and costs
// nothing more until an op asks for Done or derives a context: only then
// does it make its channel and watch its parent, for as long as an attempt
// runs. context.WithCancel on it uses its AfterFunc method, so no
// goroutine is started for that either. The checks made on every attempt
// (Err, Deadline, Value, whether Cancel was called) take no lock.
//
// Between attempts it does not watch its parent: a parent that ends then
// ends the job, which ends this context (release). So a scheduler that
// closes starts a goroutine for each running attempt whose op asked for
// Done, not for each waiting job.
//
// Limitation: context.Cause on it reports its parent's cause, not the
// job's Cancel.
type jobCtl struct {
	// job is the job: its context group's context is the parent, set
	// when the owner takes the job in, before any attempt; Cancel and
	// Trigger wake it. job and key are set before the job is submitted
	// and never change.
	job   sched.Job
	state atomic.Uint32 // ctlEnded, ctlCanceled, ctlByParent, ctlWaited, ctlWatching; ctlOwn, ctlKeyed

	// mu guards w and the changes of state; a Handle's own fields too.
	mu   sync.Mutex
	trig atomic.Bool // a Trigger came and no attempt has started since
	w    *ctlWaiters
	key  string
}

// parent is the context the job was submitted under, plus the
// scheduler's close; nil before the owner took the job in.
func (c *jobCtl) parent() context.Context { return c.job.Context() }

// own reports whether the job can be stopped on its own: it has a Handle
// or a Key. Only then is c the op's context.
func (c *jobCtl) own() bool { return c.state.Load()&ctlOwn != 0 }

// keyed reports whether the job has a Key: c is in the key table while
// the job lives.
func (c *jobCtl) keyed() bool { return c.state.Load()&ctlKeyed != 0 }

// ctlWaiters is what a jobCtl keeps once someone waits on it.
type ctlWaiters struct {
	done    chan struct{}
	unwatch func() bool // stops the watch of parent
	funcs   []*ctlFunc
}

const (
	ctlEnded    = 1 << iota
	ctlCanceled // ended by Cancel
	ctlByParent // ended because its parent did: Err is the parent's
	ctlWaited   // someone called Done or AfterFunc: attempts watch the parent
	ctlWatching // a watch of parent is set

	// Set before the job is submitted and never changed: every other
	// change of state keeps them.
	ctlOwn   // the job has a Handle or a Key
	ctlKeyed // the job has a Key
)

type ctlFunc struct{ f func() }

// stop is Cancel.
func (c *jobCtl) stop() { c.end(ctlCanceled) }

// release ends the context when the job has ended.
func (c *jobCtl) release() { c.end(0) }

func (c *jobCtl) end(why uint32) {
	c.mu.Lock()
	s := c.state.Load()
	if s&ctlEnded != 0 {
		c.mu.Unlock()
		return
	}
	c.state.Store(s&^ctlWatching | ctlEnded | why)
	var w ctlWaiters
	if c.w != nil {
		w = *c.w
		if w.done != nil {
			close(w.done)
		}
		c.w.funcs, c.w.unwatch = nil, nil
	}
	c.mu.Unlock()
	if w.unwatch != nil {
		w.unwatch()
	}
	for _, f := range w.funcs {
		go f.f()
	}
}

// waiters returns c.w, made on first use; c.mu is held.
func (c *jobCtl) waiters() *ctlWaiters {
	if c.w == nil {
		c.w = &ctlWaiters{}
	}
	return c.w
}

// attach is called by a worker as an attempt starts: while the attempt
// runs it watches the parent, if someone waits on this context.
func (c *jobCtl) attach() {
	if c.state.Load()&ctlWaited == 0 {
		return
	}
	c.mu.Lock()
	if c.state.Load()&ctlEnded == 0 {
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
	unwatch := c.w.unwatch
	c.w.unwatch = nil
	c.state.And(^uint32(ctlWatching))
	c.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
}

// watchLocked ends c when its parent ends; c.mu is held.
func (c *jobCtl) watchLocked() {
	if w, p := c.waiters(), c.parent(); w.unwatch == nil && p != nil {
		w.unwatch = context.AfterFunc(p, func() { c.end(ctlByParent) })
		c.state.Or(ctlWatching)
	}
}

func (c *jobCtl) wasCanceled() bool { return c.state.Load()&ctlCanceled != 0 }

// Deadline is the parent's.
func (c *jobCtl) Deadline() (time.Time, bool) {
	if p := c.parent(); p != nil {
		return p.Deadline()
	}
	return time.Time{}, false
}

// Value is the parent's: the submitted context's values.
func (c *jobCtl) Value(key any) any {
	if p := c.parent(); p != nil {
		return p.Value(key)
	}
	return nil
}

// Done makes the channel on first use.
func (c *jobCtl) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.waiters()
	if w.done == nil {
		w.done = make(chan struct{})
		s := c.state.Load()
		if p := c.parent(); s&ctlEnded == 0 && p != nil && p.Err() != nil {
			s |= ctlEnded | ctlByParent
		}
		c.state.Store(s | ctlWaited)
		if s&ctlEnded != 0 {
			close(w.done)
		} else {
			c.watchLocked()
		}
	}
	return w.done
}

// Err reports the job's own end; else, while nobody watches the parent,
// the parent's (while someone does, the parent's end reaches it through
// the watch, and Done closes with it).
func (c *jobCtl) Err() error {
	s := c.state.Load()
	switch p := c.parent(); {
	case s&ctlByParent != 0:
		return p.Err()
	case s&ctlEnded != 0:
		return context.Canceled
	case s&ctlWatching != 0, p == nil:
		return nil
	default:
		return p.Err()
	}
}

// AfterFunc lets the context package derive contexts from c without a
// goroutine each: f runs in its own goroutine once c is done.
func (c *jobCtl) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load()&ctlEnded != 0 {
		go f()
		return func() bool { return false }
	}
	cf := &ctlFunc{f}
	w := c.waiters()
	w.funcs = append(w.funcs, cf)
	c.state.Or(ctlWaited)
	c.watchLocked()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, g := range c.w.funcs {
			if g == cf {
				c.w.funcs = append(c.w.funcs[:i], c.w.funcs[i+1:]...)
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
		if p := c.parent(); p != nil {
			ctx = p
		}
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrClosed) {
		return ReasonClosed, nil
	}
	return ReasonContext, cause
}
