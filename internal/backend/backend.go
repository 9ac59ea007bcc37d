// Package backend is how this module's durable backends (riverbackoff)
// run a *backoff.Policy as package backoff runs it, without package
// backoff exporting its machinery: package backoff registers, when it is
// initialised, a function that turns a policy into a [Policy], and a
// backend asks for one with [PolicyOf].
package backend

import "time"

// Judgment is what follows an attempt: a retry after Wait, or the job's
// end with Reason (a backoff.Reason; 0 is success) and Cause.
type Judgment struct {
	Retry  bool
	Wait   time.Duration
	Reason uint8
	Cause  error
}

// Policy is a *backoff.Policy[T] as a backend runs it.
type Policy[T any] interface {
	// Judge decides what follows attempt number tries, which ended
	// elapsed after the job's first attempt started, after a wait of prev,
	// and returned v and err: backoff.Decide, with a panic in a predicate
	// of the policy ending the job with backoff.ReasonPanic. A backend's
	// job has no context of its own: no deadline limits the wait.
	Judge(tries int, elapsed, prev time.Duration, v T, err error) Judgment
}

var policyOf func(policy any) any

// Register is called by package backoff when it is initialised.
func Register(f func(policy any) any) { policyOf = f }

// PolicyOf returns policy, a non-nil *backoff.Policy[T], as a backend
// runs it.
func PolicyOf[T any](policy any) Policy[T] { return policyOf(policy).(Policy[T]) }
