package sched

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The timer structure, tested directly.

// testJob is the least a Job can be.
type testJob struct {
	Base
	canceled, triggered bool
	group               string
}

func (j *testJob) Canceled() bool { return j.canceled }
func (j *testJob) TakeTrigger() bool {
	t := j.triggered
	j.triggered = false
	return t
}
func (j *testJob) Group() string { return j.group }

func TestEntryHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var h entryHeap
		n := r.IntN(300)
		var want []int64
		for range n {
			at := r.Int64N(1000) // many ties
			h.push(entry{at: at})
			want = append(want, at)
			checkEntryHeap(t, h)
		}
		// Interleave pops and pushes.
		var got []int64
		for len(h) > 0 {
			e := h.pop()
			checkEntryHeap(t, h)
			if len(got) > 0 && e.at < got[len(got)-1] {
				t.Fatalf("round %d: popped %d after %d", round, e.at, got[len(got)-1])
			}
			got = append(got, e.at)
			if r.IntN(4) == 0 {
				at := e.at + r.Int64N(100) // not before what was popped
				h.push(entry{at: at})
				want = append(want, at)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: popped %v, want %v", round, got, want)
		}
	}
}

func TestEntryHeapHeapify(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		h := make(entryHeap, r.IntN(200))
		for i := range h {
			h[i].at = r.Int64N(50)
		}
		want := make([]int64, len(h))
		for i := range h {
			want[i] = h[i].at
		}
		h.heapify()
		checkEntryHeap(t, h)
		var got []int64
		for len(h) > 0 {
			got = append(got, h.pop().at)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("heapify then pop: %v, want %v", got, want)
		}
	}
}

func checkEntryHeap(t *testing.T, h entryHeap) {
	t.Helper()
	for i := 1; i < len(h); i++ {
		if p := (i - 1) / 2; h[p].at > h[i].at {
			t.Fatalf("heap order broken at %d: parent %d > %d", i, h[p].at, h[i].at)
		}
	}
}

// A property test of groupHeap: random pushes into groups, pops from the
// top, removals of whole groups and emptying of groups, each followed by
// fix or remove as the scheduler does; the top group always holds the
// earliest entry, and every index is right.
func TestGroupHeapProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 100 {
		var top groupHeap
		groups := make([]*ctxGroup, 1+r.IntN(30))
		for i := range groups {
			groups[i] = &ctxGroup{idx: -1}
		}
		for step := range 2000 {
			g := groups[r.IntN(len(groups))]
			switch op := r.IntN(10); {
			case op < 5: // push, as wait does
				at := r.Int64N(10_000)
				isTop := len(g.h) == 0 || at < g.h[0].at
				g.h.push(entry{at: at})
				if isTop {
					top.fix(g)
				}
			case op < 8: // pop the earliest, as popDue does
				if len(top) == 0 {
					continue
				}
				min := top[0]
				want := int64(1 << 62)
				for _, g := range groups {
					for _, e := range g.h {
						want = minInt(want, e.at)
					}
				}
				if e := min.h.pop(); e.at != want {
					t.Fatalf("round %d step %d: top entry %d, earliest is %d", round, step, e.at, want)
				}
				top.fix(min)
			case op < 9: // a whole group leaves, as endGroup and release do
				g.h = nil
				if g.idx >= 0 {
					top.remove(g)
				}
			default: // a group's heap is rebuilt, as compact does
				if len(g.h) > 0 {
					g.h = slices.Clone(g.h[:r.IntN(len(g.h))+1])
					g.h.heapify()
				}
				top.fix(g)
			}
			checkGroupHeap(t, top, groups)
		}
	}
}

func minInt(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func checkGroupHeap(t *testing.T, top groupHeap, groups []*ctxGroup) {
	t.Helper()
	in := 0
	for _, g := range groups {
		checkEntryHeap(t, g.h)
		if len(g.h) == 0 {
			if g.idx != -1 {
				t.Fatalf("empty group at index %d", g.idx)
			}
			continue
		}
		in++
		if g.idx < 0 || g.idx >= len(top) || top[g.idx] != g {
			t.Fatalf("group with entries has a wrong index %d (heap of %d)", g.idx, len(top))
		}
	}
	if in != len(top) {
		t.Fatalf("%d groups in the heap, %d have entries", len(top), in)
	}
	for i := 1; i < len(top); i++ {
		if p := (i - 1) / 2; top[p].h[0].at > top[i].h[0].at {
			t.Fatalf("group heap order broken at %d", i)
		}
	}
}

// compact keeps exactly the entries that stand for waiting jobs.
func TestGroupCompact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	g := &ctxGroup{idx: -1}
	var live []int64
	for i := range 500 {
		j := &testJob{}
		j.at = r.Int64N(1000)
		j.state = stateWaiting
		g.h.push(entry{at: j.at, j: j})
		switch i % 3 {
		case 0:
			// Triggered: no longer waiting, its entry is stale.
			j.state = stateReady
			g.stale++
		case 1:
			// Waiting again at another time: the old entry is stale.
			g.stale++
			j.at += 1000
			g.h.push(entry{at: j.at, j: j})
			live = append(live, j.at)
		default:
			live = append(live, j.at)
		}
	}
	g.compact()
	if g.stale != 0 || len(g.h) != len(live) {
		t.Fatalf("after compact: %d entries, %d stale; want %d, 0", len(g.h), g.stale, len(live))
	}
	checkEntryHeap(t, g.h)
	var got []int64
	for len(g.h) > 0 {
		got = append(got, g.h.pop().at)
	}
	slices.Sort(live)
	if !slices.Equal(got, live) {
		t.Fatal("compact kept the wrong entries")
	}
}
