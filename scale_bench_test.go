package backoff_test

// Benchmarks of the scheduler at scale: many workers, many contexts. They
// measure time and memory that tests must not assert; run them with
//
//	go test -run XXX -bench 'NewScheduler|BusyWorkers|ContextsEnd' -benchtime 1x -count 5 .

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backoff-go/backoff"
)

// BenchmarkNewScheduler is NewScheduler and Close with a large Workers: no
// worker starts until an attempt falls due, so the setting costs nothing.
func BenchmarkNewScheduler(b *testing.B) {
	for _, w := range []int{64, 1 << 16, 1 << 20} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := newBenchScheduler(b, backoff.Workers(w))
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBusyWorkers runs w jobs whose ops block until all w run at
// once: "ms-to-all-running" is how long the scheduler takes to start its
// w workers, "B/worker" what each costs, heap and stack, while its op
// waits.
func BenchmarkBusyWorkers(b *testing.B) {
	for _, w := range []int{4096, 1 << 16, 1 << 18} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			var ms, perWorker float64
			for b.Loop() {
				s := newBenchScheduler(b, backoff.Workers(w))
				results := make(chan backoff.Event[struct{}], w)
				release := make(chan struct{})
				var running sync.WaitGroup
				running.Add(w)
				op := func(context.Context) (struct{}, error) {
					running.Done()
					<-release
					return struct{}{}, nil
				}
				base := liveBytes()
				start := time.Now()
				for range w {
					if _, err := backoff.SubmitTo(context.Background(), s, op, results); err != nil {
						b.Fatal(err)
					}
				}
				running.Wait()
				ms = float64(time.Since(start).Microseconds()) / 1e3
				perWorker = float64(liveBytes()-base) / float64(w)
				close(release)
				for range w {
					<-results
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(ms, "ms-to-all-running")
			b.ReportMetric(perWorker, "B/worker")
		})
	}
}

// BenchmarkContextsEnd submits 200,000 jobs, each under a context of its
// own, all children of one context, and ends them all: by cancelling that
// context, or by Close. "ms-to-end" is the time until every job has ended,
// "peak-extra-goroutines" the most goroutines seen meanwhile beyond those
// before (the context package runs each ended context's AfterFunc callback
// in a goroutine of its own, which here returns at once; Close starts
// none).
func BenchmarkContextsEnd(b *testing.B) {
	const n = 200_000
	pol := newBenchPolicy(b, backoff.Constant{Interval: time.Hour})
	for _, by := range []string{"cancel", "Close"} {
		b.Run("by="+by, func(b *testing.B) {
			var ms, peak float64
			for b.Loop() {
				s := newBenchScheduler(b)
				parent, cancelAll := context.WithCancel(context.Background())
				results := make(chan backoff.Event[struct{}], n)
				cancels := make([]context.CancelFunc, n)
				for i := range n {
					var ctx context.Context
					ctx, cancels[i] = context.WithCancel(parent)
					if _, err := backoff.SubmitTo(ctx, s, benchOp, results, pol); err != nil {
						b.Fatal(err)
					}
				}
				waitFor(b, func() bool { return s.Stats().Waiting == n })
				stop := sampleGoroutines()
				start := time.Now()
				if by == "cancel" {
					cancelAll()
				} else if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				for range n {
					<-results
				}
				ms = float64(time.Since(start).Microseconds()) / 1e3
				peak = float64(stop())
				cancelAll()
				for _, cancel := range cancels {
					cancel()
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(ms, "ms-to-end")
			b.ReportMetric(peak, "peak-extra-goroutines")
		})
	}
}

// sampleGoroutines samples the goroutine count every 100µs until the
// returned function is called, which returns the most seen beyond the
// count at the start.
func sampleGoroutines() (stop func() int) {
	base := runtime.NumGoroutine()
	var most atomic.Int64
	done := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			most.Store(max(most.Load(), int64(runtime.NumGoroutine()-base)))
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	})
	return func() int {
		close(done)
		sampler.Wait()
		return int(most.Load())
	}
}
