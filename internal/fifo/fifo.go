// Package fifo is a first-in first-out queue kept in blocks: pushing
// never copies what the queue holds, however long it grows, and popping
// gives each emptied block back to the garbage collector, except one kept
// for reuse. A backlog of a million results channel events costs a
// million pushes and pops, not the repeated doubling and compacting
// copies of a slice used as a queue.
//
// Blocks start at one value and double up to 32 KB, so that the many
// queues that only ever hold a few values (a context group with one
// job) stay small, and a long one costs one block per 32 KB.
//
// A Queue is not safe for concurrent use; its owner guards it.
package fifo

import (
	"iter"
	"unsafe"
)

// maxBlockBytes bounds a block's values: 32 KB, the allocator's largest
// size class.
const maxBlockBytes = 32 << 10

type block[T any] struct {
	v    []T
	next *block[T]
}

// Queue is a FIFO of T. Its zero value is an empty queue.
type Queue[T any] struct {
	head, tail *block[T]
	r, w       int // next to pop in head, next to fill in tail
	n          int
	spare      *block[T]
	size       int // values in the last block made
}

// newBlock makes a block twice the size of the last one, up to
// maxBlockBytes.
func (q *Queue[T]) newBlock() *block[T] {
	var v T
	limit := max(1, maxBlockBytes/max(1, int(unsafe.Sizeof(v))))
	q.size = min(max(1, 2*q.size), limit)
	return &block[T]{v: make([]T, q.size)}
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
			b = q.newBlock()
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
