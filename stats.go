package backoff

import "sync/atomic"

// Stats is a snapshot of a scheduler's counters. Counts since start are
// cumulative; the others are the state at the moment of the call, read
// without stopping the scheduler, so they may be a moment apart.
type Stats struct {
	Submitted uint64 // jobs accepted by Submit and SubmitTo
	Succeeded uint64
	GaveUp    uint64
	GaveUpBy  ReasonCounts // give-ups by reason: GaveUpBy[ReasonMaxTries]
	Attempts  uint64       // attempts run

	// Pending is the number of jobs accepted and not yet ended: waiting,
	// due, held or running. A job that has ended leaves it a moment after
	// its end is published, when the owner goroutine takes it back (and
	// sends a SubmitTo job's terminal event).
	Pending int
	Waiting int // in the timer structure
	Ready   int // due, waiting for a free worker
	Running int // attempts running now

	// DroppedEvents counts backoff events a Handle's full events channel
	// did not take.
	DroppedEvents uint64
	// Undelivered is the number of terminal events waiting for a results
	// channel's reader; Discarded counts those dropped by Close, or by a
	// Shutdown that gave up, and those of jobs that ended after either
	// returned.
	Undelivered int
	Discarded   uint64
	// HandlerPanics counts panics (and runtime.Goexit calls) in OnSuccess
	// and OnGiveUp handlers and in Observers, and Error methods that
	// panicked while a log record was written; none of them changes a
	// job's outcome.
	HandlerPanics uint64

	// Held is the number of due jobs held back by their concurrency
	// group's limit (GroupLimit): their group's head waits for a slot.
	// RateHeld is the number held back by their group's rate (GroupRate):
	// their group's head waits for a token, or for a free worker to start
	// it as it takes one.
	Held     int
	RateHeld int
	// Rejected counts NonBlocking submissions refused because the
	// scheduler held MaxPending jobs.
	Rejected uint64
	// Overdue is the number of attempts running past their
	// AttemptTimeout by more than a grace (the timeout again, at most a
	// second): ops that ignore their context, each holding a worker.
	// OverdueTotal counts them since start; each is logged once.
	Overdue      int
	OverdueTotal uint64
}

// counters are a scheduler's counts that its workers and submitters keep;
// the owner's gauges come from its core.
type counters struct {
	submitted     atomic.Uint64
	succeeded     atomic.Uint64
	gaveUp        [numReasons]atomic.Uint64
	attempts      atomic.Uint64
	dropped       atomic.Uint64
	undelivered   atomic.Int64
	discarded     atomic.Uint64
	handlerPanics atomic.Uint64
	rejected      atomic.Uint64
	overdue       atomic.Int64
	overdueTotal  atomic.Uint64
}

func (s *counters) ended(r Reason) {
	if r == ReasonNone {
		s.succeeded.Add(1)
		return
	}
	s.gaveUp[r].Add(1)
}

// Stats returns the scheduler's counters. It takes one short lock and
// never blocks on the owner goroutine. A zero or nil Scheduler reports
// zeros.
func (s *Scheduler) Stats() Stats {
	if s == nil || s.core == nil {
		return Stats{}
	}
	c := &s.stats
	g := s.core.Gauges()
	st := Stats{
		Submitted:     c.submitted.Load(),
		Succeeded:     c.succeeded.Load(),
		Attempts:      c.attempts.Load(),
		Pending:       int(g.Pending.Load()),
		Waiting:       int(g.Waiting.Load()),
		Held:          int(g.Held.Load()),
		RateHeld:      int(g.RateHeld.Load()),
		Ready:         s.core.Ready(),
		Running:       s.core.Running(),
		DroppedEvents: c.dropped.Load(),
		Undelivered:   int(c.undelivered.Load()),
		Discarded:     c.discarded.Load(),
		HandlerPanics: c.handlerPanics.Load(),
		Rejected:      c.rejected.Load(),
		Overdue:       int(c.overdue.Load()),
		OverdueTotal:  c.overdueTotal.Load(),
	}
	for r := range st.GaveUpBy {
		st.GaveUpBy[r] = c.gaveUp[r].Load()
		st.GaveUp += st.GaveUpBy[r]
	}
	return st
}
