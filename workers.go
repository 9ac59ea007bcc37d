package backoff

import (
	"sync"
	"sync/atomic"
	"time"
)

// readyQueue holds due jobs, in the order they fell due, until a worker
// takes them. Workers take a share of the queue at a time (at most
// maxChunk), so that a burst costs one lock per chunk, not per job, while
// a short queue still spreads over all workers.
type readyQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	ring    []jobber
	head, n int
	closed  bool
	workers int
	idle    atomic.Int32 // workers waiting for work
}

const maxChunk = 64

// slowChunk is how long a chunk may run before its rest goes back to an
// idle worker. It is real time: it measures the ops, not the waits.
const slowChunk = time.Millisecond

func (q *readyQueue) init(workers int) {
	q.cond.L = &q.mu
	q.workers = workers
	q.ring = make([]jobber, 64)
}

// push appends due jobs and wakes workers.
func (q *readyQueue) push(js []jobber) {
	q.mu.Lock()
	for _, j := range js {
		if q.n == len(q.ring) {
			q.grow()
		}
		q.ring[(q.head+q.n)%len(q.ring)] = j
		q.n++
	}
	q.mu.Unlock()
	if len(js) == 1 {
		q.cond.Signal()
	} else {
		q.cond.Broadcast()
	}
}

func (q *readyQueue) grow() {
	r := make([]jobber, 2*len(q.ring))
	for i := 0; i < q.n; i++ {
		r[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = r, 0
}

// take blocks until there is work, and moves a share of it into buf. It
// returns nil once the queue is closed and empty.
func (q *readyQueue) take(buf []jobber) []jobber {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 {
		if q.closed {
			return nil
		}
		q.idle.Add(1)
		q.cond.Wait()
		q.idle.Add(-1)
	}
	k := min(max(q.n/q.workers, 1), maxChunk)
	for i := 0; i < k; i++ {
		buf = append(buf, q.ring[q.head])
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
	}
	q.n -= k
	return buf
}

// putBack returns the untouched rest of a chunk to the head of the queue,
// in order, for idle workers to share.
func (q *readyQueue) putBack(js []jobber) {
	q.mu.Lock()
	for i := len(js) - 1; i >= 0; i-- {
		if q.n == len(q.ring) {
			q.grow()
		}
		q.head = (q.head - 1 + len(q.ring)) % len(q.ring)
		q.ring[q.head] = js[i]
		q.n++
	}
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *readyQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

func (q *readyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// work is one worker's loop: take a chunk, run each job's attempt, hand
// the chunk back to the owner. A chunk is taken when the queue is long;
// if a worker falls idle meanwhile (the chunk's ops are slow), the rest of
// the chunk goes back to the queue, so no due job waits behind a slow op
// while a worker is free.
func (s *Scheduler) work() error {
	buf := make([]jobber, 0, maxChunk)
	for {
		buf = s.ready.take(buf[:0])
		if buf == nil {
			return nil
		}
		began := time.Now()
		for i, j := range buf {
			s.stats.running.Add(1)
			j.attempt(s)
			s.stats.running.Add(-1)
			// Hand back only for slow ops: in a burst of fast ones, workers
			// fall idle for a moment all the time, and handing back then
			// would only bounce jobs between them.
			if rest := buf[i+1:]; len(rest) > 0 && s.ready.idle.Load() > 0 && time.Since(began) > slowChunk {
				s.ready.putBack(rest)
				buf = buf[:i+1]
				break
			}
		}
		s.giveBack(buf)
	}
}

// giveBack returns jobs to the owner, which re-arms or retires them. The
// owner is kicked only when its inbox was empty: one wake-up serves a
// whole backlog.
func (s *Scheduler) giveBack(js []jobber) {
	s.retMu.Lock()
	wake := len(s.returned) == 0
	s.returned = append(s.returned, js...)
	s.retMu.Unlock()
	if wake {
		s.kick()
	}
}

func (s *Scheduler) kick() {
	select {
	case s.kicks <- struct{}{}:
	default:
	}
}
