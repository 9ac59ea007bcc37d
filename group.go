package backoff

import (
	"context"
	"reflect"
)

// A group is the jobs that share one context. The owner goroutine alone
// creates, changes and drops groups. Each group watches its context once,
// whatever the number of its jobs, and holds the context its ops run
// under: the job's context, cancelled too when the scheduler closes.
type group struct {
	key     context.Context // the submitted context
	ctx     context.Context // what ops see: key, plus the scheduler's close
	cancel  context.CancelCauseFunc
	unwatch func() bool
	h       entryHeap
	idx     int // in the owner's groupHeap, or -1
	live    int // jobs of the group not yet ended
	stale   int // entries in h that no longer stand for a waiting job
	held    int // jobs held by their concurrency group's limit
	ended   bool
	shared  bool // found by its context in Scheduler.groups; false for a context type that cannot be a map key
}

// groupFor returns the group of ctx, creating it and its watch when new.
func (s *Scheduler) groupFor(ctx context.Context) *group {
	// Jobs tend to arrive in runs with one context: the last group saves
	// a type check and a map lookup. Only comparable keys are ever cached,
	// so the == below cannot panic.
	if g := s.lastGroup; g != nil && g.key == ctx {
		return g
	}
	comparable := reflect.TypeOf(ctx).Comparable()
	if comparable {
		if g := s.groups[ctx]; g != nil {
			s.lastGroup = g
			return g
		}
	}
	g := &group{key: ctx, idx: -1}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	if s.canceling {
		g.cancel(ErrClosed)
	}
	g.unwatch = context.AfterFunc(g.ctx, func() {
		select {
		case s.ctxEnded <- g:
		case <-s.done:
		}
	})
	if comparable {
		g.shared = true
		s.groups[ctx] = g
		s.lastGroup = g
	}
	s.allGroups[g] = struct{}{}
	return g
}

// release drops a group whose last job ended.
func (s *Scheduler) release(g *group) {
	g.unwatch()
	g.cancel(context.Canceled)
	if s.lastGroup == g {
		s.lastGroup = nil
	}
	if g.shared && s.groups[g.key] == g {
		delete(s.groups, g.key)
	}
	delete(s.allGroups, g)
	if g.idx >= 0 {
		s.top.remove(g)
	}
	g.h = nil
}

// endGroup makes every waiting job of a group whose context ended due now:
// a worker then ends it with the reason the context gives, without running
// its op.
func (s *Scheduler) endGroup(g *group) {
	if g.ended || g.live == 0 {
		return
	}
	g.ended = true
	for _, e := range g.h {
		if b := e.j.base(); b.state == stateWaiting && b.at == e.at {
			s.makeReady(e.j)
		}
	}
	g.h, g.stale = nil, 0
	if g.idx >= 0 {
		s.top.remove(g)
	}
	if g.held > 0 {
		s.releaseStopped()
	}
}

// compact drops stale entries once they are half of a group's heap.
func (g *group) compact() {
	if g.stale < 64 || g.stale*2 < len(g.h) {
		return
	}
	keep := g.h[:0]
	for _, e := range g.h {
		if b := e.j.base(); b.state == stateWaiting && b.at == e.at {
			keep = append(keep, e)
		}
	}
	clear(g.h[len(keep):])
	g.h, g.stale = keep, 0
	g.h.heapify()
}
