package backoff

import "time"

// Observer receives a record of every attempt, wait and outcome, for
// metrics (see the otelbackoff module). Observe runs synchronously on the
// goroutine that ran the attempt, so it must be fast and must not block;
// it may be called from many goroutines at once.
type Observer interface {
	Observe(Observation)
}

// ObservationKind tells what an [Observation] reports.
type ObservationKind uint8

// The kinds of observation.
const (
	ObserveAttemptStart ObservationKind = iota + 1 // an attempt is about to run; Lateness is set
	ObserveAttemptEnd                              // an attempt returned; Err is its error
	ObserveBackoff                                 // the job will retry after Wait
	ObserveSuccess                                 // the job succeeded
	ObserveGiveUp                                  // the job gave up for Reason
)

// Observation is one record for an [Observer].
type Observation struct {
	Kind    ObservationKind
	ID      uint64
	Key     string
	Name    string
	Tries   int
	Elapsed time.Duration
	Wait    time.Duration
	// Lateness is how long after its due time an attempt started: timer
	// delay plus time spent waiting for a worker. Scheduler jobs only.
	Lateness time.Duration
	Err      error
	Reason   Reason
}
