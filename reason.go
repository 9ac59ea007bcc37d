package backoff

import (
	"fmt"
	"log/slog"
)

// Reason says why a job gave up. Every give-up carries exactly one.
//
// A Reason is an error, so a caller can test a give-up error with
// errors.Is(err, backoff.ReasonMaxTries) and friends; its Error method
// says "backoff: max tries", as errors of this package do. Printed, it is
// the bare words: fmt's %v and %s, slog's text and JSON handlers and
// encoding/json all give "max tries".
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

// Error makes a Reason usable as an errors.Is target.
func (r Reason) Error() string { return "backoff: " + r.String() }

// Format prints the bare words for %v and %s (fmt would otherwise prefer
// Error), quotes them for %q, and prints the number for %d.
func (r Reason) Format(f fmt.State, verb rune) {
	switch verb {
	case 'd':
		fmt.Fprintf(f, "%d", uint8(r))
	case 'q':
		fmt.Fprintf(f, "%q", r.String())
	default:
		fmt.Fprint(f, r.String())
	}
}

// LogValue gives slog the bare words: its JSON handler would print an
// error's Error text.
func (r Reason) LogValue() slog.Value { return slog.StringValue(r.String()) }

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
