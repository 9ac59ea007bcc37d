// Command bench measures the backoff scheduler against the Go retry
// alternatives: cenkalti/backoff/v5, avast/retry-go/v4, a goroutine with a
// time.Timer, a goroutine with time.Sleep, a time.AfterFunc chain, and the
// scheduler itself with a Handle per job and with fan-in.
//
// Every (mode, scenario, N, rep) runs in its own child process (this
// binary, re-executed with -child) so that its peak RSS is its own.
//
//	go run .                 # all modes, scenarios and N, table on stdout
//	go run . -quick          # N=2000, one rep: checks that the bench runs
//	go run . -report         # regenerates RESULTS.md and the SVG charts
//	go run . -json -mode ours-fanin -scenario burst -n 1000000
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

type options struct {
	k, workers, reps, reps1M, steadyN int
	wait, holdWait, timeout           time.Duration
	rate                              float64
	modes, scenarios                  []string
	ns, ioWorkers                     []int
	json, quick, report, render       bool
	dir                               string
	baseline                          string // a git revision: its library runs as the before-* modes
	baselineExe                       string
}

func main() {
	var (
		o                    options
		modes, scenarios, ns string
		ioWorkers            string
		child                bool
		cpuprof, memprof     string
		childMode, childScen string
		childN               int
	)
	flag.IntVar(&o.k, "k", 3, "failures before success (K+1 attempts per job)")
	flag.DurationVar(&o.wait, "wait", 10*time.Millisecond, "constant wait between attempts (burst, steady)")
	flag.DurationVar(&o.holdWait, "hold-wait", 60*time.Second, "wait after the first failure in the hold scenario")
	flag.StringVar(&ns, "n", "10000,100000,1000000", "comma-separated job counts (burst, hold)")
	flag.IntVar(&o.workers, "workers", 0, "scheduler workers for ours (0: library default)")
	flag.StringVar(&modes, "mode", "all", "comma-separated modes: "+strings.Join(allModes, ","))
	flag.StringVar(&scenarios, "scenario", strings.Join(allScenarios, ","), "comma-separated scenarios")
	flag.StringVar(&ioWorkers, "io-workers", "64,1024,4096,16384", "io: comma-separated worker counts (N of the io scenario)")
	flag.BoolVar(&o.json, "json", false, "print every run as a JSON line on stdout")
	flag.BoolVar(&o.quick, "quick", false, "N=2000, one rep, all modes and scenarios (CI smoke run)")
	flag.IntVar(&o.reps, "reps", 3, "repetitions per configuration (medians are reported)")
	flag.IntVar(&o.reps1M, "reps-1m", 3, "with -report: repetitions at N >= 1M")
	flag.Float64Var(&o.rate, "rate", 25000, "steady: arrivals per second")
	flag.IntVar(&o.steadyN, "steady-n", 50000, "steady: jobs in all (50000 at 25000/s is 2 s)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "limit per child process")
	flag.BoolVar(&o.report, "report", false, "run the full matrix and profiles, write RESULTS.md, results.jsonl and charts")
	flag.BoolVar(&o.render, "render", false, "rewrite RESULTS.md and charts from results.jsonl without running")
	flag.StringVar(&o.dir, "dir", ".", "where -report writes (the bench directory)")
	flag.StringVar(&o.baseline, "baseline", "", "a git revision: also run the library as it was there (modes before-fanin, before-handle)")
	flag.BoolVar(&child, "child", false, "internal: run one configuration")
	flag.StringVar(&childMode, "child-mode", "", "internal")
	flag.StringVar(&childScen, "child-scenario", "", "internal")
	flag.IntVar(&childN, "child-n", 0, "internal")
	flag.StringVar(&cpuprof, "cpuprofile", "", "child: write a CPU profile of the measured phase")
	flag.StringVar(&memprof, "memprofile", "", "child: write a heap profile at the end of the measured phase")
	flag.Parse()

	if child {
		err := runChild(childCfg{mode: childMode, scenario: childScen, n: childN, k: o.k, workers: o.workers,
			wait: o.wait, rate: o.rate, holdWait: o.holdWait, cpuprof: cpuprof, memprof: memprof})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}

	o.modes = splitList(modes, append(slices.Clone(allModes), ioModes[:3]...))
	if o.baseline == "" {
		o.modes = slices.DeleteFunc(o.modes, func(m string) bool { return baselineModes[m] != "" })
	} else {
		exe, cleanup, err := buildBaseline(o.baseline)
		if err != nil {
			fatal(err)
		}
		defer cleanup()
		o.baselineExe = exe
	}
	o.scenarios = splitList(scenarios, allScenarios)
	o.ns, o.ioWorkers = parseNs(ns), parseNs(ioWorkers)
	if o.quick {
		o.ns, o.ioWorkers, o.reps, o.steadyN = []int{2000}, []int{64}, 1, 2000
		o.scenarios = allScenarios
		o.timeout = time.Minute
	}
	if o.render {
		if err := render(o); err != nil {
			fatal(err)
		}
		return
	}
	if o.report {
		if err := report(o); err != nil {
			fatal(err)
		}
		return
	}
	fmt.Printf("load average at the start: %s\n", loadAverage())
	results, err := runPlan(o, plan(o, func(int) int { return o.reps }))
	if err != nil {
		fatal(err)
	}
	fmt.Printf("load average at the end: %s\n", loadAverage())
	fmt.Print(tablesText(results))
	for _, r := range results {
		if r.Failed > 0 {
			fatal(fmt.Errorf("%s %s N=%d: %d jobs did not succeed", r.Mode, r.Scenario, r.N, r.Failed))
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func splitList(s string, all []string) []string {
	if s == "all" || s == "" {
		return all
	}
	return strings.Split(s, ",")
}

// allScenarios are the scenarios, in table order.
var allScenarios = []string{"burst", "timer", "hold", "steady", "io"}

func parseNs(list string) []int {
	var ns []int
	for _, s := range strings.Split(list, ",") {
		n, err := parseN(s)
		if err != nil {
			fatal(err)
		}
		ns = append(ns, n)
	}
	return ns
}

func parseN(s string) (int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1000, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1000000, strings.TrimSuffix(s, "m")
	}
	n, err := strconv.Atoi(s)
	return n * mult, err
}

type run struct {
	mode, scenario string
	n, rep         int
	cpuprof        string
	memprof        string
}

// plan lists the runs, reps interleaved (rep is the outer loop) so that
// drift in the machine spreads over every mode.
func plan(o options, reps func(n int) int) []run {
	var runs []run
	maxReps := o.reps
	for _, n := range o.ns {
		maxReps = max(maxReps, reps(n))
	}
	for rep := range maxReps {
		for _, sc := range o.scenarios {
			ns := o.ns
			switch sc {
			case "steady":
				ns = []int{o.steadyN}
			case "io":
				ns = o.ioWorkers
			}
			for _, n := range ns {
				limit := o.reps // steady and io
				if sc == "burst" || sc == "timer" || sc == "hold" {
					limit = reps(n)
				}
				if rep >= limit {
					continue
				}
				for _, m := range o.modes {
					if applies(m, sc) {
						runs = append(runs, run{mode: m, scenario: sc, n: n, rep: rep})
					}
				}
			}
		}
	}
	return runs
}

func runPlan(o options, runs []run) ([]Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var out []Result
	start := time.Now()
	var partial *os.File
	if o.report {
		// Kept as the runs go, in case the report is interrupted.
		partial, _ = os.Create(filepath.Join(o.dir, "results.partial.jsonl"))
		defer partial.Close()
	}
	for i, rn := range runs {
		r, err := runOne(exe, o, rn)
		if err != nil {
			return out, fmt.Errorf("%s %s N=%d rep %d: %w", rn.mode, rn.scenario, rn.n, rn.rep+1, err)
		}
		out = append(out, r)
		fmt.Fprintf(os.Stderr, "[%3d/%d %6.1fs] %-11s %-6s N=%-7d rep %d  %s\n", i+1, len(runs),
			time.Since(start).Seconds(), rn.mode, rn.scenario, rn.n, rn.rep+1, summary(r))
		b, _ := json.Marshal(r)
		if o.json {
			fmt.Println(string(b))
		}
		if partial != nil {
			if _, err := partial.Write(append(b, '\n')); err != nil {
				return out, fmt.Errorf("keeping the partial results: %w", err)
			}
		}
	}
	return out, nil
}

func runOne(exe string, o options, rn run) (Result, error) {
	mode := rn.mode
	if m := baselineModes[mode]; m != "" {
		exe, mode = o.baselineExe, m
	}
	args := []string{"-child", "-child-mode", mode, "-child-scenario", rn.scenario, "-child-n", strconv.Itoa(rn.n),
		"-k", strconv.Itoa(o.k), "-wait", o.wait.String(), "-hold-wait", o.holdWait.String(),
		"-workers", strconv.Itoa(o.workers), "-rate", strconv.FormatFloat(o.rate, 'f', -1, 64)}
	if rn.cpuprof != "" {
		args = append(args, "-cpuprofile", rn.cpuprof)
	}
	if rn.memprof != "" {
		args = append(args, "-memprofile", rn.memprof)
	}
	cmd := exec.Command(exe, args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(runtime.GOMAXPROCS(0)))
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	timer := time.AfterFunc(o.timeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	if err != nil {
		return Result{}, fmt.Errorf("child: %w", err)
	}
	var r Result
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); err != nil {
		return Result{}, fmt.Errorf("child output %q: %w", stdout.String(), err)
	}
	r.Mode, r.Rep = rn.mode, rn.rep+1
	return r, nil
}

func summary(r Result) string {
	switch r.Scenario {
	case "hold":
		return fmt.Sprintf("live %.0f B/job, RSS %.0f B/job, %s pending/s", r.LiveBPerJob, r.RSSBPerJob, si(r.PendingPerS))
	default:
		return fmt.Sprintf("wall %.3fs, %s att/s, %.2f CPU µs/att, p99 %.2f ms", r.WallS, si(r.AttemptsPerS), r.CPUUsPerAtt, r.LatP99Ms)
	}
}

func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
