package sched

import (
	"math/bits"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// pool runs due jobs on at most max worker goroutines. A worker starts
// when a job falls due and none is idle, and lives until the pool closes.
// An idle worker waits on a channel of its own: the owner finds one in
// O(1), hands it the job directly, and an idle pool uses no CPU, however
// many workers it may start.
//
// A worker hands each job back as soon as its turn has run, to one of a
// few hand-back lists, and takes the next one under the pool's lock. When
// the queue is so long that every worker has a batch's worth of jobs
// waiting (the scheduler is overloaded), a worker takes a batch at once,
// works through it under a lock of its own, and hands its jobs back when
// the batch is done, so that the workers do not queue for the pool's
// lock. A worker about to go idle first steals from another's batch: no
// due job waits behind a slow op while a worker is free. A job that holds
// its concurrency group's slot is handed back at once, and so is one that
// has ended, whose terminal event the owner sends: neither waits for the
// rest of a batch of slow ops.
type pool struct {
	run    func(Job)
	exited func(Job)
	kick   chan struct{} // the owner's
	max    int

	mu       sync.Mutex // guards the fields below; taken before a worker's own
	ready    ring       // due jobs no worker has taken, in the order they fell due
	idle     []*worker  // parked workers; the last one parked goes first
	batching []*worker  // workers that may hold unstarted jobs, to steal from
	started  int
	closed   bool
	// wanted is set when the owner found no free worker for a rated job
	// (free): the next worker to park kicks it, so that no rated job is
	// stranded.
	wanted bool

	// backs are the lists of jobs handed back, for the owner. A worker
	// hands back to one of them, so that thousands of workers do not
	// queue for one lock: on two cores, the goroutine that waits for a
	// sync.Mutex parks at once, behind thousands of runnable ones, and the
	// lock's next holders queue behind it (one list made 11 % of the CPU
	// of 16,384 workers running 20 ms ops). Bit i of filled is set when
	// list i was handed a job since the owner last took it: the owner
	// takes only those, and the worker that sets a bit of an empty mask
	// kicks it.
	backs  [backShards]backList
	filled atomic.Uint32

	batched atomic.Int64 // jobs in workers' batches, not started yet
	running atomic.Int64
	workers sync.WaitGroup

	wake []handoff // the owner's, for push
}

// backList is one shard of the hand-back lists, alone on its cache line.
type backList struct {
	mu   sync.Mutex
	jobs jobList
	_    [64 - (unsafe.Sizeof(sync.Mutex{})+unsafe.Sizeof(jobList{}))%64]byte
}

// backShards is how many hand-back lists the workers share: enough that
// two workers rarely meet on one, and no more than filled has bits.
const backShards = 16

var _ [32 - backShards]struct{} // filled has a bit for each list

// worker is one worker goroutine's state. Its batch is its own: it pops
// from it under w.mu, and fills it under p.mu alone once it is empty; a
// thief, which holds p.mu, takes w.mu too.
type worker struct {
	next chan Job // capacity 1: a job, or nil when the pool closes

	back int // the index of its hand-back list

	mu     sync.Mutex // guards batch, head and done against thieves
	batch  []Job      // batch[head:] are taken from the queue and not started
	head   int
	done   []Job // run and not handed back yet: batch jobs only
	listed bool  // in pool.batching; guarded by pool.mu
}

// batchSize is the most jobs a worker takes at once from a long queue.
const batchSize = 8

// push hands due jobs to idle workers, to new ones while there may be
// more, and queues the rest. Called by the owner. Idle workers are woken
// after the lock is released: waking a goroutine may make a system call.
func (p *pool) push(js []Job) {
	wake := p.wake[:0]
	p.mu.Lock()
	for _, j := range js {
		switch n := len(p.idle); {
		case n > 0:
			w := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			wake = append(wake, handoff{w, j, 0})
		case p.started < p.max:
			wake = append(wake, handoff{nil, j, p.started % backShards})
			p.started++
			p.workers.Add(1)
		default:
			p.ready.push(j)
		}
	}
	p.mu.Unlock()
	for i, h := range wake {
		if h.w != nil {
			h.w.next <- h.j // a parked worker's channel is empty
		} else {
			go serve(p, &worker{next: make(chan Job, 1), back: h.shard}, h.j)
		}
		wake[i] = handoff{}
	}
	p.wake = wake[:0]
}

// handoff is a due job for an idle worker, or for a new one (w == nil)
// that hands its jobs back to list shard.
type handoff struct {
	w     *worker
	j     Job
	shard int
}

// next hands back done, if not nil, and returns the worker's next job,
// parking until there is one; nil when the pool has closed. A job from
// the worker's batch needs only the worker's lock.
func (p *pool) next(w *worker, done Job) Job {
	w.mu.Lock()
	if w.head < len(w.batch) && (done == nil || !done.base().HoldsSlot() && !done.base().Ended) {
		if done != nil {
			w.done = append(w.done, done)
		}
		j := w.pop(p)
		w.mu.Unlock()
		return j
	}
	p.handBack(w, done)
	j := w.pop(p)
	w.mu.Unlock()
	if j != nil {
		return j
	}

	p.mu.Lock()
	// w's batch is empty, and only w fills it: under p.mu no thief looks
	// at it, so w.mu is not needed to refill it.
	if j = p.take(w); j == nil && !p.closed {
		j = p.steal(w)
	}
	if j != nil || p.closed {
		p.mu.Unlock()
		return j
	}
	p.idle = append(p.idle, w)
	kick := p.wanted
	p.wanted = false
	p.mu.Unlock()
	if kick {
		wakeUp(p.kick)
	}
	return <-w.next
}

// free returns how many due jobs the pool would start at once: its idle
// workers and those it may still start. (A job queued in ready implies
// neither is left.) When that is fewer than need, the next worker to
// park kicks the owner. Called by the owner; it takes the pool's lock.
func (p *pool) free(need int) int {
	p.mu.Lock()
	n := len(p.idle) + p.max - p.started
	p.wanted = n < need
	p.mu.Unlock()
	return n
}

// handBack moves a worker's done jobs, then done if not nil, to its
// hand-back list, and kicks the owner if no list had jobs for it; w.mu is
// held.
func (p *pool) handBack(w *worker, done Job) {
	if len(w.done) == 0 && done == nil {
		return
	}
	b := &p.backs[w.back]
	b.mu.Lock()
	for i, j := range w.done {
		b.jobs.add(j)
		w.done[i] = nil
	}
	if done != nil {
		b.jobs.add(done)
	}
	b.mu.Unlock()
	w.done = w.done[:0]
	// Read first: most hand-backs find their bit set, and a read does not
	// take the cache line from the other cores.
	if bit := uint32(1) << w.back; p.filled.Load()&bit == 0 && p.filled.Or(bit) == 0 {
		wakeUp(p.kick)
	}
}

// pop starts the next job of a worker's batch, or returns nil; w.mu or
// p.mu is held.
func (w *worker) pop(p *pool) Job {
	if w.head == len(w.batch) {
		return nil
	}
	j := w.batch[w.head]
	w.batch[w.head] = nil
	w.head++
	if w.head == len(w.batch) {
		w.batch, w.head = w.batch[:0], 0
	}
	p.batched.Add(-1)
	return j
}

// take returns the next queued job, and when the queue is long fills the
// worker's batch too; p.mu is held, and the batch is empty.
func (p *pool) take(w *worker) Job {
	j, ok := p.ready.pop()
	if !ok {
		return nil
	}
	if p.ready.n >= 2*batchSize*p.started {
		for range batchSize - 1 {
			x, _ := p.ready.pop()
			w.batch = append(w.batch, x)
		}
		p.batched.Add(batchSize - 1)
		if !w.listed {
			w.listed = true
			p.batching = append(p.batching, w)
		}
	}
	return j
}

// steal takes half of the unstarted jobs of another worker's batch, the
// first to run now and the rest as the thief's batch, and hands back that
// worker's done jobs; p.mu is held. Workers found with nothing to steal
// leave the list.
func (p *pool) steal(w *worker) Job {
	for n := len(p.batching); n > 0; n = len(p.batching) {
		v := p.batching[n-1]
		if v == w {
			// w's own batch is empty: it leaves the list too.
			p.batching[n-1], p.batching = nil, p.batching[:n-1]
			w.listed = false
			continue
		}
		v.mu.Lock()
		p.handBack(v, nil)
		k := (len(v.batch) - v.head + 1) / 2
		if k == 0 {
			v.mu.Unlock()
			p.batching[n-1], p.batching = nil, p.batching[:n-1]
			v.listed = false
			continue
		}
		stolen := v.batch[v.head : v.head+k]
		w.batch = append(w.batch, stolen...)
		clear(stolen)
		v.head += k
		if v.head == len(v.batch) {
			v.batch, v.head = v.batch[:0], 0
		}
		v.mu.Unlock()
		j := w.pop(p)
		if len(w.batch) > w.head && !w.listed {
			w.listed = true
			p.batching = append(p.batching, w)
		}
		return j
	}
	return nil
}

// takeBack swaps each hand-back list that was handed jobs with one of the
// owner's handled lists, ls[0], ls[1] and on, and returns how many it
// swapped.
func (p *pool) takeBack(ls *[backShards]jobList) int {
	n := 0
	for m := p.filled.Swap(0); m != 0; m &= m - 1 {
		b := &p.backs[bits.TrailingZeros32(m)]
		b.mu.Lock()
		b.jobs, ls[n] = ls[n], b.jobs
		b.mu.Unlock()
		n++
	}
	return n
}

// queued returns the number of due jobs waiting for a worker: queued, or
// in a worker's batch.
func (p *pool) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready.n + int(p.batched.Load())
}

// close stops the workers once they are done and waits for them. Called
// by the owner after every job has ended.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	for _, w := range p.idle {
		w.next <- nil
	}
	p.idle = nil
	p.mu.Unlock()
	p.workers.Wait()
}

// serve is a worker's goroutine. Its frame marks a goroutine as a worker:
// see OnWorker.
//
// A runtime.Goexit in a callback of a job (t.FailNow in an op, say) ends
// this goroutine on the way: the job is ended by exited, and a new
// goroutine hands it back and takes this worker's place. That goroutine
// is started first, since exited runs callbacks that may exit too. (A
// panic here is a bug of this package, and is not recovered.)
//
//go:noinline
func serve(p *pool, w *worker, j Job) {
	// Deferred first, so that it runs last and runs even when exited
	// calls runtime.Goexit again (the ended job's OnGiveUp, say).
	defer p.workers.Done()
	var running Job // the job whose step runs, for the deferred call
	defer func() {
		if running != nil {
			if r := recover(); r != nil {
				panic(r)
			}
			p.running.Add(-1)
			ended := make(chan struct{})
			p.workers.Add(1)
			go func() {
				<-ended
				serve(p, w, p.next(w, running))
			}()
			defer close(ended)
			p.exited(running)
		}
	}()
	for ; j != nil; j = p.next(w, j) {
		running = j
		p.running.Add(1)
		p.run(j)
		p.running.Add(-1)
		running = nil
	}
}

// serveName is serve's name in stack frames.
var serveName = runtime.FuncForPC(reflect.ValueOf(serve).Pointer()).Name()

// OnWorker reports whether the calling goroutine is a worker of some
// scheduler: whether a callback of a job is calling. Close and Shutdown
// ask, so as not to wait for the worker they are called from. It walks
// the whole stack, so it costs microseconds.
func OnWorker() bool {
	pcs := make([]uintptr, 64)
	for skip := 1; ; skip += len(pcs) {
		n := runtime.Callers(skip, pcs)
		frames := runtime.CallersFrames(pcs[:n])
		for {
			f, more := frames.Next()
			if f.Function == serveName {
				return true
			}
			if !more {
				break
			}
		}
		if n < len(pcs) {
			return false
		}
	}
}
