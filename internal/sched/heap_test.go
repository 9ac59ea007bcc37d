package sched

import (
	"cmp"
	"math"
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
	deadline            int64
}

func (j *testJob) Canceled() bool { return j.canceled }
func (j *testJob) TakeTrigger() bool {
	t := j.triggered
	j.triggered = false
	return t
}
func (j *testJob) Group() string { return j.group }

// Deadline is the test's deadline, or none when it is 0.
func (j *testJob) Deadline() int64 {
	if j.deadline == 0 {
		return math.MaxInt64
	}
	return j.deadline
}

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
				isTop := g.tl.len() == 0 || at < g.tl.first()
				g.tl.push(entry{at: at})
				if isTop {
					top.fix(g)
				}
			case op < 8: // pop the earliest, as popDue does
				if len(top) == 0 {
					continue
				}
				first := top[0]
				want := int64(1 << 62)
				for _, g := range groups {
					for _, e := range entries(&g.tl) {
						want = min(want, e.at)
					}
				}
				if e := first.tl.pop(); e.at != want {
					t.Fatalf("round %d step %d: top entry %d, earliest is %d", round, step, e.at, want)
				}
				top.fix(first)
			case op < 9: // a whole group leaves, as endGroup and release do
				g.tl = timeline{}
				if g.idx >= 0 {
					top.remove(g)
				}
			default: // a group's timeline is filtered, as compact does
				g.tl.filter(func(entry) bool { return r.IntN(2) == 0 })
				top.fix(g)
			}
			checkGroupHeap(t, top, groups)
		}
	}
}

func checkGroupHeap(t *testing.T, top groupHeap, groups []*ctxGroup) {
	t.Helper()
	in := 0
	for _, g := range groups {
		checkTimeline(t, &g.tl)
		if g.tl.len() == 0 {
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
		if p := (i - 1) / 2; top[p].tl.first() > top[i].tl.first() {
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
		g.tl.push(entry{at: j.at, j: j})
		switch i % 3 {
		case 0:
			// Triggered: no longer waiting, its entry is stale.
			j.state = stateReady
			g.stale++
		case 1:
			// Waiting again at another time: the old entry is stale.
			g.stale++
			j.at += 1000
			g.tl.push(entry{at: j.at, j: j})
			live = append(live, j.at)
		default:
			live = append(live, j.at)
		}
	}
	g.compact()
	if g.stale != 0 || g.tl.len() != len(live) {
		t.Fatalf("after compact: %d entries, %d stale; want %d, 0", g.tl.len(), g.stale, len(live))
	}
	checkTimeline(t, &g.tl)
	var got []int64
	for g.tl.len() > 0 {
		got = append(got, g.tl.pop().at)
	}
	slices.Sort(live)
	if !slices.Equal(got, live) {
		t.Fatal("compact kept the wrong entries")
	}
}

// runOf lists the entries of a timeline's run, in order.
func runOf(tl *timeline) []entry {
	if tl.run == nil {
		return nil
	}
	return slices.Collect(tl.run.q.All())
}

// entries lists a timeline's entries: the run's in order, then the heap's.
func entries(tl *timeline) []entry { return append(runOf(tl), tl.h...) }

// checkTimeline checks a timeline's invariants: the run in order and
// ending at last, the heap in heap order.
func checkTimeline(t *testing.T, tl *timeline) {
	t.Helper()
	run := runOf(tl)
	for i := 1; i < len(run); i++ {
		if run[i].at < run[i-1].at {
			t.Fatalf("run out of order at %d: %d after %d", i, run[i].at, run[i-1].at)
		}
	}
	if len(run) > 0 && tl.run.last < run[len(run)-1].at {
		t.Fatalf("run's last is %d, below its last entry %d", tl.run.last, run[len(run)-1].at)
	}
	checkEntryHeap(t, tl.h)
}

// A property test of the timeline: pushes that mostly come in due order,
// as retries and timer-released bursts do, with some out of order and
// many ties, interleaved with pops. Every pop returns the earliest entry;
// entries due at the same instant and pushed in order come out in the
// order they were pushed, as long as they all went to the run.
func TestTimelineOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for round := range 50 {
		var tl timeline
		var model []entry // every entry in the timeline
		clock := int64(0)
		seq := 0
		for step := range 3000 {
			if r.IntN(100) < 55 {
				at := clock + r.Int64N(50)
				if r.IntN(10) == 0 {
					at = clock + r.Int64N(5) // out of order
				}
				clock = max(clock, at-20)
				seq++
				e := entry{at: at, j: &testJob{Base: Base{Tries: int32(seq)}}}
				tl.push(e)
				model = append(model, e)
			} else if len(model) > 0 {
				e := tl.pop()
				earliest := slices.MinFunc(model, func(a, b entry) int { return cmp.Compare(a.at, b.at) })
				if e.at != earliest.at {
					t.Fatalf("round %d step %d: popped %d, earliest is %d", round, step, e.at, earliest.at)
				}
				i := slices.IndexFunc(model, func(m entry) bool { return m.j == e.j })
				model = slices.Delete(model, i, i+1)
			}
			checkTimeline(t, &tl)
			if tl.len() != len(model) {
				t.Fatalf("round %d step %d: %d entries, want %d", round, step, tl.len(), len(model))
			}
		}
	}

	// A burst due at one instant goes out in the order it came in.
	var tl timeline
	for i := range 5000 {
		tl.push(entry{at: 7, j: &testJob{Base: Base{Tries: int32(i)}}})
	}
	if len(tl.h) != 1 {
		t.Fatalf("%d entries of a one-instant burst went to the heap, want the first alone", len(tl.h))
	}
	for i := range 5000 {
		if e := tl.pop(); e.j.base().Tries != int32(i) {
			t.Fatalf("pop %d returned entry %d", i, e.j.base().Tries)
		}
	}

	// A group of one job has no run.
	var one timeline
	one.push(entry{at: 3})
	if one.run != nil {
		t.Fatal("a timeline of one entry made a run")
	}
}
