package backoff

import "fmt"

// Reason says why a job gave up. Every give-up carries exactly one.
//
// A Reason is an error, so a caller can test a give-up error with
// errors.Is(err, backoff.ReasonMaxTries) and friends.
type Reason uint8

// The give-up reasons.
const (
	ReasonNone         Reason = iota // the job succeeded
	ReasonMaxTries                   // MaxTries attempts were made
	ReasonMaxTime                    // MaxTime has passed
	ReasonGiveUp                     // the GiveUp predicate said so
	ReasonPermanent                  // the op returned a Permanent error
	ReasonNotRetryable               // the error matched none of the retry conditions
	ReasonExhausted                  // the strategy had no more waits
	ReasonContext                    // the job's context ended, or its deadline leaves no time for another attempt
	ReasonCanceled                   // Cancel was called, or a loop body broke out after a failure
	ReasonClosed                     // the scheduler was closed
	ReasonPanic                      // the op or an OnBackoff handler panicked
	ReasonBudget                     // the retry budget had no room for a retry

	numReasons = iota
)

var reasonNames = [...]string{
	ReasonNone:         "none",
	ReasonMaxTries:     "max tries",
	ReasonMaxTime:      "max time",
	ReasonGiveUp:       "give-up predicate",
	ReasonPermanent:    "permanent error",
	ReasonNotRetryable: "not retryable",
	ReasonExhausted:    "strategy exhausted",
	ReasonContext:      "context ended",
	ReasonCanceled:     "canceled",
	ReasonClosed:       "scheduler closed",
	ReasonPanic:        "panic",
	ReasonBudget:       "retry budget empty",
}

// String returns the reason in words, such as "max tries".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Error makes a Reason usable as an errors.Is target. Since a Reason is
// an error, fmt prints it with this prefix; use String for the bare words.
func (r Reason) Error() string { return "backoff: " + r.String() }

// MarshalText writes the reason as String does, so that it reads well in
// JSON and in a durable job's stored state.
func (r Reason) MarshalText() ([]byte, error) {
	if int(r) >= len(reasonNames) {
		return nil, fmt.Errorf("backoff: unknown Reason %d", uint8(r))
	}
	return []byte(reasonNames[r]), nil
}

// UnmarshalText reads what MarshalText wrote.
func (r *Reason) UnmarshalText(text []byte) error {
	for i, name := range reasonNames {
		if name == string(text) {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("backoff: unknown Reason %q", text)
}
