package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/backoff-go/backoff"
)

// Result is one (mode, scenario, N, rep) run, measured in its own process.
type Result struct {
	Mode     string  `json:"mode"`
	Scenario string  `json:"scenario"`
	N        int     `json:"n"`
	Rep      int     `json:"rep"`
	K        int     `json:"k"`
	WaitMs   float64 `json:"wait_ms"`
	Workers  int     `json:"workers,omitempty"`
	Release  string  `json:"release,omitempty"`
	Failed   int     `json:"failed"`

	WallS        float64 `json:"wall_s"`
	Attempts     int64   `json:"attempts"`
	AttemptsPerS float64 `json:"attempts_per_s"`
	CPUUsPerAtt  float64 `json:"cpu_us_per_attempt"`
	PeakGor      int     `json:"peak_goroutines"`
	FixedGor     int     `json:"fixed_goroutines"`
	PeakRSSPerJ  float64 `json:"peak_rss_b_per_job,omitempty"`
	LatP50Ms     float64 `json:"lat_p50_ms"`
	LatP99Ms     float64 `json:"lat_p99_ms"`
	LatMaxMs     float64 `json:"lat_max_ms"`
	AllocsPerJob float64 `json:"allocs_per_job"`
	AllocsPerAtt float64 `json:"allocs_per_attempt"`

	// hold
	LiveBPerJob  float64 `json:"live_b_per_job,omitempty"`
	RSSBPerJob   float64 `json:"rss_b_per_job,omitempty"`
	SubmitPerS   float64 `json:"submit_per_s,omitempty"`
	PendingPerS  float64 `json:"pending_per_s,omitempty"`
	TimeToPendS  float64 `json:"time_to_pending_s,omitempty"`
	RateJobsPerS float64 `json:"rate_jobs_per_s,omitempty"`
}

type childCfg struct {
	mode, scenario   string
	n, k, workers    int
	wait             time.Duration
	rate             float64
	holdWait         time.Duration
	cpuprof, memprof string
}

// procStatus reads VmRSS and VmHWM in bytes.
func procStatus() (rss, hwm int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []string{"VmRSS:", "VmHWM:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				fs := strings.Fields(v)
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				if k == "VmRSS:" {
					rss = n * 1024
				} else {
					hwm = n * 1024
				}
			}
		}
	}
	return
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// offHeap returns a zeroed, touched []int64 outside the Go heap, so that the
// lateness samples neither move the GC's pacing nor count as per-job memory.
func offHeap(n int) []int64 {
	if n == 0 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 0
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&b[0])), n)
}

func pct(s []int64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(p * float64(len(s)-1))
	return float64(s[i]) / 1e6
}

// runChild runs one configuration and prints its Result as a JSON line.
func runChild(c childCfg) error {
	if c.scenario == "io" {
		return runIO(c)
	}
	r := Result{Mode: c.mode, Scenario: c.scenario, N: c.n, K: c.k, WaitMs: float64(c.wait) / 1e6}
	h := &harness{k: c.k, wait: c.wait, epoch: time.Now(), slots: c.k}
	if c.scenario == "timer" {
		h.slots++ // the first attempt's lateness too
	}
	if c.scenario == "hold" {
		h.wait = c.holdWait
	} else {
		h.samples = offHeap(c.n * h.slots)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var remaining atomic.Int64
	remaining.Store(int64(c.n))
	var failed atomic.Int64
	allDone := make(chan struct{})
	done := func(err error) {
		if err != nil {
			failed.Add(1)
		}
		if remaining.Add(-1) == 0 {
			close(allDone)
		}
	}

	var l launcher
	var parked atomic.Int64
	var ours *oursMode
	switch c.mode {
	case "cenkalti", "retrygo", "timer", "sleep":
		l = &goMode{h: h, ctx: ctx, kind: c.mode, parked: &parked, done: done}
	case "afterfunc":
		l = &afterMode{h: h, ctx: ctx, done: done}
	case "harness":
		l = &harnessMode{h: h, ops: make([]func(context.Context) (struct{}, error), c.n)}
	default:
		fanin, key, sub, ok := oursModeOf(c.mode)
		if !ok {
			return fmt.Errorf("unknown mode %q", c.mode)
		}
		var opts []backoff.SchedulerOption
		if c.workers > 0 {
			opts = append(opts, backoff.Workers(c.workers))
		}
		s, err := backoff.NewScheduler(opts...)
		if err != nil {
			return err
		}
		pol, err := backoff.NewPolicy[struct{}](backoff.Constant{Interval: h.wait}, backoff.NoJitter, backoff.MaxTries(c.k+1))
		if err != nil {
			return err
		}
		ours = &oursMode{h: h, ctx: ctx, s: s, pol: pol, fanin: fanin, key: key, subscribe: sub}
		if ours.fanin {
			ours.results = make(chan backoff.Event[struct{}], 1024)
		} else {
			ours.handles = make([]*backoff.Handle[struct{}], c.n)
		}
		r.Workers = c.workers
		l = ours
	}
	// ours: collect terminal events on the shared channel.
	startCollector := func() {
		if ours == nil {
			return
		}
		if ours.fanin {
			go func() {
				for range c.n {
					ev := <-ours.results
					if ev.Kind != backoff.EventSuccess {
						done(ev.Err)
					} else {
						done(nil)
					}
				}
			}()
		}
	}
	// ours-handle: wait on every Handle's Result in turn.
	collectHandles := func() {
		if ours == nil || ours.fanin {
			return
		}
		for _, hd := range ours.handles {
			_, err := hd.Result(ctx)
			done(err)
		}
	}

	runtime.GC()
	runtime.GC()
	baseGor := runtime.NumGoroutine()
	r.FixedGor = baseGor
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	baseRSS, _ := procStatus()

	// Peak goroutines, sampled every 10 ms.
	var peakGor atomic.Int64
	stopSampler := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if g := int64(runtime.NumGoroutine()); g > peakGor.Load() {
				peakGor.Store(g)
			}
			select {
			case <-t.C:
			case <-stopSampler:
				return
			}
		}
	}()
	baseGor++ // the sampler

	var stopCPU func()
	startProf := func() { stopCPU = startCPUProfile(c.cpuprof) }
	stopProf := func() {
		stopCPU()
		writeHeapProfile(c.memprof)
	}

	switch c.scenario {
	case "burst", "timer":
		var gate chan struct{}
		var at time.Time
		switch {
		case c.scenario == "timer":
			// Every mode's first attempt is due at one instant T, far
			// enough for the slowest setup: goroutines sleep until it,
			// the AfterFunc chain and ours arm it.
			// A goroutine that sleeps costs the runtime about 10 µs to
			// set up on 2 cores when a million others sleep too.
			perJob := 12 * time.Microsecond
			if _, ok := l.(*goMode); ok {
				perJob = 20 * time.Microsecond
			}
			at = time.Now().Add(500*time.Millisecond + time.Duration(c.n)*perJob)
			h.release = int64(at.Sub(h.epoch))
			r.Release = "first attempts due at a common instant T (goroutines sleep until T; ours: StartAt(T))"
		case c.mode == "afterfunc":
			// No goroutine to park: arm every first attempt for one instant T.
			at = time.Now().Add(100*time.Millisecond + time.Duration(c.n)*2*time.Microsecond)
			r.Release = "first attempts armed for a common instant T"
		case ours != nil:
			gate = make(chan struct{})
			r.Release = "op gated on a channel; all jobs submitted, due now, then the gate closed"
		default:
			gate = make(chan struct{})
			r.Release = "goroutines parked on a gate channel"
		}
		startCollector()
		for i := range c.n {
			st := &jobState{idx: uint32(i)}
			l.launch(st, gate, at)
		}
		// Wait until every job is set up.
		switch {
		case ours != nil && gate == nil:
			for ours.s.Stats().Waiting < c.n && time.Now().Before(at) {
				time.Sleep(time.Millisecond)
			}
		case ours != nil:
			waitOursReady(ours.s, c.n)
		case c.mode != "afterfunc":
			for parked.Load() < int64(c.n) && (at.IsZero() || time.Now().Before(at)) {
				time.Sleep(time.Millisecond)
			}
		}
		var ms1 runtime.MemStats
		runtime.ReadMemStats(&ms1)
		r.AllocsPerJob = float64(ms1.Mallocs-ms0.Mallocs) / float64(c.n)
		var t0 time.Time
		var cpu0 time.Duration
		if !at.IsZero() {
			if time.Now().After(at) {
				r.Release += " (setup overran T)"
			}
			time.Sleep(time.Until(at) - time.Millisecond)
			startProf()
			cpu0 = cpuTime()
			for time.Now().Before(at) {
			}
			t0 = at
		} else {
			startProf()
			cpu0 = cpuTime()
			t0 = time.Now()
			close(gate)
		}
		collectHandles()
		<-allDone
		wall := time.Since(t0)
		cpu := cpuTime() - cpu0
		stopProf()
		var ms2 runtime.MemStats
		runtime.ReadMemStats(&ms2)
		close(stopSampler)
		_, hwm := procStatus()
		r.WallS = wall.Seconds()
		r.Attempts = int64(c.n * (c.k + 1))
		r.AttemptsPerS = float64(r.Attempts) / wall.Seconds()
		r.CPUUsPerAtt = float64(cpu.Microseconds()) / float64(r.Attempts)
		r.AllocsPerAtt = float64(ms2.Mallocs-ms1.Mallocs) / float64(r.Attempts)
		if parked.Load() < int64(c.n) && ours == nil && c.mode != "afterfunc" {
			r.Release += " (setup overran T)"
		}
		r.PeakGor = max(int(peakGor.Load())-baseGor, 0)
		r.PeakRSSPerJ = float64(hwm-baseRSS) / float64(c.n)
		lateness(h.samples, &r)
	case "steady":
		startCollector()
		cpu0 := cpuTime()
		t0 := time.Now()
		if ours != nil && !ours.fanin {
			// Result in order, behind the generator.
			go func() {
				for i := 0; i < c.n; {
					if i < int(subCount.Load()) {
						_, err := ours.handles[i].Result(ctx)
						done(err)
						i++
					} else {
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}
		tk := time.NewTicker(time.Millisecond)
		sub := 0
		for sub < c.n {
			due := min(int(c.rate*time.Since(t0).Seconds()), c.n)
			for ; sub < due; sub++ {
				l.launch(&jobState{idx: uint32(sub)}, nil, time.Time{})
				if ours != nil && !ours.fanin {
					subCount.Store(int64(sub + 1))
				}
			}
			<-tk.C
		}
		tk.Stop()
		<-allDone
		wall := time.Since(t0)
		cpu := cpuTime() - cpu0
		var ms2 runtime.MemStats
		runtime.ReadMemStats(&ms2)
		close(stopSampler)
		r.RateJobsPerS = c.rate
		r.WallS = wall.Seconds()
		r.Attempts = int64(c.n * (c.k + 1))
		r.AttemptsPerS = float64(r.Attempts) / wall.Seconds()
		r.CPUUsPerAtt = float64(cpu.Microseconds()) / float64(r.Attempts)
		r.AllocsPerJob = float64(ms2.Mallocs-ms0.Mallocs) / float64(c.n)
		r.PeakGor = max(int(peakGor.Load())-baseGor, 0)
		lateness(h.samples, &r)
	case "hold":
		startCollector()
		startProf()
		t0 := time.Now()
		for i := range c.n {
			l.launch(&jobState{idx: uint32(i)}, nil, time.Time{})
		}
		tSub := time.Since(t0)
		for h.first.Load() < int64(c.n) {
			time.Sleep(100 * time.Microsecond)
		}
		if ours != nil {
			for ours.s.Stats().Waiting < c.n {
				time.Sleep(100 * time.Microsecond)
			}
		}
		tPend := time.Since(t0)
		stopCPU()
		close(stopSampler)
		if g := int64(runtime.NumGoroutine()); g > peakGor.Load() {
			peakGor.Store(g)
		}
		runtime.GC()
		runtime.GC()
		var ms1 runtime.MemStats
		runtime.ReadMemStats(&ms1)
		rss, hwm := procStatus()
		r.LiveBPerJob = (float64(ms1.HeapAlloc+ms1.StackInuse) - float64(ms0.HeapAlloc+ms0.StackInuse)) / float64(c.n)
		r.RSSBPerJob = float64(rss-baseRSS) / float64(c.n)
		r.PeakRSSPerJ = float64(hwm-baseRSS) / float64(c.n)
		r.SubmitPerS = float64(c.n) / tSub.Seconds()
		r.PendingPerS = float64(c.n) / tPend.Seconds()
		r.TimeToPendS = tPend.Seconds()
		r.AllocsPerJob = float64(ms1.Mallocs-ms0.Mallocs) / float64(c.n)
		r.PeakGor = max(int(peakGor.Load())-baseGor, 0)
		writeHeapProfile(c.memprof)
		r.Failed = int(failed.Load())
		runtime.KeepAlive(l) // the harness mode's jobs live in it
		// Print and leave: the pending jobs die with the process.
		return emit(r)
	default:
		return fmt.Errorf("unknown scenario %q", c.scenario)
	}
	if ours != nil {
		r.Failed += int(ours.errs.Load())
		cancel()
		ours.s.Close()
	}
	r.Failed += int(failed.Load())
	return emit(r)
}

var subCount atomic.Int64

func emit(r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// waitOursReady waits until every gated job has reached the ready queue (or
// a worker, where it blocks on the gate): Ready stops changing.
func waitOursReady(s *backoff.Scheduler, n int) {
	last, stable := -1, 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		st := s.Stats()
		if int(st.Submitted) == n && st.Ready == last {
			stable++
			if stable >= 5 {
				return
			}
		} else {
			stable = 0
		}
		last = st.Ready
		time.Sleep(time.Millisecond)
	}
}

func lateness(s []int64, r *Result) {
	if len(s) == 0 {
		return
	}
	slices.Sort(s)
	r.LatP50Ms = pct(s, 0.50)
	r.LatP99Ms = pct(s, 0.99)
	r.LatMaxMs = float64(s[len(s)-1]) / 1e6
}

// startCPUProfile profiles the CPU into file, if it is not empty, until
// the returned function is called.
func startCPUProfile(file string) (stop func()) {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// writeHeapProfile writes the heap profile into file, if it is not empty.
func writeHeapProfile(file string) {
	if file == "" {
		return
	}
	if f, err := os.Create(file); err == nil {
		_ = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
}
