package backoff

import "time"

// EventKind tells what an [Event] reports.
type EventKind uint8

// The kinds of event.
const (
	EventBackoff EventKind = iota + 1 // an attempt failed and the job will retry after Wait
	EventSuccess                      // the job succeeded; this is its last event
	EventGiveUp                       // the job gave up; this is its last event
)

func (k EventKind) String() string {
	switch k {
	case EventBackoff:
		return "backoff"
	case EventSuccess:
		return "success"
	case EventGiveUp:
		return "give-up"
	}
	return "unknown"
}

// Event reports one step of a job: python-backoff's handler details, typed.
// Handlers receive it, and scheduled jobs publish it on their channels.
type Event[T any] struct {
	Kind    EventKind
	ID      uint64        // the job's ID, unique within its scheduler (0 for Retry and Attempts)
	Key     string        // the job's key, if it was given one
	Tries   int           // attempts made so far, the first included
	Elapsed time.Duration // since the first attempt started
	Wait    time.Duration // EventBackoff only: the wait before the next attempt, after jitter and trim
	Value   T             // the last attempt's value
	// Err is the failed attempt's error for EventBackoff, and the
	// *GiveUpError for EventGiveUp.
	Err    error
	Reason Reason // EventGiveUp only
}

// Terminal reports whether the event is the job's last.
func (e Event[T]) Terminal() bool { return e.Kind != EventBackoff }
