package backoff

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// ErrClosed is returned by Submit after the scheduler was closed or began
// shutting down.
var ErrClosed = errors.New("backoff: scheduler closed")

// ErrDuplicateKey is returned by Submit when a live job already has the key.
var ErrDuplicateKey = errors.New("backoff: duplicate key")

// GiveUpError is the error of a job that gave up. It keeps both the reason
// and the last attempt's error: errors.Is and errors.As reach the Reason,
// the last error and, for a context end, the context's error.
type GiveUpError struct {
	Reason  Reason
	Err     error // the last attempt's error; nil when a value predicate rejected its value
	Cause   error // the context's error, or the panic; nil otherwise
	Tries   int
	Elapsed time.Duration
}

func (e *GiveUpError) Error() string {
	if e == nil {
		return "<nil>"
	}
	msg := fmt.Sprintf("backoff: gave up after %d tries (%s)", e.Tries, e.Reason)
	if e.Cause != nil {
		text, _ := errText(e.Cause)
		msg += ": " + text
	}
	if e.Err != nil {
		text, _ := errText(e.Err)
		msg += ": " + text
	}
	return msg
}

// Unwrap returns the reason, the last error and the cause.
func (e *GiveUpError) Unwrap() []error {
	if e == nil {
		return nil
	}
	errs := []error{e.Reason}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// permanentError marks an error that must not be retried.
type permanentError struct{ err error }

func (p *permanentError) Error() string {
	text, _ := errText(p.err)
	return text
}
func (p *permanentError) Unwrap() error { return p.err }

// Permanent wraps err so that the job ends at once, with ReasonPermanent,
// whatever the retry conditions say. Permanent(nil) is nil. The wrapper is
// found anywhere in the error chain.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// isPermanent walks the error chain by hand: errors.As would need a
// target that escapes, one allocation per failed attempt.
func isPermanent(err error) bool {
	for err != nil {
		switch e := err.(type) { //nolint:errorlint // this is the walk errors.As would do
		case *permanentError:
			return true
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if isPermanent(inner) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// PanicError is the Cause of a give-up with ReasonPanic: the recovered value
// and the stack of the goroutine that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("backoff: panic: %v", p.Value)
}

// Unwrap returns the panic value when it is an error.
func (p *PanicError) Unwrap() error {
	if p == nil {
		return nil
	}
	err, _ := p.Value.(error)
	return err
}

// ErrGoexit is the Value of the *PanicError of a scheduled job whose op,
// handler or observer called runtime.Goexit on a worker (t.FailNow does):
// the job gives up with ReasonPanic, and a new worker replaces the one
// that exited. In Retry, Wrap and Attempts the op runs on the caller's
// goroutine, and Goexit ends that goroutine as Go says.
var ErrGoexit = errors.New("backoff: runtime.Goexit called on a worker")

// goexitError is the cause of a give-up for a Goexit, with the stack of
// the goroutine that called it; it must be called from a deferred
// function that runs during the Goexit.
func goexitError() *PanicError { return &PanicError{Value: ErrGoexit, Stack: debug.Stack()} }

// errText returns err's message as fmt prints it, and whether its Error
// method panicked (a typed nil, say): then it is what fmt prints for
// such an error instead of a crash.
func errText(err error) (text string, panicked bool) {
	defer func() {
		if recover() != nil {
			text, panicked = fmt.Sprint(err), true
		}
	}()
	return err.Error(), false
}
