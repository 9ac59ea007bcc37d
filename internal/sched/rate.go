package sched

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Rates: a group may be held to a rate of attempts (a token bucket), so
// that jobs polling one API stay within its quota. A due job of a rated
// group takes a token when a worker is free to start it (seat.go), or is
// held in its lane (lane.go) until one comes.
// A lane whose head waits for a token is armed for the token's time in
// rates.timed, beside the timer structure: the owner's one timer serves
// both, so a held job costs no worker and no polling, and a lane is
// re-armed only when its head changes or its rate does.

// Rate is a token bucket: PerSecond tokens a second, at most Burst of
// them saved up. The zero Rate is no rate.
type Rate struct {
	PerSecond float64
	Burst     int
}

// rates is the owner's state for the rated groups.
type rates struct {
	deflt Rate            // every named group's, unless own has one
	own   map[string]Rate // the groups' own, from the Config and SetRate
	// buckets has a group's bucket from its first due job on. A full
	// bucket is as good as a new one, so sweep forgets those of groups
	// without a lane when the map has doubled since the last sweep: the
	// map stays within twice the groups that spent tokens lately, at
	// O(1) amortized per bucket made.
	buckets map[string]*rate.Limiter
	sweepAt int
	timed   laneHeap // lanes whose head waits for a token, by its time
	// seatless has the lanes whose head waits for a free worker, in the
	// order they began to, and lanes that stopped waiting since.
	seatless []*lane
}

// instant is a time on the core's clock (ns since its epoch) as package
// rate takes it.
func instant(ns int64) time.Time { return time.Unix(0, ns) }

// allow takes a token of b if there is one at now.
func allow(b *rate.Limiter, now int64) bool { return b.AllowN(instant(now), 1) }

// tokenAt returns when b next holds a whole token: now if it does, else
// the first nanosecond at which it does, saturated.
func tokenAt(b *rate.Limiter, now int64) int64 {
	short := 1 - b.TokensAt(instant(now))
	if short <= 0 {
		return now
	}
	d := math.Ceil(short / float64(b.Limit()) * float64(time.Second))
	if d >= float64(math.MaxInt64-now) {
		return math.MaxInt64
	}
	return now + max(int64(d), 1)
}

func (r *rates) on() bool { return r.deflt.PerSecond > 0 || len(r.own) > 0 }

// bucketOf returns the bucket of the group called name, made on first
// use, or nil when the group has no rate. The lanes in active keep theirs.
func (r *rates) bucketOf(name string, now int64, active map[string]*lane) *rate.Limiter {
	if !r.on() {
		return nil
	}
	if b := r.buckets[name]; b != nil {
		return b
	}
	rt, ok := r.own[name]
	if !ok {
		rt = r.deflt
	}
	if rt.PerSecond == 0 {
		return nil
	}
	if len(r.buckets) >= r.sweepAt {
		r.sweep(now, active)
	}
	b := rate.NewLimiter(rate.Limit(rt.PerSecond), rt.Burst)
	r.buckets[name] = b
	return b
}

// sweep forgets the full buckets of groups without a lane.
func (r *rates) sweep(now int64, active map[string]*lane) {
	t := instant(now)
	kept := make(map[string]*rate.Limiter)
	for name, b := range r.buckets {
		if active[name] != nil || b.TokensAt(t) < float64(b.Burst()) {
			kept[name] = b
		}
	}
	r.buckets = kept
	r.sweepAt = max(64, 2*len(kept))
}

// setRate gives the group called name a rate of its own from now on: its
// bucket keeps the tokens it has, and its held head's token comes at the
// new rate.
func (o *owner) setRate(name string, rt Rate, now int64) {
	r := &o.lanes.rates
	r.own[name] = rt
	o.lanes.on = true
	if b := r.buckets[name]; b != nil {
		t := instant(now)
		b.SetLimitAt(t, rate.Limit(rt.PerSecond))
		b.SetBurstAt(t, rt.Burst)
	}
	l := o.lanes.active[name]
	switch {
	case l == nil:
	case l.bucket == nil:
		l.bucket = r.bucketOf(name, now, o.lanes.active)
	case l.ti >= 0:
		l.at = tokenAt(l.bucket, now)
		r.timed.fix(l)
	}
}

// releaseTimed lets through the lanes whose token has come by now.
func (o *owner) releaseTimed(now int64) {
	t := &o.lanes.rates.timed
	for len(*t) > 0 && (*t)[0].at <= now {
		l := (*t)[0]
		t.remove(l)
		o.letThrough(l, now)
	}
}

// laneHeap orders lanes by the time of their head's token; each lane
// knows its index.
type laneHeap []*lane

func (h laneHeap) less(i, j int) bool { return h[i].at < h[j].at }

func (h laneHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].ti, h[j].ti = i, j
}

func (h laneHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h laneHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h.swap(i, c)
		i = c
	}
}

func (h *laneHeap) push(l *lane) {
	l.ti = len(*h)
	*h = append(*h, l)
	h.up(l.ti)
}

// fix moves l to where its time now belongs.
func (h laneHeap) fix(l *lane) {
	h.down(l.ti)
	h.up(l.ti)
}

func (h *laneHeap) remove(l *lane) {
	s := *h
	i, n := l.ti, len(s)-1
	if i != n {
		s.swap(i, n)
	}
	s[n] = nil
	*h = s[:n]
	l.ti = -1
	if i != n {
		h.fix(s[i])
	}
}
