package sched

import (
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Concurrency groups: a job may name a group (a tenant, a dependency), and
// the scheduler may cap the attempts of a group in flight, so that one
// group's burst cannot take every worker, and may hold the group to a rate
// (rate.go). The owner enforces both when a job falls due: a job that
// finds no free slot, or no token, is held, in the order it fell due,
// until an attempt of its group comes back or a token comes; a rated job
// is also held until a worker is free to start it (seat.go). A job takes
// a slot and a token together, or neither. A held job that is stopped
// leaves its queue at once.

// lanes is the owner's state for the capped and rated groups.
type lanes struct {
	on     bool // some group has a cap or a rate
	deflt  int
	limits map[string]int
	rates  rates
	// active has the lanes of the groups with jobs in flight (capped) or
	// held; a rated group without a cap has one only while it holds jobs.
	active map[string]*lane
	// held has the positions of every held job: in its lane's queue and
	// in its context group's list.
	held     map[Job]holdPos
	peakHeld int
}

// lane is one capped or rated group with jobs in flight or held.
type lane struct {
	name     string
	limit    int           // 0: no cap
	bucket   *rate.Limiter // nil: no rate
	inflight int           // jobs admitted and not yet back from a worker, when capped
	queue    []Job         // held jobs in the order they fell due; nil where one left early
	head     int           // queue[head:] is the queue
	gone     int           // nils in queue[head:]
	// waits is the gauge the held jobs count in: Held while the head
	// waits for a slot, RateHeld while it waits for a token or a worker.
	waits *atomic.Int64
	at    int64 // when the head's token comes, while in rates.timed
	ti    int   // index in rates.timed, or -1
	// seatless: the head waits for a free worker; listed: the lane is in
	// rates.seatless, which it leaves lazily.
	seatless, listed bool
}

// Why a lane's head is held.
const (
	forSlot = iota
	forToken
	forWorker
)

type holdPos struct {
	lane    *lane
	inLane  int // index in lane.queue
	inGroup int // index in its context group's held list
}

func (l *lane) queued() int { return len(l.queue) - l.head - l.gone }

// limitOf returns the cap of the group called name, 0 for none.
func (m *lanes) limitOf(name string) int {
	if limit, ok := m.limits[name]; ok {
		return limit
	}
	return m.deflt
}

// admit decides whether a due job may go to the workers now, and holds it
// if not. A job that is only going to end needs no slot and no token: it
// never calls its op.
func (o *owner) admit(j Job, now int64) bool {
	if !o.lanes.on {
		return true
	}
	name := j.Group()
	if name == "" || o.stopped(j) {
		return true
	}
	l := o.lanes.active[name]
	if l == nil {
		limit, bk := o.lanes.limitOf(name), o.lanes.rates.bucketOf(name, now, o.lanes.active)
		switch {
		case limit == 0 && bk == nil:
			return true
		case limit == 0 && o.hasWorker() && allow(bk, now):
			j.base().gate = gateToken
			return true
		}
		l = &lane{name: name, limit: limit, bucket: bk, ti: -1}
		o.lanes.active[name] = l
	}
	if l.queued() == 0 && o.pass(l, j, now) {
		return true
	}
	o.hold(l, j)
	return false
}

// pass lets j through its lane if a slot (when capped) and a token (when
// rated) are both to be had, and takes them; else it takes neither, and
// the lane waits for what was missing: a slot comes back with a job, a
// token at the time the lane is armed for. The slot is asked first, so
// that a group whose slots are all taken spends no tokens; a rated job
// then asks for a free worker, so that it takes its token no earlier than
// its attempt can start (seat.go).
func (o *owner) pass(l *lane, j Job, now int64) bool {
	if l.limit > 0 && l.inflight >= l.limit {
		o.wait(l, forSlot, now)
		return false
	}
	if l.bucket != nil {
		if !o.hasWorker() {
			o.wait(l, forWorker, now)
			return false
		}
		if !allow(l.bucket, now) {
			o.wait(l, forToken, now)
			return false
		}
	}
	if l.ti >= 0 {
		// A token came a hair before the time the lane was armed for.
		o.lanes.rates.timed.remove(l)
	}
	l.seatless = false
	var gate uint8
	if l.limit > 0 {
		l.inflight++
		gate = gateSlot
	}
	if l.bucket != nil {
		gate |= gateToken
	}
	j.base().gate = gate
	return true
}

// wait records what the lane's head waits for: it moves the count of the
// held jobs to its gauge (Held for a slot, RateHeld for a token or a
// worker), arms the lane for its token's time while it waits for one, and
// lists it for seat while it waits for a worker.
func (o *owner) wait(l *lane, why int, now int64) {
	g := &o.gauges.RateHeld
	if why == forSlot {
		g = &o.gauges.Held
	}
	if l.waits != g {
		if n := int64(l.queued()); n > 0 {
			l.waits.Add(-n)
			g.Add(n)
		}
		l.waits = g
	}
	l.seatless = why == forWorker
	if l.seatless && !l.listed {
		l.listed = true
		o.lanes.rates.seatless = append(o.lanes.rates.seatless, l)
	}
	switch t := &o.lanes.rates.timed; {
	case why != forToken && l.ti >= 0:
		t.remove(l)
	case why == forToken && l.ti < 0:
		l.at = tokenAt(l.bucket, now)
		t.push(l)
	}
}

// hold puts a due job at the end of its lane's queue; pass has set what
// the lane waits for.
func (o *owner) hold(l *lane, j Job) {
	b := j.base()
	b.state = stateHeld
	o.lanes.held[j] = holdPos{lane: l, inLane: len(l.queue), inGroup: len(b.g.held)}
	o.lanes.peakHeld = max(o.lanes.peakHeld, len(o.lanes.held))
	l.queue = append(l.queue, j)
	b.g.held = append(b.g.held, j)
	l.waits.Add(1)
}

// unhold takes a held job out of its lane's queue and its context group's
// list, and returns its lane for the caller to tidy; the caller then
// sends the job on.
func (o *owner) unhold(j Job) *lane {
	pos := o.lanes.held[j]
	delete(o.lanes.held, j)
	if len(o.lanes.held) == 0 && o.lanes.peakHeld > 1024 {
		// Go maps never shrink: after a burst of held jobs, start afresh.
		o.lanes.held, o.lanes.peakHeld = make(map[Job]holdPos), 0
	}
	b := j.base()
	b.state = stateReady
	l := pos.lane
	l.waits.Add(-1)

	g := b.g
	last := len(g.held) - 1
	if moved := g.held[last]; pos.inGroup != last {
		g.held[pos.inGroup] = moved
		p := o.lanes.held[moved]
		p.inGroup = pos.inGroup
		o.lanes.held[moved] = p
	}
	g.held[last] = nil
	g.held = g.held[:last]
	if last == 0 {
		g.held = spent(g.held)
	}

	l.queue[pos.inLane] = nil
	l.gone++
	return l
}

// tidy drops the nils at the head of a lane's queue, compacts the queue
// once nils are half of it, and forgets a lane with nothing in flight or
// held, and its token's time.
func (o *owner) tidy(l *lane) {
	for l.head < len(l.queue) && l.queue[l.head] == nil {
		l.head++
		l.gone--
	}
	switch n := len(l.queue) - l.head; {
	case n == 0:
		l.queue, l.head, l.gone = spent(l.queue), 0, 0
		l.seatless = false
		if l.ti >= 0 {
			o.lanes.rates.timed.remove(l)
		}
		if l.inflight == 0 && o.lanes.active[l.name] == l {
			delete(o.lanes.active, l.name)
		}
	case l.head+l.gone > n-l.gone+16: // more dead slots than live ones
		keep := l.queue[:0]
		for _, j := range l.queue[l.head:] {
			if j == nil {
				continue
			}
			p := o.lanes.held[j]
			p.inLane = len(keep)
			o.lanes.held[j] = p
			keep = append(keep, j)
		}
		clear(l.queue[len(keep):])
		l.queue, l.head, l.gone = keep, 0, 0
	}
}

// freeSlot clears what a job back from a worker was let through with, and
// frees its slot, which the next held job of its group may take.
func (o *owner) freeSlot(j Job, now int64) {
	b := j.base()
	if b.gate == 0 {
		return
	}
	slot := b.gate&gateSlot != 0
	b.gate = 0
	if !slot {
		return
	}
	l := o.lanes.active[j.Group()]
	l.inflight--
	o.letThrough(l, now)
}

// letThrough sends a lane's held jobs on, in the order they fell due, while
// its head may pass. A head that was stopped, or whose Deadline has passed
// in a rated group, goes to a worker to end, with no slot and no token.
func (o *owner) letThrough(l *lane, now int64) {
	for l.head < len(l.queue) {
		j := l.queue[l.head]
		switch {
		case j == nil:
			l.head++
			l.gone--
			continue
		case o.stopped(j):
		case l.bucket != nil && j.Deadline() < now:
			j.base().gate = gateExpired
		case !o.pass(l, j, now):
			o.tidy(l)
			return
		}
		o.unhold(j)
		o.toWorkers(j)
	}
	o.tidy(l)
}
