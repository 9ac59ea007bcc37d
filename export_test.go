package backoff

// The retry decision is internal (durable backends reach it through
// internal/backend); the tests of package backoff_test call it directly.
type (
	State          = progress
	Outcome[T any] = outcome[T]
	Decision       = decision
)

func Decide[T any](p *Policy[T], s State, o Outcome[T]) Decision { return decide(p, s, o) }
