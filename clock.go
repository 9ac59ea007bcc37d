package backoff

import (
	"context"
	"reflect"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/backoff-go/backoff/internal/sched"
)

// timeSource is all that the runners need of a clock, so that other clock
// packages can be adapted without touching the scheduler.
type timeSource interface {
	Now() time.Time
	NewTimer(d time.Duration) sched.Timer
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	// AfterFunc runs f in its own goroutine after d, unless stopped first.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
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

func (b benbjohnson) NewTimer(d time.Duration) sched.Timer { return bjTimer{b.c.Timer(d)} }

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

// epochClock reads a timeSource as nanoseconds since an epoch: the clock
// of a scheduler's core and of its job records.
type epochClock struct {
	ts    timeSource
	epoch time.Time
	// real is set when ts is the system clock: then a reading needs only
	// the monotonic clock (time.Since), which costs half of time.Now, and
	// a burst reads the clock about twice per attempt.
	real bool
}

func newEpochClock(ts timeSource) epochClock {
	b, ok := ts.(benbjohnson)
	return epochClock{ts: ts, epoch: ts.Now(), real: ok && reflect.TypeOf(b.c) == realClockType}
}

var realClockType = reflect.TypeOf(clock.New())

// Now saturates at the ends of time.Duration's range, as time.Time.Sub does.
func (c *epochClock) Now() int64 {
	if c.real {
		return int64(time.Since(c.epoch))
	}
	return int64(c.ts.Now().Sub(c.epoch))
}

// since returns t on this clock: its time since the epoch.
func (c *epochClock) since(t time.Time) time.Duration { return t.Sub(c.epoch) }

func (c *epochClock) NewTimer(d time.Duration) sched.Timer { return c.ts.NewTimer(d) }

// sleeper waits on one timer, reused across waits.
type sleeper struct {
	ts timeSource
	t  sched.Timer
}

// sleep waits d or until ctx ends, whichever is first, and reports whether
// the whole wait passed.
func (s *sleeper) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if s.t == nil {
		s.t = s.ts.NewTimer(d)
	} else {
		sched.Rearm(s.t, d)
	}
	select {
	case <-s.t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *sleeper) stop() {
	if s.t != nil {
		s.t.Stop()
	}
}
