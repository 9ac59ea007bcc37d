package sched

import (
	"context"
	"reflect"
)

// A ctxGroup is the jobs that share one context. Each group watches its
// context once, whatever the number of its jobs, and holds the context
// their ops run under: the submitted one, also cancelled when the
// scheduler closes. Owned by the owner goroutine; workers read ctx only.
type ctxGroup struct {
	key     context.Context // the submitted context
	ctx     context.Context // key, plus the scheduler's close
	cancel  context.CancelCauseFunc
	unwatch func() bool
	tl      timeline
	idx     int   // in the owner's groupHeap, or -1
	live    int   // jobs taken in and not yet ended
	stale   int   // entries in tl that no longer stand for a waiting job
	held    []Job // jobs held by their concurrency group's limit
	ended   bool  // the context ended, or the scheduler is closing
	shared  bool  // in owner.groups, found by its context
}

// groupFor returns the group of ctx, creating it and its watch when new.
func (o *owner) groupFor(ctx context.Context) *ctxGroup {
	// Jobs tend to arrive in runs with one context: the last group saves
	// a map lookup. Only hashable contexts are kept there, and comparing
	// one with any value cannot panic.
	if g := o.last; g != nil && g.key == ctx {
		return g
	}
	shared := hashable(ctx)
	if shared {
		if g := o.groups[ctx]; g != nil {
			o.last = g
			return g
		}
	}
	g := &ctxGroup{key: ctx, idx: -1, shared: shared}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	if o.canceling {
		g.cancel(o.cfg.CloseCause)
	}
	in := o.in
	g.unwatch = context.AfterFunc(g.ctx, func() { in.contextEnded(g) })
	if shared {
		o.groups[ctx] = g
		o.last = g
	}
	o.all[g] = struct{}{}
	o.peakGroups = max(o.peakGroups, len(o.all))
	return g
}

// hashable reports whether ctx can be a map key. Its type being
// comparable is not enough: a struct context (context.WithoutCancel's)
// may hold an interface whose value is a slice.
func hashable(ctx context.Context) bool {
	t := reflect.TypeOf(ctx)
	if t.Kind() == reflect.Pointer {
		return true // most contexts: the context package's own
	}
	return t.Comparable() && reflect.ValueOf(ctx).Comparable()
}

// release drops a group whose last job ended.
func (o *owner) release(g *ctxGroup) {
	g.unwatch()
	g.cancel(context.Canceled)
	if o.last == g {
		o.last = nil
	}
	if g.shared && o.groups[g.key] == g {
		delete(o.groups, g.key)
	}
	delete(o.all, g)
	if len(o.all) == 0 && o.peakGroups > 1024 {
		// Go maps never shrink: after a burst of contexts, start afresh.
		o.groups, o.all, o.peakGroups = make(map[context.Context]*ctxGroup), make(map[*ctxGroup]struct{}), 0
	}
	if g.idx >= 0 {
		o.top.remove(g)
	}
	g.tl = timeline{}
}

// endGroup makes every waiting or held job of a group whose context ended
// due now: a worker then ends it with the reason the context gives,
// without running its op.
func (o *owner) endGroup(g *ctxGroup, now int64) {
	if g.ended || g.live == 0 {
		return
	}
	g.ended = true
	g.tl.drain(func(e entry) {
		if standsFor(e) {
			o.makeReady(e.j, now)
		}
	})
	g.stale = 0
	if g.idx >= 0 {
		o.top.remove(g)
	}
	for len(g.held) > 0 {
		j := g.held[len(g.held)-1]
		o.tidy(o.unhold(j))
		o.toWorkers(j)
	}
	o.flushDue()
}

// closeGroup ends a group because the scheduler closes: its watch is
// stopped first, so that cancelling its context starts no goroutine.
func (o *owner) closeGroup(g *ctxGroup, now int64) {
	g.unwatch()
	g.cancel(o.cfg.CloseCause)
	o.endGroup(g, now)
}

// standsFor reports whether a heap entry still stands for a waiting job.
func standsFor(e entry) bool {
	b := e.j.base()
	return b.state == stateWaiting && b.at == e.at
}

// compact drops stale entries once they are half of a group's timeline.
func (g *ctxGroup) compact() {
	if g.stale < 64 || g.stale*2 < g.tl.len() {
		return
	}
	g.tl.filter(standsFor)
	g.stale = 0
}
