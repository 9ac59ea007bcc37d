package sched

import "github.com/backoff-go/backoff/internal/fifo"

// timeline is the waiting jobs of one context group, in due order. Most
// jobs arrive in the order they fall due: a burst released for one
// instant, or retries of one policy handed back as they ran. Those go to
// the run, a FIFO of entries whose due times never decrease, where a
// push and a pop cost O(1) and release jobs in the order they came, so
// the workers touch job records in the order they were made. The others
// go to the heap. The earliest entry is the front of one or the top of
// the other; on a tie the heap's goes first.
//
// A group of one job, as a job per request under its own context makes,
// is common: its entry stays in the heap, and the run is made when a
// second entry starts it, so such a group costs a pointer more than a
// heap alone.
type timeline struct {
	run *run
	h   entryHeap
}

type run struct {
	q    fifo.Queue[entry]
	last int64 // the due time of the last entry
}

func (t *timeline) runLen() int {
	if t.run == nil {
		return 0
	}
	return t.run.q.Len()
}

func (t *timeline) len() int { return t.runLen() + len(t.h) }

// push adds e to the run when it is due no earlier than the run's last
// entry, or when the heap holds one entry due no later than e: that one
// goes first, then the run from e on, in the order they came.
func (t *timeline) push(e entry) {
	switch {
	case t.runLen() > 0 && e.at >= t.run.last,
		t.runLen() == 0 && len(t.h) == 1 && e.at >= t.h[0].at:
		if t.run == nil {
			t.run = &run{}
		}
		t.run.q.Push(e)
		t.run.last = e.at
	default:
		t.h.push(e)
	}
}

// fromHeap reports whether the earliest entry is the heap's. The
// timeline must not be empty.
func (t *timeline) fromHeap() bool {
	return len(t.h) > 0 && (t.runLen() == 0 || t.h[0].at <= t.run.q.Front().at)
}

// first returns the earliest due time. The timeline must not be empty.
func (t *timeline) first() int64 {
	if t.fromHeap() {
		return t.h[0].at
	}
	return t.run.q.Front().at
}

// pop removes and returns the earliest entry. The timeline must not be empty.
func (t *timeline) pop() entry {
	if t.fromHeap() {
		return t.h.pop()
	}
	return t.run.q.Pop()
}

// drain empties the timeline, calling f on each entry in no set order.
func (t *timeline) drain(f func(entry)) {
	if t.run != nil {
		for e := range t.run.q.All() {
			f(e)
		}
	}
	for _, e := range t.h {
		f(e)
	}
	*t = timeline{}
}

// filter keeps the entries for which keep returns true.
func (t *timeline) filter(keep func(entry) bool) {
	if t.run != nil {
		r := &run{}
		for e := range t.run.q.All() {
			if keep(e) {
				r.q.Push(e) // a subsequence of the run is still in order
				r.last = e.at
			}
		}
		t.run = r
	}
	h := t.h[:0]
	for _, e := range t.h {
		if keep(e) {
			h = append(h, e)
		}
	}
	clear(t.h[len(h):])
	t.h = h
	t.h.heapify()
}
