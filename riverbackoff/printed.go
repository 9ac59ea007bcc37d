package riverbackoff

import "fmt"

// forRiver returns the op's error as River may take it: River formats an
// error it retries with no recover around, so an error whose Error method
// panics (a typed nil) is handed over as fmt prints it, still wrapping it
// for errors.Is and errors.As. It costs one call of Error.
func forRiver(err error) error {
	if errorPanics(err) {
		return printed{err}
	}
	return err
}

func errorPanics(err error) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	_ = err.Error()
	return false
}

// printed is an error whose Error method panics, as fmt prints it.
type printed struct{ err error }

func (p printed) Error() string { return fmt.Sprint(p.err) }
func (p printed) Unwrap() error { return p.err }
