package backoff

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
)

// TestEpochClockReadings checks both ways a scheduler reads its clock: the
// monotonic-only reading for the system clock (given or by default) and
// the full reading for any other clock, here a mock.
func TestEpochClockReadings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, c := range []clock.Clock{nil, clock.New()} {
			ec := newEpochClock(newTimeSource(c))
			if !ec.real {
				t.Fatalf("clock %T: not read as the system clock", c)
			}
			t0 := ec.Now()
			time.Sleep(3 * time.Second)
			if d := ec.Now() - t0; d != int64(3*time.Second) {
				t.Fatalf("clock %T: 3s sleep read as %v", c, time.Duration(d))
			}
		}
		m := clock.NewMock()
		ec := newEpochClock(newTimeSource(m))
		if ec.real {
			t.Fatal("a mock clock read as the system clock")
		}
		m.Add(5 * time.Second)
		if d := ec.Now(); d != int64(5*time.Second) {
			t.Fatalf("mock: 5s read as %v", time.Duration(d))
		}
	})
}
