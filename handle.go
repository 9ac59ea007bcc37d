package backoff

import (
	"context"
	"errors"

	"github.com/backoff-go/backoff/internal/sched"
)

// eventBuffer is the capacity of a Handle's events channel. One slot is
// kept for the terminal event, so that it is never dropped.
const eventBuffer = 16

// Handle follows one scheduled job. Its methods are safe for concurrent
// use and never block, except Result, which waits for the end. A nil or
// zero Handle reports an ended job that never was: ID 0, a closed Events
// channel, a Result error, a Cancel that does nothing.
type Handle[T any] struct {
	x    jobExtra[T] // the job's context, and its key, group and name
	j    *job[T]
	core *sched.Core

	// Guarded by x.ctl.mu.
	final  *Event[T] // set at the end; kept out of line while the job lives
	done   chan struct{}
	events chan Event[T]
}

// ID returns the job's ID, unique within its scheduler.
func (h *Handle[T]) ID() uint64 {
	if h == nil || h.j == nil {
		return 0
	}
	return h.j.id
}

// Events returns the job's channel of events: its backoff events, and its
// terminal event, after which the channel is closed. The terminal event
// is always delivered; a backoff event is dropped (and counted in Stats)
// when the channel is full. Backoff events are kept from the first call of
// Events on, or from Submit with the Subscribe option. Called after the
// job ended, it returns a closed channel holding the terminal event.
func (h *Handle[T]) Events() <-chan Event[T] {
	if h == nil || h.j == nil {
		c := make(chan Event[T])
		close(c)
		return c
	}
	h.x.ctl.mu.Lock()
	defer h.x.ctl.mu.Unlock()
	if h.events == nil {
		h.events = make(chan Event[T], eventBuffer)
		if h.final != nil {
			h.events <- *h.final
			close(h.events)
		}
	}
	return h.events
}

// Result waits for the job to end and returns its last value and, on
// give-up, a *GiveUpError (nil with ErrorOnGiveUp(false)). If ctx ends
// first, it returns ctx's error and the job carries on. A nil ctx is an
// error.
func (h *Handle[T]) Result(ctx context.Context) (T, error) {
	var zero T
	if h == nil || h.j == nil {
		return zero, errors.New("backoff: Handle.Result: the Handle was not made by Submit")
	}
	if ctx == nil {
		return zero, errors.New("backoff: Handle.Result: ctx is nil")
	}
	h.x.ctl.mu.Lock()
	if h.final != nil {
		defer h.x.ctl.mu.Unlock()
		return h.outcome()
	}
	if h.done == nil {
		h.done = make(chan struct{})
	}
	done := h.done
	h.x.ctl.mu.Unlock()
	select {
	case <-done:
		h.x.ctl.mu.Lock()
		defer h.x.ctl.mu.Unlock()
		return h.outcome()
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Cancel stops the job: a waiting job ends at once, a running attempt's
// context is cancelled and the job ends when the op returns. The job gives
// up with ReasonCanceled (or succeeds, if the running op returns success).
// Cancel after the end does nothing.
func (h *Handle[T]) Cancel() {
	if h == nil || h.j == nil {
		return
	}
	h.x.ctl.stop()
	h.core.Wake(h.j)
}

// outcome is Result's answer once the job has ended; h.x.ctl.mu is held.
func (h *Handle[T]) outcome() (T, error) {
	if h.final.Kind == EventGiveUp && !h.j.pol.cfg.quietGiveUp {
		return h.final.Value, h.final.Err
	}
	return h.final.Value, nil
}

// progress publishes a backoff event if someone listens, keeping one slot
// free for the terminal event.
func (h *Handle[T]) progress(ev Event[T], st *counters) {
	h.x.ctl.mu.Lock()
	defer h.x.ctl.mu.Unlock()
	if h.events == nil {
		return
	}
	if len(h.events) < cap(h.events)-1 {
		h.events <- ev
		return
	}
	st.dropped.Add(1)
}

func (h *Handle[T]) complete(ev Event[T]) {
	h.x.ctl.mu.Lock()
	defer h.x.ctl.mu.Unlock()
	h.final = &ev
	if h.events != nil {
		h.events <- ev
		close(h.events)
	}
	if h.done != nil {
		close(h.done)
	}
}
