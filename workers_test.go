package backoff_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/benbjohnson/clock"
)

// A worker that took a chunk of slow jobs hands the rest back when another
// worker falls idle, so the slow jobs spread over both workers.
func TestSlowChunkIsShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The mock clock makes all ten due at one instant, in the order of
		// their deadlines, so the first chunk is the five slow jobs.
		m := clock.NewMock()
		s, err := backoff.NewScheduler(backoff.Workers(2), backoff.WithClock(m))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		var mu sync.Mutex
		var last time.Duration
		results := make(chan backoff.Event[int], 10)
		for i := range 10 {
			slow := i < 5 // the first chunk a worker takes
			_, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				if slow {
					time.Sleep(10 * time.Second)
				}
				mu.Lock()
				last = max(last, time.Since(start))
				mu.Unlock()
				return i, nil
			}, results, backoff.InitialDelay(time.Second+time.Duration(i)))
			if err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		m.Add(2 * time.Second)
		for range 10 {
			<-results
		}
		// One worker alone would run the five slow jobs back to back, done
		// at 50s; shared, they end by 30s.
		if last > 30*time.Second {
			t.Fatalf("last job ended at %v; the slow chunk was not shared", last)
		}
	})
}
