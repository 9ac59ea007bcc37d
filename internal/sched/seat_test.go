package sched

import (
	"testing"
	"testing/synctest"
)

// A worker that parks with nothing to hand back (a thief handed its jobs
// back) kicks the owner once the owner found no free worker for a rated
// job, so that the job does not wait for a worker for ever; when the
// owner wanted none, parking costs it no wake-up.
func TestPoolParkKicksWhenWanted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, wanted := range []bool{false, true} {
			kick := make(chan struct{}, 1)
			p := &pool{kick: kick, max: 1, started: 1}
			if n := p.free(1); n != 0 || !p.wanted {
				t.Fatalf("free = %d with the only worker busy, wanted %v", n, p.wanted)
			}
			p.wanted = wanted
			w := &worker{next: make(chan Job, 1)}
			parked := make(chan Job)
			go func() { parked <- p.next(w, nil) }()
			synctest.Wait()
			if kicked := len(kick) == 1; kicked != wanted {
				t.Fatalf("wanted %v: the parked worker kicked the owner: %v", wanted, kicked)
			}
			if n := p.free(1); n != 1 || p.wanted {
				t.Fatalf("free = %d with the worker parked (wanted %v), want 1", n, p.wanted)
			}
			p.close()
			if j := <-parked; j != nil {
				t.Fatalf("the parked worker got %v from a closed pool", j)
			}
		}
	})
}
