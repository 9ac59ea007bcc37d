package sched

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A property test of the concurrency lanes, driven as the owner drives
// them: jobs fall due (makeReady), come back from a worker (freeSlot) and
// are stopped while held (unhold). A lane never has more in flight than
// its limit, admits held jobs in the order they fell due, and every held
// job's recorded positions are right.
func TestLanesProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		limit := 1 + r.IntN(3)
		o := &owner{gauges: &Gauges{}, lanes: lanes{on: true, limits: map[string]int{"a": limit, "b": limit + 1},
			active: map[string]*lane{}, held: map[Job]holdPos{}}}
		groups := []*ctxGroup{{idx: -1}, {idx: -1}}
		var (
			flight []*testJob           // admitted, with a worker
			order  = map[string][]Job{} // held, in the order they fell due
		)
		for step := range 400 {
			switch op := r.IntN(10); {
			case op < 5: // a job falls due
				j := &testJob{group: []string{"a", "b", ""}[r.IntN(3)]}
				j.g = groups[r.IntN(2)]
				o.makeReady(j, 0)
				if j.state == stateHeld {
					order[j.group] = append(order[j.group], j)
				}
			case op < 8 && len(flight) > 0: // a job comes back from its worker
				i := r.IntN(len(flight))
				j := flight[i]
				flight = slices.Delete(flight, i, i+1)
				o.freeSlot(j, 0)
			case op < 10 && len(o.lanes.held) > 0: // a held job is stopped
				for j := range o.lanes.held {
					j.(*testJob).canceled = true
					o.tidy(o.unhold(j))
					order[j.Group()] = slices.DeleteFunc(order[j.Group()], func(h Job) bool { return h == j })
					break
				}
			}
			// What went to the workers: in order of the lane's queue.
			for _, j := range o.due {
				tj := j.(*testJob)
				if q := order[tj.group]; len(q) > 0 && q[0] == j {
					order[tj.group] = q[1:]
				} else if slices.Contains(q, j) {
					t.Fatalf("round %d step %d: a held job of %q jumped its queue", round, step, tj.group)
				}
				if !tj.canceled {
					flight = append(flight, tj)
				}
			}
			o.due = o.due[:0]
			checkLanes(t, o, groups)
		}
	}
}

func checkLanes(t *testing.T, o *owner, groups []*ctxGroup) {
	t.Helper()
	held := 0
	for name, l := range o.lanes.active {
		if l.inflight > l.limit {
			t.Fatalf("lane %q: %d in flight, limit %d", name, l.inflight, l.limit)
		}
		for i, j := range l.queue[l.head:] {
			if j == nil {
				continue
			}
			held++
			if p, ok := o.lanes.held[j]; !ok || p.lane != l || p.inLane != l.head+i {
				t.Fatalf("lane %q: held job at %d has position %+v", name, l.head+i, p)
			}
		}
	}
	inGroups := 0
	for _, g := range groups {
		for i, j := range g.held {
			inGroups++
			if p := o.lanes.held[j]; p.inGroup != i {
				t.Fatalf("group list: job at %d has position %d", i, p.inGroup)
			}
		}
	}
	gauges := int(o.gauges.Held.Load() + o.gauges.RateHeld.Load())
	if held != len(o.lanes.held) || inGroups != held || gauges != held {
		t.Fatalf("%d held in lanes, %d in groups, %d recorded, gauges %d", held, inGroups, len(o.lanes.held), gauges)
	}
}
