// Package backend is how this module's durable backends (riverbackoff)
// run a *backoff.Policy as package backoff runs it, without package
// backoff exporting its machinery: package backoff registers, when it is
// initialised, a function that turns a policy into a [Policy], and a
// backend asks for one with [PolicyOf]. A backend runs the job's attempts
// and keeps its progress; the policy's decision, budget, handlers, logger
// and observer run in package backoff's attempt step, the one that Retry
// and the Scheduler use.
package backend

import "time"

// Policy is a *backoff.Policy[T] as a backend runs it. It is safe for
// concurrent use.
type Policy[T any] interface {
	// Job returns the steps of the job whose ID is id. name names the
	// job in log records and observations when the policy has no Name.
	Job(id uint64, name string) Job[T]
}

// Job is one job's attempt step, called by the backend as the job reaches
// each part of it. The job has no context of its own: no deadline limits
// a wait, and no context ends the job.
type Job[T any] interface {
	// Begin is called before attempt number tries, which starts elapsed
	// after the job's first attempt started and late after its due time.
	// When owed, the retry still needs room in the budget: Begin asks for
	// it, and when there is none it returns the time to wait before
	// asking again (the attempt does not run), or giveUp when that wait
	// would pass MaxTime. Otherwise it counts the job's first attempt in
	// the budget when first (once per job, however often that attempt
	// starts), and tells the observer that the attempt starts.
	Begin(tries int, first bool, elapsed, late time.Duration, owed bool) (wait time.Duration, giveUp bool)
	// Ended takes an attempt's outcome and decides what follows, running
	// everything the in-process step runs: the observer (attempt end),
	// the decision, the budget, and then the OnBackoff handlers, the log
	// and the observer for a retry, or the terminal event's handlers, log
	// and observer for the job's end.
	Ended(a Attempt[T]) Judgment
	// Returned tells the observer that an attempt that is no try (it is
	// not judged) returned err after took.
	Returned(tries int, elapsed, took time.Duration, err error)
	// End ends the job without an attempt, for reason (a backoff.Reason),
	// after tries: the terminal event's handlers, log and observer. It
	// returns the terminal event's Err.
	End(reason uint8, tries int, elapsed time.Duration, v T, last, cause error) error
}

// Attempt is how one attempt went, as the backend measured it.
type Attempt[T any] struct {
	Tries   int           // attempts made, this one included
	Elapsed time.Duration // since the first attempt started, at this one's end
	Took    time.Duration // this attempt's run time; 0 when unknown (a lost attempt)
	Prev    time.Duration // the wait before it; 0 before the first
	Value   T
	Err     error
	Panic   error // the op's panic, a *backoff.PanicError; nil if it did not panic
	// Final says that the backend can run no further attempt: a retry
	// the policy allows ends the job with backoff.ReasonMaxTries instead.
	Final bool
}

// Judgment is what follows an attempt: a retry after Wait, or the job's
// end with Reason (a backoff.Reason; 0 is success) and Cause.
type Judgment struct {
	Retry bool
	Wait  time.Duration
	// Owed says that the budget had no room for the retry: call Begin
	// with owed before it runs.
	Owed   bool
	Reason uint8
	Cause  error
	// Err is, at the job's end, its terminal event's Err: the
	// *backoff.GiveUpError of a give-up, nil on success.
	Err error
}

var policyOf func(policy any, panicked func()) any

// Register is called by package backoff when it is initialised.
func Register(f func(policy any, panicked func()) any) { policyOf = f }

// PolicyOf returns policy, a non-nil *backoff.Policy[T], as a backend
// runs it. panicked, if not nil, is called for every panic that the
// policy's jobs contain without changing their outcome (in OnSuccess,
// OnGiveUp, an Observer, or an error's Error method while logging), where
// a Scheduler counts Stats.HandlerPanics.
func PolicyOf[T any](policy any, panicked func()) Policy[T] {
	return policyOf(policy, panicked).(Policy[T])
}
