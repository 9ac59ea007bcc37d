package backoff

import (
	"sync"
	"sync/atomic"
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
	idle    atomic.Int32 // workers waiting for work, or looking for some
	// chunks are the workers' jobs taken and not yet started. A worker
	// that finds the queue empty steals from them, so that no due job
	// waits behind another's slow op while a worker is free.
	chunks []*chunk
	offers uint64 // counts the rests offered to idle workers; under mu
}

// chunk is what one worker has taken: jobs[next:] are not started yet.
type chunk struct {
	mu   sync.Mutex
	jobs []jobber
	next int
}

const maxChunk = 64

func (q *readyQueue) init(workers int) {
	q.cond.L = &q.mu
	q.workers = workers
	q.ring = make([]jobber, 64)
	for range workers {
		q.chunks = append(q.chunks, &chunk{jobs: make([]jobber, 0, maxChunk)})
	}
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

// take blocks until there is work, and moves a share of it into buf:
// from the queue, or else stolen from another worker's chunk. It returns
// nil once the queue is closed and empty.
func (q *readyQueue) take(buf []jobber, self *chunk) []jobber {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 {
		if q.closed {
			return nil
		}
		// Idle before looking, so that a worker that offers its rest
		// meanwhile sees it and counts the offer.
		q.idle.Add(1)
		offers := q.offers
		q.mu.Unlock()
		buf = q.steal(buf, self)
		q.mu.Lock()
		if len(buf) > 0 {
			q.idle.Add(-1)
			return buf
		}
		if q.n == 0 && !q.closed && q.offers == offers {
			q.cond.Wait()
		}
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

// steal moves half of the first unstarted jobs found in another worker's
// chunk, at least one, into buf.
func (q *readyQueue) steal(buf []jobber, self *chunk) []jobber {
	for _, c := range q.chunks {
		if c == self {
			continue
		}
		c.mu.Lock()
		if left := len(c.jobs) - c.next; left > 0 {
			k := (left + 1) / 2
			buf = append(buf, c.jobs[c.next:c.next+k]...)
			clear(c.jobs[c.next : c.next+k])
			c.next += k
			c.mu.Unlock()
			return buf
		}
		c.mu.Unlock()
	}
	return buf
}

// offer wakes an idle worker, if there is one, to steal the rest of a
// chunk whose worker is about to run an op that may be slow.
func (q *readyQueue) offer() {
	if q.idle.Load() == 0 {
		return
	}
	q.mu.Lock()
	q.offers++
	q.mu.Unlock()
	q.cond.Signal()
}

// pop returns the chunk's next job and whether others are left after it.
func (c *chunk) pop() (jobber, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == len(c.jobs) {
		c.jobs, c.next = c.jobs[:0], 0
		return nil, false
	}
	j := c.jobs[c.next]
	c.jobs[c.next] = nil
	c.next++
	return j, c.next < len(c.jobs)
}

func (c *chunk) set(js []jobber) {
	c.mu.Lock()
	c.jobs = append(c.jobs[:0], js...)
	c.next = 0
	c.mu.Unlock()
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

// work is one worker's loop: take a chunk, run each job's attempt and
// hand the job back to the owner as soon as it has run. A chunk is taken
// when the queue is long; while this worker runs an op, the rest of its
// chunk may be stolen by an idle one, so that no due job waits behind a
// slow op while a worker is free.
func (s *Scheduler) work(c *chunk) error {
	buf := make([]jobber, 0, maxChunk)
	for {
		buf = s.ready.take(buf[:0], c)
		if buf == nil {
			return nil
		}
		c.set(buf)
		clear(buf)
		for {
			j, more := c.pop()
			if j == nil {
				break
			}
			if more {
				s.ready.offer()
			}
			s.stats.running.Add(1)
			j.attempt(s)
			s.stats.running.Add(-1)
			s.giveBack(j)
		}
	}
}

// giveBack returns jobs to the owner, which re-arms or retires them. The
// owner is kicked only when its inbox was empty: one wake-up serves a
// whole backlog.
func (s *Scheduler) giveBack(j jobber) {
	s.retMu.Lock()
	wake := len(s.returned) == 0
	s.returned = append(s.returned, j)
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
