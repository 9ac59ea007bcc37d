package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backoff-go/backoff"
)

// The io scenario: ops that take real time, as pollers' and consumers' do.
// Each job's op sleeps 20 ms and fails twice, then succeeds: 3 attempts
// with no wait between them. N is the worker count W, and there are 50·W
// jobs (at most 200,000), all submitted at once, so W workers are busy
// the whole run and the best throughput is W / 20 ms.
//
// Modes: pool, W goroutines taking jobs from a channel, each running a
// job's attempts back to back (the baseline: no scheduler at all); sem, a
// goroutine per job, W of them at a time through a semaphore; unbounded, a
// goroutine per job with no limit (for reference: it is not bounded by
// W); ours-fanin, a Scheduler with Workers(W).
//
// Lateness here is each attempt's wait for a worker: its start less when
// it was due (the submission for a first attempt, the end of the last for
// a retry).

const (
	ioOp    = 20 * time.Millisecond
	ioTries = 3
)

func ioJobs(w int) int { return min(50*w, 200_000) }

func runIO(c childCfg) error {
	w, n := c.n, ioJobs(c.n)
	r := Result{Mode: c.mode, Scenario: "io", N: w, K: ioTries - 1, Workers: w, Release: fmt.Sprintf("%d jobs at once", n)}
	samples := offHeap(n * ioTries)
	var t0 time.Time
	since := func() int64 { return int64(time.Since(t0)) }
	// attempt runs one attempt of job i, due at due; it reports whether
	// the job succeeded.
	attempt := func(i, try int, due int64) bool {
		samples[i*ioTries+try] = max(since()-due, 0)
		time.Sleep(ioOp)
		return try == ioTries-1
	}
	// runJob runs a job's attempts back to back, as a plain loop does.
	runJob := func(i int) {
		due := int64(0)
		for try := 0; !attempt(i, try, due); try++ {
			due = since()
		}
	}

	runtime.GC()
	baseRSS, _ := procStatus()
	baseGor := runtime.NumGoroutine()
	var peakGor atomic.Int64
	stopSampler := make(chan struct{})
	go func() {
		for {
			peakGor.Store(max(peakGor.Load(), int64(runtime.NumGoroutine())))
			select {
			case <-stopSampler:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	baseGor++

	stopCPU := startCPUProfile(c.cpuprof)
	cpu0 := cpuTime()
	t0 = time.Now()
	var wg sync.WaitGroup
	switch c.mode {
	case "pool":
		jobs := make(chan int, n)
		for i := range n {
			jobs <- i
		}
		close(jobs)
		for range w {
			wg.Go(func() {
				for i := range jobs {
					runJob(i)
				}
			})
		}
		wg.Wait()
	case "sem":
		sem := make(chan struct{}, w)
		for i := range n {
			wg.Go(func() {
				sem <- struct{}{}
				runJob(i)
				<-sem
			})
		}
		wg.Wait()
	case "unbounded":
		for i := range n {
			wg.Go(func() { runJob(i) })
		}
		wg.Wait()
	case "ours-fanin":
		s, err := backoff.NewScheduler(backoff.Workers(w))
		if err != nil {
			return err
		}
		pol, err := backoff.NewPolicy[struct{}](backoff.NoWait{}, backoff.MaxTries(ioTries))
		if err != nil {
			return err
		}
		results := make(chan backoff.Event[struct{}], min(n, 1024))
		for i := range n {
			try, due := 0, int64(0)
			op := func(context.Context) (struct{}, error) {
				ok := attempt(i, try, due)
				try++
				due = since()
				if ok {
					return struct{}{}, nil
				}
				return struct{}{}, errFail
			}
			if _, err := backoff.SubmitTo(context.Background(), s, op, results, pol); err != nil {
				return err
			}
		}
		for range n {
			if ev := <-results; ev.Kind != backoff.EventSuccess {
				r.Failed++
			}
		}
		if err := s.Close(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown io mode %q", c.mode)
	}
	wall := time.Since(t0)
	cpu := cpuTime() - cpu0
	stopCPU()
	close(stopSampler)
	_, hwm := procStatus()
	r.WallS = wall.Seconds()
	r.Attempts = int64(n * ioTries)
	r.AttemptsPerS = float64(r.Attempts) / wall.Seconds()
	r.CPUUsPerAtt = float64(cpu.Microseconds()) / float64(r.Attempts)
	r.PeakGor = max(int(peakGor.Load())-baseGor, 0)
	r.PeakRSSPerJ = float64(hwm-baseRSS) / float64(w) // per worker, here
	lateness(samples, &r)
	return emit(r)
}
