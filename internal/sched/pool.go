package sched

import (
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
)

// pool runs due jobs on at most max worker goroutines. A worker starts
// when a job falls due and none is idle, and lives until the pool closes.
// An idle worker waits on a channel of its own: the owner finds one in
// O(1), hands it the job directly, and an idle pool uses no CPU, however
// many workers it may start.
//
// A worker takes one job at a time and hands each back as soon as its
// attempt has run, in the same critical section in which it takes the
// next: one lock per attempt, and no due job waits behind a slow op while
// a worker is free.
type pool struct {
	run    func(Job)
	exited func(Job)
	kick   chan struct{} // the owner's
	max    int

	mu      sync.Mutex
	ready   ring      // due jobs no worker has taken, in the order they fell due
	idle    []*worker // parked workers; the last one parked goes first
	started int
	closed  bool
	back    jobList // jobs handed back, for the owner

	running atomic.Int64
	workers sync.WaitGroup
}

type worker struct {
	next chan Job // capacity 1: a job, or nil when the pool closes
}

// push hands due jobs to idle workers, to new ones while there may be
// more, and queues the rest. Called by the owner.
func (p *pool) push(js []Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, j := range js {
		switch n := len(p.idle); {
		case n > 0:
			w := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			w.next <- j // a parked worker's channel is empty
		case p.started < p.max:
			p.started++
			p.workers.Add(1)
			go serve(p, &worker{next: make(chan Job, 1)}, j)
		default:
			p.ready.push(j)
		}
	}
}

// next hands back done, if not nil, and returns the worker's next job,
// parking until there is one; nil when the pool has closed.
func (p *pool) next(w *worker, done Job) Job {
	p.mu.Lock()
	if done != nil {
		if p.back.empty() {
			wakeUp(p.kick)
		}
		p.back.add(done)
	}
	if j, ok := p.ready.pop(); ok {
		p.mu.Unlock()
		return j
	}
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.idle = append(p.idle, w)
	p.mu.Unlock()
	return <-w.next
}

// takeBack swaps the hand-back list with the owner's handled one.
func (p *pool) takeBack(l *jobList) {
	p.mu.Lock()
	p.back, *l = *l, p.back
	p.mu.Unlock()
}

// queued returns the number of due jobs waiting for a worker.
func (p *pool) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready.n
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
		p.workers.Done()
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

// ring is a growable FIFO of jobs.
type ring struct {
	buf  []Job
	head int
	n    int
}

func (r *ring) push(j Job) {
	if r.n == len(r.buf) {
		grown := make([]Job, max(64, 2*len(r.buf)))
		for i := range r.n {
			grown[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = grown, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = j
	r.n++
}

func (r *ring) pop() (Job, bool) {
	if r.n == 0 {
		return nil, false
	}
	j := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 && len(r.buf) > 1024 {
		r.buf, r.head = nil, 0 // a burst's buffer is not kept for ever
	}
	return j, true
}
