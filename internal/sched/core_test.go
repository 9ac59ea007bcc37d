package sched

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// realClock is time itself, which a synctest bubble fakes.
type realClock struct{ epoch time.Time }

func (c realClock) Now() int64                     { return int64(time.Since(c.epoch)) }
func (c realClock) NewTimer(d time.Duration) Timer { return stdTimer{time.NewTimer(d)} }

type stdTimer struct{ t *time.Timer }

func (t stdTimer) C() <-chan time.Time        { return t.t.C }
func (t stdTimer) Stop() bool                 { return t.t.Stop() }
func (t stdTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// blockingJob's step waits until release is closed, then ends the job.
type blockingJob struct {
	testJob
	release chan struct{}
}

func start(t *testing.T, workers int, run func(Job)) *Core {
	t.Helper()
	return Start(Config{Workers: workers, Clock: realClock{time.Now()}, Run: run,
		Exited: func(j Job) { j.base().Ended = true }, CloseCause: errors.New("closed")})
}

func stop(c *Core) {
	c.Stop(true)
	<-c.Done()
}

// goroutines counts the process's goroutines: enough here, since the
// tests of this package do not run in parallel.
func goroutines() int { return runtime.NumGoroutine() }

// Workers start as jobs fall due and none is idle, at most Workers of
// them; an idle worker takes the next job, and a busy pool queues it.
func TestWorkersStartOnDemand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running atomic.Int32
		run := func(j Job) {
			running.Add(1)
			<-j.(*blockingJob).release
			running.Add(-1)
			j.base().Ended = true
		}
		base := goroutines()
		c := start(t, 3, run)
		defer stop(c)
		if got := goroutines() - base; got != 1 {
			t.Fatalf("%d goroutines after Start, want the owner alone", got)
		}
		release := make(chan struct{})
		for range 5 {
			if err := c.Submit(t.Context(), &blockingJob{release: release}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := goroutines() - base; got != 1+3 || running.Load() != 3 || c.Ready() != 2 || c.Running() != 3 {
			t.Fatalf("5 jobs on 3 workers: %d goroutines, %d running (%d by the gauge), %d ready", got, running.Load(), c.Running(), c.Ready())
		}
		close(release)
		synctest.Wait()
		if running.Load() != 0 || c.Ready() != 0 || c.Gauges().Pending.Load() != 0 {
			t.Fatalf("after the release: %d running, %d ready, %d pending", running.Load(), c.Ready(), c.Gauges().Pending.Load())
		}
		if got := goroutines() - base; got != 1+3 {
			t.Fatalf("%d goroutines once idle, want the owner and 3 idle workers", got)
		}
	})
}

// A burst of submissions waits for the owner once the inbox holds
// inboxRoom of them, and goes on as the owner takes them in; a submitter
// whose ctx ends meanwhile gets ctx's error, and Stop refuses the rest.
func TestInboxRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := start(t, 1, func(j Job) { j.base().Ended = true })
		defer stop(c)
		// A job whose TakeTrigger blocks holds the owner in take.
		hold := make(chan struct{})
		stuck := &stuckJob{hold: hold}
		stuck.SetDue(int64(time.Hour)) // so that take asks for a trigger
		if err := c.Submit(t.Context(), stuck); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		later := InitialDelayJob(time.Hour)
		for range inboxRoom {
			if err := c.Submit(t.Context(), later()); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		waiting := make(chan error, 2)
		go func() { waiting <- c.Submit(ctx, later()) }()
		go func() { waiting <- c.Submit(t.Context(), later()) }()
		synctest.Wait()
		if len(waiting) != 0 {
			t.Fatal("a Submit past the inbox's room did not wait")
		}
		cancel()
		if err := <-waiting; !errors.Is(err, context.Canceled) {
			t.Fatalf("waiting Submit, its ctx ended: %v", err)
		}
		close(hold)
		if err := <-waiting; err != nil {
			t.Fatalf("waiting Submit once the owner took the inbox in: %v", err)
		}
		if got := c.Gauges().Pending.Load(); got != 1+inboxRoom+1 {
			t.Fatalf("%d pending, want %d", got, 1+inboxRoom+1)
		}
		c.Stop(true)
		if err := c.Submit(t.Context(), later()); !errors.Is(err, ErrStopped) {
			t.Fatalf("Submit after Stop: %v", err)
		}
	})
}

// stuckJob holds the owner in TakeTrigger until hold is closed.
type stuckJob struct {
	testJob
	hold chan struct{}
}

func (j *stuckJob) TakeTrigger() bool {
	<-j.hold
	return false
}

// InitialDelayJob returns a maker of jobs first due d from now.
func InitialDelayJob(d time.Duration) func() Job {
	return func() Job {
		j := &testJob{}
		j.SetDue(int64(d))
		return j
	}
}

// OnWorker is true in a job's step and false elsewhere.
func TestOnWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var seen []bool
		c := start(t, 2, func(j Job) {
			mu.Lock()
			seen = append(seen, OnWorker(), deep(200))
			mu.Unlock()
			j.base().Ended = true
		})
		defer stop(c)
		if err := c.Submit(t.Context(), &testJob{}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if OnWorker() || len(seen) != 2 || !seen[0] || !seen[1] {
			t.Fatalf("OnWorker: %v in steps (plain, 200 frames deep), %v here", seen, OnWorker())
		}
	})
}

// deep calls OnWorker n frames down, past a page of runtime.Callers.
func deep(n int) bool {
	if n == 0 {
		return OnWorker()
	}
	return deep(n - 1)
}

// A job whose step calls runtime.Goexit is given to Exited and handed
// back ended; a new worker takes the lost one's place.
func TestGoexitInAStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var exited atomic.Int32
		c := Start(Config{Workers: 1, Clock: realClock{time.Now()}, CloseCause: errors.New("closed"),
			Run: func(j Job) {
				if strings.HasPrefix(j.Group(), "exit") {
					runtime.Goexit()
				}
				j.base().Ended = true
			},
			Exited: func(j Job) {
				exited.Add(1)
				j.base().Ended = true
			}})
		defer stop(c)
		for _, g := range []string{"exit", "", "exit again", ""} {
			if err := c.Submit(t.Context(), &testJob{group: g}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if exited.Load() != 2 || c.Gauges().Pending.Load() != 0 || c.Running() != 0 {
			t.Fatalf("%d exited, %d pending, %d running; want 2, 0, 0", exited.Load(), c.Gauges().Pending.Load(), c.Running())
		}
	})
}

// A worker working through a batch hands each job back as soon as it has
// ended, so that its Retire (which sends a results channel's event) does
// not wait for the rest of the batch's ops.
func TestEndedJobsHandedBackAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 40 // batches with one worker from 16 queued jobs on
		epoch := time.Now()
		retired := make(chan time.Duration, n)
		c := Start(Config{Workers: 1, Clock: realClock{epoch}, CloseCause: errors.New("closed"),
			Run: func(j Job) {
				time.Sleep(time.Second)
				j.base().Ended = true
			},
			Retire: func(Job) { retired <- time.Since(epoch) },
		})
		defer stop(c)
		for range n {
			if err := c.Submit(t.Context(), &testJob{}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			if got, want := <-retired, time.Duration(i+1)*time.Second; got != want {
				t.Fatalf("job %d retired at %v, want %v, when its op returned", i, got, want)
			}
		}
	})
}

// Sync returns at once when the owner has exited, having retired every
// job. (That it waits for the owner to retire what was handed back before
// it is TestStopOnWorkerKeepsEarlierEvents, in package backoff.)
func TestSyncAfterExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var retired atomic.Int32
		c := Start(Config{Workers: 2, Clock: realClock{time.Now()}, CloseCause: errors.New("closed"),
			Run:    func(j Job) { j.base().Ended = true },
			Retire: func(Job) { retired.Add(1) },
		})
		for range 2 {
			if err := c.Submit(t.Context(), &testJob{}); err != nil {
				t.Fatal(err)
			}
		}
		stop(c)
		c.Sync()
		if got := retired.Load(); got != 2 {
			t.Fatalf("%d retired after Stop, want 2", got)
		}
	})
}

// With a long queue, workers take batches; a batch held by a worker whose
// op is slow is stolen by a worker that runs out of work, and the slow
// worker's finished jobs are handed back with it: every other job ends
// while the slow op runs.
func TestBatchesAreStolen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var ended atomic.Int32
		c := start(t, 2, func(j Job) {
			if j.Group() == "slow" {
				<-release
			}
			ended.Add(1)
			j.base().Ended = true
		})
		defer stop(c)
		const n = 200
		for i := range n {
			j := &testJob{}
			if i == 3 { // in the first batch a worker takes
				j.group = "slow"
			}
			if err := c.Submit(t.Context(), j); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got, pending := ended.Load(), c.Gauges().Pending.Load(); got != n-1 || pending != 1 || c.Ready() != 0 {
			t.Fatalf("while the slow op runs: %d ended, %d pending, %d ready; want %d, 1, 0", got, pending, c.Ready(), n-1)
		}
		close(release)
		synctest.Wait()
		if pending := c.Gauges().Pending.Load(); pending != 0 {
			t.Fatalf("%d pending after the slow op returned", pending)
		}
	})
}

// Every job handed back reaches the owner, from whichever hand-back list
// its worker uses, however the workers' turns and the owner's kicks
// interleave: 64 workers, four to a list, run 2,000 jobs of three turns a
// millisecond apart, and every job is retired.
func TestHandBackFromEveryList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, jobs, turns = 4 * backShards, 2000, 3
		clk := realClock{time.Now()}
		retired := make(chan Job, jobs)
		c := Start(Config{Workers: workers, Clock: clk, CloseCause: errors.New("closed"),
			Run: func(j Job) {
				b := j.base()
				if b.Tries++; b.Tries == turns {
					b.Ended = true
					return
				}
				b.SetDue(clk.Now() + int64(time.Millisecond))
			},
			Retire: func(j Job) { retired <- j },
		})
		defer stop(c)
		for range jobs {
			if err := c.Submit(t.Context(), &testJob{}); err != nil {
				t.Fatal(err)
			}
		}
		for range jobs {
			if j := <-retired; j.base().Tries != turns {
				t.Fatalf("a job retired after %d turns, want %d", j.base().Tries, turns)
			}
		}
		synctest.Wait() // the owner counts a job out after its Retire
		if pending := c.Gauges().Pending.Load(); pending != 0 {
			t.Fatalf("%d pending after every job was retired", pending)
		}
		c.pool.mu.Lock()
		started := c.pool.started
		c.pool.mu.Unlock()
		if started != workers {
			t.Fatalf("%d workers started, want all %d, so that every list is used", started, workers)
		}
	})
}
