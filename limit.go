package backoff

// Concurrency groups: a job may name a group (a tenant, a dependency) with
// the Group option, and the scheduler may cap how many attempts of a group
// run at once, so that one group's burst cannot take every worker. The
// owner goroutine enforces the cap when a job falls due: a job over its
// group's cap is held, in the order it fell due, until an attempt of its
// group returns. (These are not the context groups of group.go, which are
// an internal grouping by context.)

// Group puts a scheduled job in the named concurrency group, which
// GroupLimit and GroupLimitFor may cap. Without a limit for it, the name
// has no effect. Retry, Wrap and Attempts ignore it.
func Group(name string) Option {
	return optionFunc(func(c *config) {
		if name == "" {
			c.fail("Group: name is empty")
		}
		c.group = name
	})
}

// GroupLimit caps every named group at n attempts at once (queued for a
// worker or running), unless GroupLimitFor sets its own cap. Jobs without
// a Group are not limited. A job held by its group's cap waits in
// Stats.Held; it still gives up at once when it is cancelled or its
// context ends. Holding costs the owner a map lookup per due attempt of a
// grouped job, and a job whose context ends while held costs a scan of
// the held jobs.
func GroupLimit(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 {
			c.fail("GroupLimit must be >= 1, got %d", n)
		}
		c.groupLimit = n
	})
}

// GroupLimitFor caps the group called name at n attempts at once,
// overriding GroupLimit for it.
func GroupLimitFor(name string, n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if name == "" {
			c.fail("GroupLimitFor: name is empty")
		}
		if n < 1 {
			c.fail("GroupLimitFor(%q) must be >= 1, got %d", name, n)
		}
		if c.groupLimits == nil {
			c.groupLimits = make(map[string]int)
		}
		c.groupLimits[name] = n
	})
}

// limiter is the owner's state for the capped groups that have work.
type limiter struct {
	deflt  int
	limits map[string]int
	active map[string]*lane
}

// lane is one capped group with jobs in flight or held.
type lane struct {
	limit    int
	inflight int // jobs admitted and not yet back from a worker
	held     []jobber
	head     int // held[head:] is the queue
}

func (m *limiter) on() bool { return m.deflt > 0 || len(m.limits) > 0 }

// laneOf returns the lane of a job's group, nil when it has no cap.
func (m *limiter) laneOf(j jobber) *lane {
	name := j.groupName()
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

// admit decides whether a due job may go to the workers now. A job that
// is only going to end (its context is done) needs no slot: it never
// calls its op.
func (s *Scheduler) admit(j jobber) bool {
	if !s.limits.on() {
		return true
	}
	b := j.base()
	l := s.limits.laneOf(j)
	if l == nil || j.stopped() != nil {
		return true
	}
	if l.inflight >= l.limit {
		b.state = stateHeld
		l.held = append(l.held, j)
		b.g.held++
		s.stats.held.Add(1)
		return false
	}
	l.inflight++
	b.slot = true
	return true
}

// unhold takes a job out of the held state; its entry in the lane's queue
// goes stale.
func (s *Scheduler) unhold(b *jobBase) {
	b.state = stateReady
	b.g.held--
	s.stats.held.Add(-1)
}

// freeSlot frees the slot of a job back from a worker and admits the next
// held jobs of its group.
func (s *Scheduler) freeSlot(j jobber) {
	b := j.base()
	if !b.slot {
		return
	}
	b.slot = false
	name := j.groupName()
	l := s.limits.active[name]
	l.inflight--
	for l.inflight < l.limit && l.head < len(l.held) {
		h := l.held[l.head]
		l.held[l.head] = nil
		l.head++
		if h.base().state != stateHeld {
			continue // released early, see releaseStopped
		}
		s.unhold(h.base())
		s.makeReady(h)
	}
	if l.head == len(l.held) {
		l.held, l.head = l.held[:0], 0
		if l.inflight == 0 {
			delete(s.limits.active, name)
		}
	} else if l.head > len(l.held)/2 {
		n := copy(l.held, l.held[l.head:])
		clear(l.held[n:])
		l.held, l.head = l.held[:n], 0
	}
}

// releaseStopped lets every held job whose context has ended go to the
// workers, which end it: a stop takes effect at once, even for a job
// waiting for its group's turn.
func (s *Scheduler) releaseStopped() {
	for _, l := range s.limits.active {
		for _, j := range l.held[l.head:] {
			if b := j.base(); b.state == stateHeld && j.stopped() != nil {
				s.unhold(b)
				s.makeReady(j)
			}
		}
	}
	s.flushDue()
}
