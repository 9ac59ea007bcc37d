package sched

// ring is a growable FIFO of jobs.
type ring struct {
	buf  []Job
	head int
	n    int
}

func (r *ring) push(j Job) {
	r.grow()
	r.buf[(r.head+r.n)%len(r.buf)] = j
	r.n++
}

// grow makes room for one more job.
func (r *ring) grow() {
	if r.n < len(r.buf) {
		return
	}
	grown := make([]Job, max(64, 2*len(r.buf)))
	for i := range r.n {
		grown[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.buf, r.head = grown, 0
}

func (r *ring) pop() (Job, bool) {
	if r.n == 0 {
		return nil, false
	}
	j := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 && len(r.buf) > 1<<16 {
		r.buf, r.head = nil, 0 // a large burst's buffer is not kept for ever
	}
	return j, true
}
