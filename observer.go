package backoff

import (
	"log/slog"
	"runtime/debug"
	"time"
)

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
	ObserveAttemptEnd                              // an attempt returned; Err is its error, Duration its run time
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
	// delay plus time spent waiting for a worker (for a first attempt,
	// since the scheduler took the job in). Scheduler jobs only.
	Lateness time.Duration
	// Duration is how long the attempt's op ran (ObserveAttemptEnd).
	Duration time.Duration
	// Err is the attempt's error (ObserveAttemptEnd; a *PanicError when
	// the op panicked) or the last one (ObserveBackoff, ObserveGiveUp).
	Err    error
	Reason Reason
}

// observe hands ob to o, containing a panic: a broken metrics exporter
// must not take a job, or the scheduler, down. The panic is reported like
// a handler's.
func observe(e *env, o Observer, ob Observation) {
	defer func() {
		if r := recover(); r != nil {
			if e.logger != nil {
				e.logger.Error("backoff: observer panicked", slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			}
			e.panicked()
		}
	}()
	o.Observe(ob)
}

// attemptErr is what an observer hears of an attempt's failure: the panic,
// if the op panicked, else its error.
func attemptErr(err error, pe *PanicError) error {
	if pe != nil {
		return pe
	}
	return err
}
