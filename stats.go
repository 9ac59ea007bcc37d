package backoff

import "sync/atomic"

// Stats is a snapshot of a scheduler's counters. Counts since start are
// cumulative; the others are the state at the moment of the call, read
// without stopping the scheduler, so they may be a moment apart.
type Stats struct {
	Submitted uint64 // jobs accepted by Submit and SubmitTo
	Succeeded uint64
	GaveUp    uint64
	// GaveUpBy counts give-ups by reason, indexed by Reason: one slot
	// for each, from ReasonNone (always 0) to ReasonBudget.
	GaveUpBy [numReasons]uint64
	Attempts uint64 // attempts run

	Pending int // jobs not yet ended: waiting, due, held or running
	Waiting int // in the timer structure
	Ready   int // due, waiting for a free worker
	Running int // attempts running now

	// DroppedEvents counts backoff events a Handle's full events channel
	// did not take.
	DroppedEvents uint64
	// Undelivered is the number of terminal events waiting for a results
	// channel's reader; Discarded counts those dropped by Close.
	Undelivered int
	Discarded   uint64
	// HandlerPanics counts panics in OnSuccess and OnGiveup handlers and
	// in Observers; none of them changes a job's outcome.
	HandlerPanics uint64

	// Held is the number of due jobs held back by their concurrency
	// group's limit (GroupLimit).
	Held int
	// Rejected counts NonBlocking submissions refused because the intake
	// was full or the scheduler held MaxPending jobs.
	Rejected uint64
	// Overdue is the number of attempts running past their
	// AttemptTimeout by more than a grace (the timeout again, at most a
	// second): ops that ignore their context, each holding a worker.
	// OverdueTotal counts them since start; each is logged once.
	Overdue      int
	OverdueTotal uint64
}

type schedStats struct {
	submitted     atomic.Uint64
	succeeded     atomic.Uint64
	gaveUp        [numReasons]atomic.Uint64
	attempts      atomic.Uint64
	waiting       atomic.Int64
	held          atomic.Int64
	running       atomic.Int64
	dropped       atomic.Uint64
	undelivered   atomic.Int64
	discarded     atomic.Uint64
	handlerPanics atomic.Uint64
	rejected      atomic.Uint64
	overdue       atomic.Int64
	overdueTotal  atomic.Uint64
}

func (s *schedStats) ended(r Reason) {
	if r == ReasonNone {
		s.succeeded.Add(1)
		return
	}
	s.gaveUp[r].Add(1)
}

// Stats returns the scheduler's counters. It takes two short locks and
// never blocks on the owner goroutine.
func (s *Scheduler) Stats() Stats {
	st := Stats{
		Submitted:     s.stats.submitted.Load(),
		Succeeded:     s.stats.succeeded.Load(),
		Attempts:      s.stats.attempts.Load(),
		Waiting:       int(s.stats.waiting.Load()),
		Running:       int(s.stats.running.Load()),
		Ready:         s.ready.len(),
		DroppedEvents: s.stats.dropped.Load(),
		Undelivered:   int(s.stats.undelivered.Load()),
		Discarded:     s.stats.discarded.Load(),
		HandlerPanics: s.stats.handlerPanics.Load(),
		Held:          int(s.stats.held.Load()),
		Rejected:      s.stats.rejected.Load(),
		Overdue:       int(s.stats.overdue.Load()),
		OverdueTotal:  s.stats.overdueTotal.Load(),
	}
	for r := range st.GaveUpBy {
		st.GaveUpBy[r] = s.stats.gaveUp[r].Load()
		st.GaveUp += st.GaveUpBy[r]
	}
	s.mu.Lock()
	st.Pending = s.live
	s.mu.Unlock()
	return st
}
