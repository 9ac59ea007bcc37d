package sched

// Seats: a rated job takes its token only when a worker is free to start
// its attempt at once. Were it to take the token and then queue for a
// worker, tokens would go on being taken at the group's rate while every
// worker is busy, and the jobs that took them would start back to back
// once workers came free: far above the rate, just when the system is
// under load. Held instead, the head of a rated lane waits for a worker
// in rates.seatless, using no slot, no token and no worker, while its
// bucket fills up to its burst as when idle.
//
// Workers come free on their own, so the owner learns of it when jobs
// are handed back (which kicks it) and, for a worker that parks with
// nothing to hand back, through pool.wanted. Either way seat runs in the
// next drain, before the jobs that batch makes due: the workers that came
// free go first to the rated jobs that waited for them. Jobs queued for
// a worker go first, so under overload a rated group gets a worker only
// when the queue is empty.

// hasWorker reports whether a job let through now would start at once:
// whether the pool has a free worker for it after the due jobs ahead of
// it. It counts the pool's workers, under the pool's lock, only when
// those it counted last are spoken for.
func (o *owner) hasWorker() bool {
	need := len(o.due) + 1
	if o.spare < need {
		o.spare = o.pool.free(need)
	}
	return o.spare >= need
}

// seat lets through the lanes whose head waits for a worker, in the order
// they began to wait, while workers are free. The lane that finds none
// goes last, behind those that did not get a turn.
func (o *owner) seat(now int64) {
	list := o.lanes.rates.seatless
	if len(list) == 0 {
		return
	}
	for i, l := range list {
		if l.seatless {
			o.letThrough(l, now)
		}
		if l.seatless {
			n := copy(list, list[i+1:])
			list[n] = l
			clear(list[n+1:])
			o.lanes.rates.seatless = list[:n+1]
			return
		}
		l.listed = false
	}
	clear(list)
	o.lanes.rates.seatless = list[:0]
}
