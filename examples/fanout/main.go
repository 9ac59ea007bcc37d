// Command fanout runs many concurrent retry jobs against a simulated flaky
// dependency on one Scheduler, and reports throughput, goroutines and heap.
//
//	go run ./examples/fanout
//	go run ./examples/fanout -n 1000000 -workers 128 -fail 0.5
//
// Every job gets exactly one terminal event on a shared results channel; the
// program exits with status 1 if any job did not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backoff-go/backoff"
)

var (
	errTransient = errors.New("dependency: 503 service unavailable")
	errRejected  = errors.New("dependency: 400 bad request")
)

// service is an in-process fake of a flaky dependency.
type service struct {
	failP   float64       // probability that a call fails transiently
	poisonP float64       // probability that a job's request is rejected for good
	latency time.Duration // a call takes up to this long
}

// call handles one request. A poisoned request always fails permanently;
// any other fails transiently with probability failP.
func (s *service) call(ctx context.Context, id int, poisoned bool) (int, error) {
	if rand.IntN(2) == 0 && s.latency > 0 { // half the calls take no time at all
		time.Sleep(rand.N(s.latency))
	}
	if err := ctx.Err(); err != nil {
		return id, err
	}
	if poisoned {
		return id, backoff.Permanent(errRejected)
	}
	if rand.Float64() < s.failP {
		return id, errTransient
	}
	return id, nil
}

func main() {
	n := flag.Int("n", 100_000, "number of jobs")
	workers := flag.Int("workers", 64, "scheduler workers (attempts running at once)")
	failP := flag.Float64("fail", 0.3, "probability that a call fails transiently")
	poisonP := flag.Float64("poison", 0.01, "fraction of jobs that fail permanently")
	latency := flag.Duration("latency", 300*time.Microsecond, "maximum simulated latency of a call")
	timeout := flag.Duration("timeout", time.Minute, "give up waiting for terminal events after this long")
	flag.Parse()
	if *n < 0 || *failP < 0 || *failP > 1 || *poisonP < 0 || *poisonP > 1 || *latency < 0 {
		fmt.Fprintln(os.Stderr, "fanout: bad flags")
		os.Exit(2)
	}
	os.Exit(run(*n, *workers, *timeout, &service{failP: *failP, poisonP: *poisonP, latency: *latency}))
}

func run(n, workers int, timeout time.Duration, svc *service) int {
	// One policy for every job: checked once, no option work per Submit.
	pol, err := backoff.NewPolicy[int](
		backoff.Expo{Factor: 10 * time.Millisecond, Max: 200 * time.Millisecond}, // FullJitter by default
		backoff.MaxTries(8),
		backoff.StartJitter(200*time.Millisecond), // spread the first attempts
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := backoff.NewScheduler(backoff.Workers(workers))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer s.Close()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc

	// The consumer: one goroutine reads every job's terminal event.
	results := make(chan backoff.Event[int], 4096)
	seen := make([]bool, n) // by job index, carried back as the event's Value
	var (
		done      atomic.Int64
		dup, zero atomic.Int64
		succeeded int
		gaveUp    [backoff.ReasonBudget + 1]int
		allDone   = make(chan struct{})
	)
	var consumer sync.WaitGroup
	consumer.Go(func() {
		for ev := range results {
			switch {
			case ev.Tries == 0:
				zero.Add(1) // ended before any attempt: no index to check
			case seen[ev.Value]:
				dup.Add(1)
			default:
				seen[ev.Value] = true
			}
			if ev.Kind == backoff.EventSuccess {
				succeeded++
			} else {
				gaveUp[ev.Reason]++
			}
			if done.Add(1) == int64(n) {
				close(allDone)
			}
		}
	})
	if n == 0 {
		close(allDone)
	}

	// The sampler: peaks every 50ms, a progress line every 250ms.
	var (
		peakGoroutines int
		peakHeap       uint64
		stopSampler    = make(chan struct{})
		sampler        sync.WaitGroup
	)
	start := time.Now()
	sample := func() {
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapAlloc)
		peakGoroutines = max(peakGoroutines, runtime.NumGoroutine())
	}
	sampler.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var lastAttempts uint64
		last := start
		for i := 1; ; i++ {
			select {
			case <-stopSampler:
				return
			case now := <-tick.C:
				sample()
				if i%5 != 0 {
					continue
				}
				st := s.Stats()
				rate := float64(st.Attempts-lastAttempts) / now.Sub(last).Seconds()
				lastAttempts, last = st.Attempts, now
				fmt.Fprintf(os.Stderr, "\r%6.2fs  done %7d/%d  pending %7d  attempts/s %8.0f  goroutines %4d  heap %6.1f MB   ",
					now.Sub(start).Seconds(), done.Load(), n, st.Pending, rate,
					runtime.NumGoroutine(), float64(ms.HeapAlloc)/(1<<20))
			}
		}
	})

	// The producer: submit every job. Submit waits when it outruns the owner
	// goroutine by a few thousand jobs (and, with MaxPending, at the cap).
	ctx := context.Background()
	for i := range n {
		poisoned := rand.Float64() < svc.poisonP
		_, err := backoff.SubmitTo(ctx, s, func(ctx context.Context) (int, error) {
			return svc.call(ctx, i, poisoned)
		}, results, pol)
		if err != nil {
			fmt.Fprintf(os.Stderr, "\nsubmit %d: %v\n", i, err)
			return 1
		}
	}
	submitted := time.Since(start)

	timedOut := false
	select {
	case <-allDone:
	case <-time.After(timeout):
		timedOut = true
	}
	wall := time.Since(start)
	close(stopSampler)
	sampler.Wait()
	sample()
	fmt.Fprintln(os.Stderr)

	st := s.Stats()
	if err := s.Close(); err != nil { // nothing is pending: returns at once
		fmt.Fprintln(os.Stderr, "close:", err)
	}
	close(results) // Close has returned: no job sends any more
	consumer.Wait()

	missing := 0
	for _, ok := range seen {
		if !ok {
			missing++
		}
	}
	missing -= int(zero.Load()) // those ended, just before their first attempt

	fmt.Printf("jobs            %d (submitted in %v)\n", n, submitted.Round(time.Millisecond))
	fmt.Printf("succeeded       %d\n", succeeded)
	total := 0
	for r, c := range gaveUp {
		total += c
		if c > 0 {
			fmt.Printf("gave up         %d (%s)\n", c, backoff.Reason(r).String())
		}
	}
	if total == 0 {
		fmt.Printf("gave up         0\n")
	}
	fmt.Printf("attempts        %d (%.2f per job)\n", st.Attempts, float64(st.Attempts)/float64(max(n, 1)))
	fmt.Printf("wall time       %v\n", wall.Round(time.Millisecond))
	fmt.Printf("attempts/s      %.0f\n", float64(st.Attempts)/wall.Seconds())
	fmt.Printf("peak goroutines %d (workers %d)\n", peakGoroutines, workers)
	if peakHeap > baseHeap && n > 0 {
		fmt.Printf("heap at peak    %.1f MB, %d bytes per job\n", float64(peakHeap)/(1<<20), (peakHeap-baseHeap)/uint64(n))
	}
	if timedOut || missing > 0 || dup.Load() > 0 {
		fmt.Printf("FAIL: %d jobs had no terminal event, %d had two (timed out: %v)\n", missing, dup.Load(), timedOut)
		return 1
	}
	fmt.Println("every job ended with exactly one terminal event")
	return 0
}
