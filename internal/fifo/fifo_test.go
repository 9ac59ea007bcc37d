package fifo

import (
	"math/rand/v2"
	"slices"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestQueueMatchesSlice runs random pushes and pops against a slice and
// checks that the queue gives the same values in the same order, across
// block boundaries and through empty states.
func TestQueueMatchesSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q Queue[int]
	var model []int
	next := 0
	for step := range 200_000 {
		// Phases of growth and of draining, so the queue spans many
		// blocks and also empties often.
		push := rng.IntN(100) < 60
		if (step/5000)%2 == 1 {
			push = rng.IntN(100) < 35
		}
		if push || len(model) == 0 {
			q.Push(next)
			model = append(model, next)
			next++
		} else {
			if got := q.Front(); got != model[0] {
				t.Fatalf("step %d: Front = %d, want %d", step, got, model[0])
			}
			if got := q.Pop(); got != model[0] {
				t.Fatalf("step %d: Pop = %d, want %d", step, got, model[0])
			}
			model = model[1:]
		}
		if q.Len() != len(model) {
			t.Fatalf("step %d: Len = %d, want %d", step, q.Len(), len(model))
		}
		if step%997 == 0 {
			if got := slices.Collect(q.All()); !slices.Equal(got, model) {
				t.Fatalf("step %d: All yields %v, want %v", step, got, model)
			}
		}
	}
	q.Clear()
	if q.Len() != 0 {
		t.Fatalf("Len after Clear = %d", q.Len())
	}
	q.Push(7)
	if got := q.Pop(); got != 7 || q.Len() != 0 {
		t.Fatalf("after Clear: Pop = %d, Len = %d", got, q.Len())
	}
}

// TestQueueReleasesPopped checks that a popped value is no longer held, so
// that a drained backlog does not keep its events' values alive.
func TestQueueReleasesPopped(t *testing.T) {
	var q Queue[*int]
	const n = 20_000 // blocks of 1 to 4,096 values
	for i := range n {
		q.Push(&i)
	}
	for range n - 1 {
		q.Pop()
	}
	for b := q.head; b != nil; b = b.next {
		for i, p := range b.v {
			if p != nil && (b != q.head || i != q.r) {
				t.Fatalf("slot %d of a block still holds a popped value", i)
			}
		}
	}
	if q.spare == nil {
		t.Fatal("no block kept for reuse")
	}
	for _, p := range q.spare.v {
		if p != nil {
			t.Fatal("the spare block holds a value")
		}
	}
}

// TestQueueBlocksGrow checks the block sizes: a queue of one value holds
// one block of one value, and a long queue's blocks double up to 32 KB.
func TestQueueBlocksGrow(t *testing.T) {
	var q Queue[int64]
	q.Push(1)
	if got := cap(q.head.v); got != 1 {
		t.Fatalf("a queue of one value has a block of %d", got)
	}
	for i := range 100_000 {
		q.Push(int64(i))
	}
	var sizes []int
	for b := q.head; b != nil; b = b.next {
		sizes = append(sizes, len(b.v))
	}
	want := []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}
	if !slices.Equal(sizes[:len(want)], want) {
		t.Fatalf("first block sizes %v, want %v", sizes[:len(want)], want)
	}
	for _, n := range sizes[len(want):] {
		if n != 4096 {
			t.Fatalf("a block of %d values after the 32 KB ones, want 4096", n)
		}
	}
}

func BenchmarkQueue(b *testing.B) {
	type event [11]int64 // 88 B, as an Event[struct{}]
	var q Queue[event]
	b.ReportAllocs()
	for b.Loop() {
		for range 1000 {
			q.Push(event{})
		}
		for range 1000 {
			q.Pop()
		}
	}
}
