package sched

// Concurrency groups: a job may name a group (a tenant, a dependency), and
// the scheduler may cap the attempts of a group in flight, so that one
// group's burst cannot take every worker. The owner enforces the cap when
// a job falls due: a job over its group's cap is held, in the order it
// fell due, until an attempt of its group comes back. A held job that is
// stopped leaves its queue at once.

// lanes is the owner's state for the capped groups that have work.
type lanes struct {
	deflt  int
	limits map[string]int
	active map[string]*lane
	// held has the positions of every held job: in its lane's queue and
	// in its context group's list.
	held     map[Job]holdPos
	peakHeld int
}

// lane is one capped group with jobs in flight or held.
type lane struct {
	limit    int
	inflight int   // jobs admitted and not yet back from a worker
	queue    []Job // held jobs in the order they fell due; nil where one left early
	head     int   // queue[head:] is the queue
	gone     int   // nils in queue[head:]
}

type holdPos struct {
	lane     *lane
	inLane   int // index in lane.queue
	inGroup  int // index in its context group's held list
	laneName string
}

func (m *lanes) on() bool { return m.deflt > 0 || len(m.limits) > 0 }

// laneOf returns the lane of a job's group, nil when it has no cap.
func (m *lanes) laneOf(name string) *lane {
	if name == "" {
		return nil
	}
	if l := m.active[name]; l != nil {
		return l
	}
	limit, ok := m.limits[name]
	if !ok {
		limit = m.deflt
	}
	if limit == 0 {
		return nil
	}
	l := &lane{limit: limit}
	m.active[name] = l
	return l
}

// admit decides whether a due job may go to the workers now, and holds it
// if not. A job that is only going to end needs no slot: it never calls
// its op.
func (o *owner) admit(j Job) bool {
	if !o.lanes.on() {
		return true
	}
	name := j.Group()
	l := o.lanes.laneOf(name)
	if l == nil || o.stopped(j) {
		return true
	}
	b := j.base()
	if l.inflight >= l.limit {
		b.state = stateHeld
		o.lanes.held[j] = holdPos{lane: l, inLane: len(l.queue), inGroup: len(b.g.held), laneName: name}
		o.lanes.peakHeld = max(o.lanes.peakHeld, len(o.lanes.held))
		l.queue = append(l.queue, j)
		b.g.held = append(b.g.held, j)
		o.gauges.Held.Add(1)
		return false
	}
	l.inflight++
	b.slot = true
	return true
}

// unhold takes a held job out of its lane's queue and its context group's
// list, and returns its lane for the caller to tidy; the caller then
// sends the job on.
func (o *owner) unhold(j Job) (*lane, string) {
	pos := o.lanes.held[j]
	delete(o.lanes.held, j)
	if len(o.lanes.held) == 0 && o.lanes.peakHeld > 1024 {
		// Go maps never shrink: after a burst of held jobs, start afresh.
		o.lanes.held, o.lanes.peakHeld = make(map[Job]holdPos), 0
	}
	b := j.base()
	b.state = stateReady
	o.gauges.Held.Add(-1)

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

	l := pos.lane
	l.queue[pos.inLane] = nil
	l.gone++
	return l, pos.laneName
}

// tidy drops the nils at the head of a lane's queue, compacts the queue
// once nils are half of it, and forgets a lane with nothing in flight or
// held.
func (o *owner) tidy(l *lane, name string) {
	for l.head < len(l.queue) && l.queue[l.head] == nil {
		l.head++
		l.gone--
	}
	switch n := len(l.queue) - l.head; {
	case n == 0:
		l.queue, l.head, l.gone = spent(l.queue), 0, 0
		if l.inflight == 0 && o.lanes.active[name] == l {
			delete(o.lanes.active, name)
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

// freeSlot frees the slot of a job back from a worker and admits the next
// held jobs of its group, in the order they fell due.
func (o *owner) freeSlot(j Job) {
	b := j.base()
	if !b.slot {
		return
	}
	b.slot = false
	name := j.Group()
	l := o.lanes.active[name]
	l.inflight--
	for l.inflight < l.limit && l.head < len(l.queue) {
		next := l.queue[l.head]
		if next == nil {
			l.head++
			l.gone--
			continue
		}
		o.unhold(next)
		if !o.stopped(next) {
			l.inflight++
			next.base().slot = true
		}
		o.toWorkers(next)
	}
	o.tidy(l, name)
}
