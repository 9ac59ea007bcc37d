// Package fifo is a first-in first-out queue kept in fixed-size blocks:
// pushing never copies what the queue holds, however long it grows, and
// popping gives each emptied block back to the garbage collector, except
// one kept for reuse. A backlog of a million results channel events
// costs a million pushes and pops, not the repeated doubling and
// compacting copies of a slice used as a queue.
//
// A Queue is not safe for concurrent use; its owner guards it.
package fifo

import (
	"iter"
	"unsafe"
)

// blockBytes is the size of a block's values: 4 KB, one of the
// allocator's size classes, which a block fills to within one value.
const blockBytes = 4096

type block[T any] struct {
	v    []T
	next *block[T]
}

func newBlock[T any]() *block[T] {
	var v T
	return &block[T]{v: make([]T, max(1, blockBytes/int(unsafe.Sizeof(v))))}
}

// Queue is a FIFO of T. Its zero value is an empty queue.
type Queue[T any] struct {
	head, tail *block[T]
	r, w       int // next to pop in head, next to fill in tail
	n          int
	spare      *block[T]
}

// Len returns the number of values queued.
func (q *Queue[T]) Len() int { return q.n }

// Push adds v at the back.
func (q *Queue[T]) Push(v T) {
	if q.tail == nil || q.w == len(q.tail.v) {
		b := q.spare
		if b != nil {
			q.spare = nil
		} else {
			b = newBlock[T]()
		}
		if q.tail == nil {
			q.head, q.r = b, 0
		} else {
			q.tail.next = b
		}
		q.tail, q.w = b, 0
	}
	q.tail.v[q.w] = v
	q.w++
	q.n++
}

// Front returns the value at the front, which must exist.
func (q *Queue[T]) Front() T { return q.head.v[q.r] }

// Pop removes the value at the front, which must exist, and returns it.
func (q *Queue[T]) Pop() T {
	b := q.head
	v := b.v[q.r]
	var zero T
	b.v[q.r] = zero
	q.r++
	q.n--
	switch {
	case q.n == 0:
		// Keep the one block for the next push.
		q.head, q.tail, q.spare = nil, nil, b
	case q.r == len(b.v):
		q.head, q.r = b.next, 0
		b.next = nil
		q.spare = b
	}
	return v
}

// All yields the queued values from front to back. The queue must not
// change during the loop.
func (q *Queue[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		r := q.r
		for b := q.head; b != nil; b, r = b.next, 0 {
			w := len(b.v)
			if b == q.tail {
				w = q.w
			}
			for _, v := range b.v[r:w] {
				if !yield(v) {
					return
				}
			}
		}
	}
}

// Clear empties the queue and drops its blocks.
func (q *Queue[T]) Clear() { *q = Queue[T]{} }
