package backoff_test

// Benchmarks for benchstat before/after comparisons of the scheduler, the
// decision and the strategies. They run only with -bench:
//
//	go test -run XXX -bench . -count 6 . | tee new.txt
//	benchstat old.txt new.txt
//
// Every benchmark closes its scheduler, so TestMain's goleak check passes.
// The comparison with the other retry libraries is in bench/ (its own
// module; see bench/RESULTS.md).

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/backoff-go/backoff"
)

var errBench = errors.New("bench: transient")

func benchOp(context.Context) (struct{}, error) { return struct{}{}, errBench }

func newBenchScheduler(b *testing.B, opts ...backoff.SchedulerOption) *backoff.Scheduler {
	b.Helper()
	s, err := backoff.NewScheduler(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func newBenchPolicy(b *testing.B, opts ...backoff.Option) *backoff.Policy[struct{}] {
	b.Helper()
	p, err := backoff.NewPolicy[struct{}](opts...)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// benchPaths are the ways users submit: fan-in or a Handle, with a key
// or not, subscribed to the Handle's events or not, under one context or
// (ctx) each under its own, as a job per request is.
var benchPaths = []struct {
	name        string
	handle, key bool
	subscribe   bool
	ownCtx      bool
}{
	{name: "fanin"},
	{name: "fanin+ctx", ownCtx: true},
	{name: "fanin+key", key: true},
	{name: "handle", handle: true},
	{name: "handle+key", handle: true, key: true},
	{name: "handle+subscribe", handle: true, subscribe: true},
}

// submitter submits jobs one path's way; its keys are made beforehand, so
// that a job's cost is the library's (the key string itself aside).
type submitter struct {
	s       *backoff.Scheduler
	pol     *backoff.Policy[struct{}]
	results chan backoff.Event[struct{}]
	handle  bool
	opts    []backoff.Option // the policy, then any per-job options; a key last
	keys    []backoff.Option
	n       int
	keep    bool // keep the handles
	handles []*backoff.Handle[struct{}]
	ownCtx  bool // a context of its own for each job
	cancels []context.CancelFunc
}

func newSubmitter(b *testing.B, s *backoff.Scheduler, pol *backoff.Policy[struct{}], handle, key, subscribe, ownCtx bool, n int, extra ...backoff.Option) *submitter {
	b.Helper()
	sub := &submitter{s: s, pol: pol, handle: handle, ownCtx: ownCtx, results: make(chan backoff.Event[struct{}], 1)}
	sub.opts = []backoff.Option{pol}
	if subscribe {
		sub.opts = append(sub.opts, backoff.Subscribe())
	}
	sub.opts = append(sub.opts, extra...)
	if key {
		sub.keys = make([]backoff.Option, n)
		for i := range sub.keys {
			sub.keys[i] = backoff.Key(fmt.Sprint("job-", i))
		}
		sub.opts = append(sub.opts, nil)
	}
	return sub
}

func (sub *submitter) submit(b *testing.B) {
	switch {
	case sub.keys == nil:
	case sub.n < len(sub.keys):
		sub.opts[len(sub.opts)-1] = sub.keys[sub.n]
	default: // past the keys made ahead, whose jobs may still be pending
		sub.opts[len(sub.opts)-1] = backoff.Key(fmt.Sprint("job-", sub.n))
	}
	sub.n++
	ctx := context.Background()
	if sub.ownCtx {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		sub.cancels = append(sub.cancels, cancel)
	}
	var err error
	if sub.handle {
		var h *backoff.Handle[struct{}]
		h, err = backoff.Submit(ctx, sub.s, benchOp, sub.opts...)
		if sub.keep {
			sub.handles = append(sub.handles, h)
		}
	} else {
		_, err = backoff.SubmitTo(ctx, sub.s, benchOp, sub.results, sub.opts...)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSubmit is the cost of one submission, through to the owner
// goroutine, on each path: the jobs' first attempts are an hour away, so
// nothing runs. ns/op is the inverse of the sustained submission rate.
func BenchmarkSubmit(b *testing.B) {
	for _, p := range benchPaths {
		b.Run(p.name, func(b *testing.B) {
			s := newBenchScheduler(b)
			defer s.Close()
			pol := newBenchPolicy(b, backoff.InitialDelay(time.Hour), backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
			sub := newSubmitter(b, s, pol, p.handle, p.key, p.subscribe, p.ownCtx, 1<<20)
			b.ReportAllocs()
			for b.Loop() {
				sub.submit(b)
			}
			b.StopTimer()
			waitFor(b, func() bool { return s.Stats().Waiting == int(s.Stats().Submitted) })
		})
	}
}

// BenchmarkStartAtBurst is a burst released by the timer structure, on
// each path: b.N jobs submitted with StartAt(T) on a mock clock, then the
// clock moved to T. One op is one job's first attempt, released, run and
// its terminal event delivered (a Handle's read through Result); the
// submissions are not timed.
func BenchmarkStartAtBurst(b *testing.B) {
	for _, p := range benchPaths {
		b.Run(p.name, func(b *testing.B) {
			m := clock.NewMock()
			s := newBenchScheduler(b, backoff.WithClock(m))
			defer s.Close()
			pol := newBenchPolicy(b, backoff.MaxTries(1))
			sub := newSubmitter(b, s, pol, p.handle, p.key, p.subscribe, p.ownCtx, b.N, backoff.StartAt(m.Now().Add(time.Second)))
			sub.results, sub.keep = make(chan backoff.Event[struct{}], b.N), true
			for range b.N {
				sub.submit(b)
			}
			waitFor(b, func() bool { return s.Stats().Waiting == b.N })
			b.ReportAllocs()
			b.ResetTimer()
			m.Add(time.Second)
			for _, h := range sub.handles {
				_, _ = h.Result(context.Background())
			}
			for range b.N - len(sub.handles) {
				<-sub.results
			}
		})
	}
}

// BenchmarkGroupRate is BenchmarkStartAtBurst's fan-in burst in one
// group: with no rate ("none"), beside a rated group, which makes the
// owner look the group up ("other-rated"), and held to a rate that never
// binds, a bucket as deep as the burst ("rated"). One op is one job's
// first attempt, let through, run and delivered, so the difference from
// "none" is the cost of a token per attempt.
func BenchmarkGroupRate(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []backoff.SchedulerOption
	}{
		{"none", nil},
		{"other-rated", []backoff.SchedulerOption{backoff.GroupRateFor("other", 1, 1)}},
		{"rated", []backoff.SchedulerOption{backoff.GroupRateFor("g", 1e9, 1<<30)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := clock.NewMock()
			s := newBenchScheduler(b, append(c.opts, backoff.WithClock(m))...)
			defer s.Close()
			pol := newBenchPolicy(b, backoff.MaxTries(1))
			sub := newSubmitter(b, s, pol, false, false, false, false, b.N, backoff.StartAt(m.Now().Add(time.Second)), backoff.Group("g"))
			sub.results = make(chan backoff.Event[struct{}], b.N)
			for range b.N {
				sub.submit(b)
			}
			waitFor(b, func() bool { return s.Stats().Waiting == b.N })
			b.ReportAllocs()
			b.ResetTimer()
			m.Add(time.Second)
			for range b.N {
				<-sub.results
			}
			b.StopTimer()
			if st := s.Stats(); st.RateHeld != 0 || st.Attempts != uint64(b.N) {
				b.Fatalf("the rate bound: %+v", st)
			}
		})
	}
}

// BenchmarkAttempt is one retry attempt through the scheduler in steady
// state: jobs that fail forever cycle between the owner, the timer
// structure and the workers. One op is one attempt, so allocs/op is
// allocations per attempt (target: 0) and ns/op the wall time per attempt
// with every core busy.
func BenchmarkAttempt(b *testing.B) {
	for _, c := range []struct {
		name string
		jobs int
		wait backoff.Option
	}{
		{"NoWait/jobs=1k", 1000, backoff.NoWait{}},
		// Through the timer structure: each attempt waits 1 ms in it.
		{"Constant1ms/jobs=10k", 10000, backoff.Constant{Interval: time.Millisecond}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newBenchScheduler(b)
			defer s.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pol := newBenchPolicy(b, c.wait, backoff.NoJitter)
			results := make(chan backoff.Event[struct{}], c.jobs)
			for range c.jobs {
				if _, err := backoff.SubmitTo(ctx, s, benchOp, results, pol); err != nil {
					b.Fatal(err)
				}
			}
			// Warm up: every job has run a few times, slices have grown.
			waitFor(b, func() bool { return s.Stats().Attempts >= uint64(4*c.jobs) })
			b.ReportAllocs()
			b.ResetTimer()
			start := s.Stats().Attempts
			t0 := time.Now()
			waitFor(b, func() bool { return s.Stats().Attempts >= start+uint64(b.N) })
			b.StopTimer()
			n := s.Stats().Attempts - start
			b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "attempts/s")
		})
	}
}

// BenchmarkSlowOps is the I/O-bound path of pollers and consumers: ops
// that take 20 ms, 3 tries with no wait between them, b.N jobs submitted
// at once to one results channel read after the last Submit (so that
// their terminal events queue in its backlog meanwhile), on W workers.
// "of-ideal-%" is the wall time the ops alone need, ⌈b.N/W⌉ · 3 · 20 ms,
// against the measured one: the scheduler's own cost shows as the rest,
// and on a small machine it grows with W.
func BenchmarkSlowOps(b *testing.B) {
	const (
		opTime = 20 * time.Millisecond
		tries  = 3
	)
	for _, w := range []int{64, 1024, 16384} {
		b.Run(fmt.Sprint("workers=", w), func(b *testing.B) {
			s := newBenchScheduler(b, backoff.Workers(w))
			defer s.Close()
			pol := newBenchPolicy(b, backoff.NoWait{}, backoff.MaxTries(tries))
			results := make(chan backoff.Event[struct{}], 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				n := 0
				op := func(context.Context) (struct{}, error) {
					time.Sleep(opTime)
					if n++; n < tries {
						return struct{}{}, errBench
					}
					return struct{}{}, nil
				}
				if _, err := backoff.SubmitTo(context.Background(), s, op, results, pol); err != nil {
					b.Fatal(err)
				}
			}
			for range b.N {
				if ev := <-results; ev.Kind != backoff.EventSuccess {
					b.Fatal(ev)
				}
			}
			b.StopTimer()
			ideal := time.Duration((b.N+w-1)/w*tries) * opTime
			b.ReportMetric(float64(tries*b.N)/b.Elapsed().Seconds(), "attempts/s")
			b.ReportMetric(100*ideal.Seconds()/b.Elapsed().Seconds(), "of-ideal-%")
		})
	}
}

// BenchmarkHoldBytesPerJob reports "B/job": the live heap and stack per
// pending job after GC, on each path, for jobs whose first attempt failed
// and whose next attempt is an hour away; and "ns/job", the time until all
// are pending. Keys are made beforehand: "B/job" leaves out the key
// strings' own bytes.
func BenchmarkHoldBytesPerJob(b *testing.B) {
	const jobs = 100000
	for _, p := range benchPaths {
		b.Run(p.name, func(b *testing.B) {
			pol := newBenchPolicy(b, backoff.Constant{Interval: time.Hour}, backoff.NoJitter)
			var perJob float64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				s := newBenchScheduler(b)
				sub := newSubmitter(b, s, pol, p.handle, p.key, p.subscribe, p.ownCtx, jobs)
				base := liveBytes()
				b.StartTimer()
				for range jobs {
					sub.submit(b)
				}
				waitFor(b, func() bool { return s.Stats().Waiting == jobs })
				b.StopTimer()
				perJob = float64(liveBytes()-base) / jobs
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(perJob, "B/job")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*jobs), "ns/job")
		})
	}
}

func liveBytes() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}

func waitFor(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// BenchmarkDecide is the retry decision after a failed attempt, as the
// scheduler makes it for every attempt.
func BenchmarkDecide(b *testing.B) {
	pol := newBenchPolicy(b, backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTries(1<<30))
	st := backoff.State{Tries: 3, Elapsed: 3 * time.Second, Prev: time.Second}
	o := backoff.Outcome[struct{}]{Err: errBench}
	b.ReportAllocs()
	for b.Loop() {
		if d := backoff.Decide(pol, st, o); !d.Retry {
			b.Fatal(d)
		}
	}
}

// BenchmarkDelay is each strategy's Delay and each jitter, for the first
// 16 attempts in turn.
func BenchmarkDelay(b *testing.B) {
	strategies := []struct {
		name string
		s    backoff.Strategy
	}{
		{"Expo", backoff.Expo{Max: time.Minute}},
		{"Fibo", backoff.Fibo{Max: time.Minute}},
		{"Constant", backoff.Constant{Interval: time.Second}},
		{"Decay", backoff.Decay{Initial: time.Minute, Rate: 0.5, Min: time.Second}},
		{"Decorrelated", backoff.Decorrelated{Base: time.Second, Max: time.Minute}},
		{"Intervals", backoff.Intervals{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		{"NoWait", backoff.NoWait{}},
	}
	for _, c := range strategies {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n, prev := 1, time.Duration(0)
			for b.Loop() {
				d, ok := c.s.Delay(n, prev)
				if !ok {
					b.Fatal("no wait")
				}
				prev = d
				if n++; n > 16 {
					n, prev = 1, 0
				}
			}
		})
	}
	jitters := []struct {
		name string
		j    backoff.Jitter
	}{
		{"FullJitter", backoff.FullJitter},
		{"RandomJitter", backoff.RandomJitter},
		{"EqualJitter", backoff.EqualJitter},
		{"NoJitter", backoff.NoJitter},
	}
	for _, c := range jitters {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			d := time.Duration(0)
			for i := 0; b.Loop(); i++ {
				d += c.j(time.Duration(i&1023) * time.Millisecond)
			}
			sink = d
		})
	}
}

var sink time.Duration
