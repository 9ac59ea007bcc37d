package backoff

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// An op that ignores its context keeps running after its AttemptTimeout,
// and holds a worker all that time. The scheduler cannot stop it, but it
// counts it (Stats.Overdue, Stats.OverdueTotal) and logs it once, so that
// an operator learns why the workers are busy.

// overdueGrace is how long past its timeout an attempt may take to return
// before it counts as overdue: the timeout again, at most a second. An op
// that honours its context returns well within that.
func overdueGrace(timeout time.Duration) time.Duration { return min(timeout, time.Second) }

// overdueWatch follows one attempt with a timeout.
type overdueWatch struct {
	state atomic.Int32 // watchRunning, watchOverdue or watchDone
	stop  func() bool
	stats *counters
}

const (
	watchRunning = iota
	watchOverdue
	watchDone
)

// watchOverdue starts a watch on an attempt of the job with the given id,
// key and name, bounded by timeout; its logger is l.
func (rt *runEnv) watchOverdue(timeout time.Duration, l *slog.Logger, id uint64, key, name string) *overdueWatch {
	w := &overdueWatch{stats: rt.stats}
	w.stop = rt.clock.ts.AfterFunc(timeout+overdueGrace(timeout), func() {
		if !w.state.CompareAndSwap(watchRunning, watchOverdue) {
			return
		}
		w.stats.overdue.Add(1)
		w.stats.overdueTotal.Add(1)
		if l != nil {
			l.Warn("backoff: attempt is running past its timeout; its op ignores its context and holds a worker",
				slog.Uint64("id", id), slog.String("key", key), slog.String("name", name), slog.Duration("timeout", timeout))
		}
	})
	return w
}

// done ends the watch when the attempt returns.
func (w *overdueWatch) done() {
	w.stop()
	if w.state.Swap(watchDone) == watchOverdue {
		w.stats.overdue.Add(-1)
	}
}
