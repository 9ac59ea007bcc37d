package backoff

import (
	"context"
	"time"

	"github.com/benbjohnson/clock"
)

// timeSource is all that the runners need of a clock, so that other clock
// packages can be adapted without touching the scheduler.
type timeSource interface {
	Now() time.Time
	NewTimer(d time.Duration) alarm
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	// AfterFunc runs f in its own goroutine after d, unless stopped first.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// alarm is one reusable timer.
type alarm interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// benbjohnson adapts github.com/benbjohnson/clock.
type benbjohnson struct{ c clock.Clock }

func newTimeSource(c clock.Clock) timeSource {
	if c == nil {
		c = clock.New()
	}
	return benbjohnson{c}
}

func (b benbjohnson) Now() time.Time { return b.c.Now() }

func (b benbjohnson) NewTimer(d time.Duration) alarm { return bjTimer{b.c.Timer(d)} }

func (b benbjohnson) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return b.c.WithTimeout(ctx, d)
}

func (b benbjohnson) AfterFunc(d time.Duration, f func()) func() bool {
	return b.c.AfterFunc(d, f).Stop
}

type bjTimer struct{ t *clock.Timer }

func (t bjTimer) C() <-chan time.Time        { return t.t.C }
func (t bjTimer) Stop() bool                 { return t.t.Stop() }
func (t bjTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// rearm points a at d from now. It stops a, then drains its channel
// without blocking: clock.Mock deadlocks on a Reset of an undrained timer,
// and with Go 1.23 timers a blocking drain after Stop can hang. Callers
// treat d <= 0 as due now and never arm for it, because clock.Mock's
// Reset(0) does not fire.
func rearm(a alarm, d time.Duration) {
	a.Stop()
	select {
	case <-a.C():
	default:
	}
	a.Reset(d)
}

// sleeper waits on one timer, reused across waits.
type sleeper struct {
	ts timeSource
	a  alarm
}

// sleep waits d or until ctx ends, whichever is first, and reports whether
// the whole wait passed.
func (s *sleeper) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if s.a == nil {
		s.a = s.ts.NewTimer(d)
	} else {
		rearm(s.a, d)
	}
	select {
	case <-s.a.C():
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *sleeper) stop() {
	if s.a != nil {
		s.a.Stop()
	}
}
