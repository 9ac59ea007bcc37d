package sched

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"
)

// armCounter is a clock that counts how often the owner sets its timer.
type armCounter struct {
	realClock
	arms *atomic.Int64
}

func (c armCounter) NewTimer(d time.Duration) Timer {
	c.arms.Add(1)
	return armedTimer{stdTimer{time.NewTimer(d)}, c.arms}
}

type armedTimer struct {
	stdTimer
	arms *atomic.Int64
}

func (t armedTimer) Reset(d time.Duration) bool {
	t.arms.Add(1)
	return t.stdTimer.Reset(d)
}

// Jobs held for tokens wait without polling: the owner sets its timer
// once per token, and each job runs at its token's time.
func TestRateArmsOncePerToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 500
		var arms atomic.Int64
		t0 := time.Now()
		var (
			mu  sync.Mutex
			ran []time.Duration
		)
		c := Start(Config{Workers: 2, Clock: armCounter{realClock{t0}, &arms}, CloseCause: errors.New("closed"),
			GroupRates: map[string]Rate{"g": {PerSecond: 100, Burst: 1}},
			Run: func(j Job) {
				mu.Lock()
				ran = append(ran, time.Since(t0))
				mu.Unlock()
				j.base().Ended = true
			},
			Exited: func(j Job) { j.base().Ended = true }})
		defer stop(c)
		for range n {
			if err := c.Submit(t.Context(), &testJob{group: "g"}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := c.Gauges().RateHeld.Load(); got != n-1 {
			t.Fatalf("%d rate-held, want %d", got, n-1)
		}
		time.Sleep(n * 10 * time.Millisecond)
		synctest.Wait()
		if len(ran) != n {
			t.Fatalf("%d ran, want %d", len(ran), n)
		}
		for i, d := range ran {
			if want := time.Duration(i) * 10 * time.Millisecond; d != want {
				t.Fatalf("job %d ran at %v, want %v", i, d, want)
			}
		}
		if got := arms.Load(); got > n {
			t.Fatalf("the timer was set %d times for %d tokens", got, n-1)
		}
	})
}

// A property test of lanes with rates, driven as the owner drives them:
// jobs fall due, come back from a worker (then drain seats the lanes that
// wait for one), are stopped while held, time passes (releaseTimed) and
// rates change, with a pool of a few workers that the jobs in flight keep
// busy (more of them queue). Groups have a cap, a rate or both. A lane
// never has more in flight than its cap, a group never gets more tokens
// than its bucket allows, a token is taken only with a worker free for
// its job, a lane waits for a worker only while none is free, held jobs
// go in the order they fell due, a lane is armed exactly when its head
// waits for a token, and the gauges count every held job once.
func TestRatesProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 200 {
		cfg := map[string]Rate{"r": {PerSecond: 1 + float64(r.IntN(20)), Burst: 1 + r.IntN(3)}, "b": {PerSecond: 2, Burst: 2}}
		workers := 1 + r.IntN(6)
		o := &owner{gauges: &Gauges{}, pool: &pool{max: workers}, lanes: lanes{on: true,
			limits: map[string]int{"a": 2, "b": 1 + r.IntN(2)},
			rates:  rates{own: maps.Clone(cfg), buckets: map[string]*rate.Limiter{}},
			active: map[string]*lane{}, held: map[Job]holdPos{}}}
		groups := []*ctxGroup{{idx: -1}, {idx: -1}}
		var (
			now    int64
			flight []*testJob
			order  = map[string][]Job{}
			spent  = map[string][]int64{} // token times per group
			ends   int
		)
		for step := range 400 {
			switch op := r.IntN(12); {
			case op < 5:
				j := &testJob{group: []string{"a", "b", "r", ""}[r.IntN(4)]}
				j.g = groups[r.IntN(2)]
				if r.IntN(8) == 0 {
					j.deadline = now + r.Int64N(int64(time.Second))
				}
				o.makeReady(j, now)
				if j.state == stateHeld {
					order[j.group] = append(order[j.group], j)
				}
			case op < 7 && len(flight) > 0:
				i := r.IntN(len(flight))
				j := flight[i]
				flight = slices.Delete(flight, i, i+1)
				o.pool.started = min(len(flight), workers)
				o.freeSlot(j, now)
				o.seat(now)
			case op < 8 && len(o.lanes.held) > 0:
				for j := range o.lanes.held {
					j.(*testJob).canceled = true
					o.tidy(o.unhold(j))
					order[j.Group()] = slices.DeleteFunc(order[j.Group()], func(h Job) bool { return h == j })
					break
				}
			case op < 11:
				now += r.Int64N(int64(300 * time.Millisecond))
				o.releaseTimed(now)
			default:
				name := []string{"r", "b", "a"}[r.IntN(3)]
				rt := Rate{PerSecond: 0.5 + float64(r.IntN(10)), Burst: 1 + r.IntN(3)}
				o.setRate(name, rt, now)
				o.releaseTimed(now)
				cfg[name] = rt
				spent[name] = nil // the bound starts again from the change
			}
			// A job that ends comes back at once; its worker is free, and
			// drain seats the lanes that wait for one.
			for len(o.due) > 0 {
				busy := len(flight)
				ended := false
				for k, j := range o.due {
					tj := j.(*testJob)
					if tj.gate&gateToken != 0 && busy+k >= workers {
						t.Fatalf("round %d step %d: a token taken with %d of %d workers busy and %d due ahead", round, step, busy, workers, k)
					}
					wasHeld := false
					if q := order[tj.group]; len(q) > 0 && q[0] == j {
						order[tj.group] = q[1:]
						wasHeld = true
					} else if slices.Contains(q, j) {
						t.Fatalf("round %d step %d: a held job of %q jumped its queue", round, step, tj.group)
					}
					if _, rated := cfg[tj.group]; rated && wasHeld && !tj.canceled && tj.deadline != 0 && tj.deadline < now && !tj.Expired() {
						t.Fatalf("round %d step %d: a held job past its deadline (%d) was let through at %d", round, step, tj.deadline, now)
					}
					switch {
					case tj.Expired():
						if tj.deadline >= now || tj.Gated() {
							t.Fatalf("round %d step %d: expired at %d with deadline %d, gate %b", round, step, now, tj.deadline, tj.gate)
						}
						ends++
						ended = true
					case tj.canceled:
						ended = true
					default:
						if tj.gate&gateToken != 0 {
							spent[tj.group] = append(spent[tj.group], now)
						}
						flight = append(flight, tj)
					}
				}
				o.spare -= len(o.due) // as flushDue does
				o.due = o.due[:0]
				o.pool.started = min(len(flight), workers)
				if ended {
					o.seat(now)
				}
			}
			for name, l := range o.lanes.active {
				if l.seatless && len(flight) < workers {
					t.Fatalf("round %d step %d: lane %q waits for a worker with %d of %d busy", round, step, name, len(flight), workers)
				}
			}
			checkLanes(t, o, groups)
			checkRates(t, o, cfg, spent, now)
		}
	}
}

func checkRates(t *testing.T, o *owner, cfg map[string]Rate, spent map[string][]int64, now int64) {
	t.Helper()
	for name, at := range spent {
		// Since the bound's start, tokens spent by any time are at most a
		// full bucket plus what came since (the bucket may have been full).
		rt := cfg[name]
		for i, s := range at {
			if most := float64(rt.Burst) + rt.PerSecond*float64(s-at[0])/1e9; float64(i+1) > most+1e-6 {
				t.Fatalf("group %q: %d tokens from %d to %d, at most %.2f", name, i+1, at[0], s, most)
			}
		}
	}
	for name, l := range o.lanes.active {
		armed := l.ti >= 0
		waitsForToken := l.queued() > 0 && l.waits == &o.gauges.RateHeld && !l.seatless
		if armed != waitsForToken {
			t.Fatalf("lane %q: armed %v (at %d), %d queued waiting in %s", name, armed, l.at, l.queued(), gaugeName(o, l.waits))
		}
		if armed && o.lanes.rates.timed[l.ti] != l {
			t.Fatalf("lane %q: index %d is wrong", name, l.ti)
		}
		if armed && l.at <= now {
			t.Fatalf("lane %q armed for %d, now %d: its token came and was not given", name, l.at, now)
		}
	}
	if got := o.gauges.Held.Load() + o.gauges.RateHeld.Load(); got != int64(len(o.lanes.held)) {
		t.Fatalf("gauges %d + %d, %d held", o.gauges.Held.Load(), o.gauges.RateHeld.Load(), len(o.lanes.held))
	}
}

func gaugeName(o *owner, g *atomic.Int64) string {
	switch g {
	case &o.gauges.Held:
		return "Held"
	case &o.gauges.RateHeld:
		return "RateHeld"
	}
	return fmt.Sprint(g)
}

// Under a default rate for every group, the buckets of groups that have
// refilled are forgotten: the map stays within twice the busy groups.
func TestRateBucketsSwept(t *testing.T) {
	o := &owner{gauges: &Gauges{}, pool: &pool{max: 1 << 30}, lanes: lanes{on: true,
		rates:  rates{deflt: Rate{PerSecond: 1, Burst: 1}, own: map[string]Rate{}, buckets: map[string]*rate.Limiter{}},
		active: map[string]*lane{}, held: map[Job]holdPos{}}}
	g := &ctxGroup{idx: -1}
	peak := 0
	for i := range 100_000 {
		now := int64(i) * int64(time.Millisecond) // about 1000 groups spent a token within a second
		j := &testJob{group: fmt.Sprint("tenant-", i)}
		j.g = g
		o.makeReady(j, now)
		if j.gate != gateToken {
			t.Fatalf("job %d: gate %b, want a token", i, j.gate)
		}
		o.freeSlot(j, now)
		peak = max(peak, len(o.lanes.rates.buckets))
	}
	if peak > 2*1000+64 {
		t.Fatalf("%d buckets at the peak, for about 1000 busy groups", peak)
	}
	if len(o.lanes.active) != 0 {
		t.Fatalf("%d lanes left", len(o.lanes.active))
	}
}

// BenchmarkAdmit is the owner's cost to let one due job through and take
// it back: with no limits or rates ("none"), in an unrated group while
// another group is rated ("other-rated"), and in a group whose rate never
// binds ("rated"), which takes a token per job.
func BenchmarkAdmit(b *testing.B) {
	for _, c := range []struct {
		name  string
		rates map[string]Rate
	}{
		{"none", nil},
		{"other-rated", map[string]Rate{"other": {PerSecond: 1, Burst: 1}}},
		{"rated", map[string]Rate{"g": {PerSecond: 1e12, Burst: 1}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := &owner{gauges: &Gauges{}, pool: &pool{max: 1 << 30}, lanes: lanes{on: len(c.rates) > 0,
				rates:  rates{own: c.rates, buckets: map[string]*rate.Limiter{}},
				active: map[string]*lane{}, held: map[Job]holdPos{}}}
			j := &testJob{group: "g"}
			j.g = &ctxGroup{idx: -1}
			var now int64
			for b.Loop() {
				now++
				o.makeReady(j, now)
				o.due = o.due[:0]
				o.freeSlot(j, now)
			}
			if j.state != stateReady || o.gauges.RateHeld.Load() != 0 {
				b.Fatalf("a job was held: state %d", j.state)
			}
		})
	}
}
