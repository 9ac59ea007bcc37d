package sched

import "github.com/backoff-go/backoff/internal/fifo"

// timeline is the waiting jobs of one context group, in due order. Most
// jobs arrive in the order they fall due: a burst released for one
// instant, or retries of one policy handed back as they ran. Those go to
// the run, a FIFO of entries whose due times never decrease, where a
// push and a pop cost O(1) and release jobs in the order they came, so
// the workers touch job records in the order they were made. An entry
// due before the run's last goes to the heap. The earliest entry is the
// front of one or the top of the other.
type timeline struct {
	run  fifo.Queue[entry]
	last int64 // the due time of the run's last entry
	h    entryHeap
}

func (t *timeline) len() int { return t.run.Len() + len(t.h) }

func (t *timeline) push(e entry) {
	if t.run.Len() == 0 || e.at >= t.last {
		t.run.Push(e)
		t.last = e.at
		return
	}
	t.h.push(e)
}

// fromHeap reports whether the earliest entry is the heap's; on a tie the
// run's goes first. The timeline must not be empty.
func (t *timeline) fromHeap() bool {
	return len(t.h) > 0 && (t.run.Len() == 0 || t.h[0].at < t.run.Front().at)
}

// first returns the earliest due time. The timeline must not be empty.
func (t *timeline) first() int64 {
	if t.fromHeap() {
		return t.h[0].at
	}
	return t.run.Front().at
}

// pop removes and returns the earliest entry. The timeline must not be empty.
func (t *timeline) pop() entry {
	if t.fromHeap() {
		return t.h.pop()
	}
	return t.run.Pop()
}

// drain empties the timeline, calling f on each entry in no set order.
func (t *timeline) drain(f func(entry)) {
	for e := range t.run.All() {
		f(e)
	}
	for _, e := range t.h {
		f(e)
	}
	*t = timeline{}
}

// filter keeps the entries for which keep returns true.
func (t *timeline) filter(keep func(entry) bool) {
	var run fifo.Queue[entry]
	for e := range t.run.All() {
		if keep(e) {
			run.Push(e) // a subsequence of the run is still in order
			t.last = e.at
		}
	}
	t.run = run
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
