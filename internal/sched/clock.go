package sched

import "time"

// Clock is the time the owner runs on.
type Clock interface {
	// Now returns the time in ns since a fixed epoch; it saturates rather
	// than wraps.
	Now() int64
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
}

// Timer is one reusable timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Rearm points t at d from now. It stops t, then drains its channel
// without blocking: clock.Mock deadlocks on a Reset of an undrained timer,
// and with Go 1.23 timers a blocking drain after Stop can hang. Callers
// treat d <= 0 as due now and never arm for it, because clock.Mock's
// Reset(0) does not fire.
func Rearm(t Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C():
	default:
	}
	t.Reset(d)
}
