package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

type key struct {
	mode, scenario string
	n              int
}

// agg is the median of each figure over the reps of one configuration.
type agg struct {
	Result
	reps    int
	wallPM  float64 // half the min-max range of wall, % of the median
	p99PM   float64
	overran bool // some rep's setup ended after its release instant
}

func median(rs []Result, f func(Result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func spread(rs []Result, f func(Result) float64) float64 {
	m := median(rs, f)
	if m == 0 || len(rs) < 2 {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rs {
		lo, hi = min(lo, f(r)), max(hi, f(r))
	}
	return (hi - lo) / 2 / m * 100
}

func aggregate(results []Result) map[key]agg {
	groups := map[key][]Result{}
	for _, r := range results {
		k := key{r.Mode, r.Scenario, r.N}
		groups[k] = append(groups[k], r)
	}
	out := map[key]agg{}
	for k, rs := range groups {
		a := agg{Result: rs[0], reps: len(rs)}
		m := func(f func(Result) float64) float64 { return median(rs, f) }
		a.WallS = m(func(r Result) float64 { return r.WallS })
		a.AttemptsPerS = m(func(r Result) float64 { return r.AttemptsPerS })
		a.CPUUsPerAtt = m(func(r Result) float64 { return r.CPUUsPerAtt })
		a.PeakGor = int(m(func(r Result) float64 { return float64(r.PeakGor) }))
		a.PeakRSSPerJ = m(func(r Result) float64 { return r.PeakRSSPerJ })
		a.LatP50Ms = m(func(r Result) float64 { return r.LatP50Ms })
		a.LatP99Ms = m(func(r Result) float64 { return r.LatP99Ms })
		a.LatMaxMs = m(func(r Result) float64 { return r.LatMaxMs })
		a.AllocsPerJob = m(func(r Result) float64 { return r.AllocsPerJob })
		a.AllocsPerAtt = m(func(r Result) float64 { return r.AllocsPerAtt })
		a.LiveBPerJob = m(func(r Result) float64 { return r.LiveBPerJob })
		a.RSSBPerJob = m(func(r Result) float64 { return r.RSSBPerJob })
		a.SubmitPerS = m(func(r Result) float64 { return r.SubmitPerS })
		a.PendingPerS = m(func(r Result) float64 { return r.PendingPerS })
		a.TimeToPendS = m(func(r Result) float64 { return r.TimeToPendS })
		a.wallPM = spread(rs, func(r Result) float64 { return r.WallS })
		a.p99PM = spread(rs, func(r Result) float64 { return r.LatP99Ms })
		for _, r := range rs {
			a.Failed = max(a.Failed, r.Failed)
			a.overran = a.overran || strings.Contains(r.Release, "overran")
		}
		out[k] = a
	}
	return out
}

func sortedNs(results []Result, scenario string) []int {
	var ns []int
	for _, r := range results {
		if r.Scenario == scenario && !slices.Contains(ns, r.N) {
			ns = append(ns, r.N)
		}
	}
	slices.Sort(ns)
	return ns
}

func nName(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

type table struct {
	title string
	head  []string
	rows  [][]string
}

func buildTables(results []Result) []table {
	a := aggregate(results)
	var ts []table
	for _, sc := range []struct{ name, title string }{
		{"burst", "burst: N jobs released at one instant through their op"},
		{"timer", "timer-released burst: N jobs whose first attempt falls due at one instant T (lateness includes first attempts)"},
	} {
		ns := sortedNs(results, sc.name)
		if len(ns) == 0 {
			continue
		}
		t := table{title: sc.title, head: []string{"mode", "N", "reps", "wall s (±)", "attempts/s",
			"CPU µs/att", "peak goroutines", "peak RSS B/job", "lateness ms p50 / p99 / max", "allocs/job (setup)", "allocs/attempt (run)"}}
		for _, n := range ns {
			for _, m := range allModes {
				r, ok := a[key{m, sc.name, n}]
				if !ok {
					continue
				}
				name := m
				if r.overran {
					name += " (setup overran T)"
				}
				t.rows = append(t.rows, []string{name, nName(n), fmt.Sprint(r.reps), fmt.Sprintf("%.3f (±%.0f%%)", r.WallS, r.wallPM),
					si(r.AttemptsPerS), fmt.Sprintf("%.2f", r.CPUUsPerAtt), gor(r), fmt.Sprintf("%.0f", r.PeakRSSPerJ),
					fmt.Sprintf("%s / %s / %s", ms(r.LatP50Ms), ms(r.LatP99Ms), ms(r.LatMaxMs)),
					fmt.Sprintf("%.1f", r.AllocsPerJob), fmt.Sprintf("%.2f", r.AllocsPerAtt)})
			}
		}
		ts = append(ts, t)
	}
	if ns := sortedNs(results, "hold"); len(ns) > 0 {
		t := table{title: "hold: N jobs pending on a long wait after their first failed attempt", head: []string{"mode", "N", "reps",
			"live B/job (heap+stack)", "library B/job", "RSS B/job", "submit calls/s", "N pending in s (jobs/s)", "allocs/job", "goroutines"}}
		for _, n := range ns {
			for _, m := range allModes {
				r, ok := a[key{m, "hold", n}]
				if !ok {
					continue
				}
				libB := "–"
				if h, ok := a[key{"harness", "hold", n}]; ok && (strings.HasPrefix(m, "ours") || baselineModes[m] != "") {
					libB = fmt.Sprintf("%.0f", libBytes(m, r.LiveBPerJob, h.LiveBPerJob))
				}
				t.rows = append(t.rows, []string{m, nName(n), fmt.Sprint(r.reps), fmt.Sprintf("%.0f", r.LiveBPerJob), libB, fmt.Sprintf("%.0f", r.RSSBPerJob),
					si(r.SubmitPerS), fmt.Sprintf("%.3f (%s)", r.TimeToPendS, si(r.PendingPerS)), fmt.Sprintf("%.1f", r.AllocsPerJob), gor(r)})
			}
		}
		ts = append(ts, t)
	}
	if ns := sortedNs(results, "steady"); len(ns) > 0 {
		t := table{title: "steady: jobs arriving at a fixed rate (light load)", head: []string{"mode", "jobs", "rate/s", "reps",
			"lateness ms p50 / p99 / max", "p99 ±", "CPU µs/att", "allocs/job (all attempts)"}}
		for _, n := range ns {
			for _, m := range allModes {
				r, ok := a[key{m, "steady", n}]
				if !ok {
					continue
				}
				t.rows = append(t.rows, []string{m, nName(n), si(r.RateJobsPerS), fmt.Sprint(r.reps),
					fmt.Sprintf("%s / %s / %s", ms(r.LatP50Ms), ms(r.LatP99Ms), ms(r.LatMaxMs)), fmt.Sprintf("±%.0f%%", r.p99PM),
					fmt.Sprintf("%.2f", r.CPUUsPerAtt), fmt.Sprintf("%.1f", r.AllocsPerJob)})
			}
		}
		ts = append(ts, t)
	}
	if ws := sortedNs(results, "io"); len(ws) > 0 {
		t := table{title: fmt.Sprintf("io: ops of %v, %d tries with no wait, 50·W jobs (at most 200k) on W workers", ioOp, ioTries), head: []string{"mode", "W", "jobs", "reps",
			"attempts/s", "of W/20ms", "of pool", "CPU µs/att", "scheduler CPU µs/att", "wait for a worker ms p50 / p99 / max", "peak goroutines", "peak RSS B/worker"}}
		for _, w := range ws {
			pool, hasPool := a[key{"pool", "io", w}]
			for _, m := range ioModes {
				r, ok := a[key{m, "io", w}]
				if !ok {
					continue
				}
				ofPool, sched := "–", "–"
				if hasPool {
					ofPool = fmt.Sprintf("%.1f%%", 100*r.AttemptsPerS/pool.AttemptsPerS)
					if m == "ours-fanin" {
						sched = fmt.Sprintf("%.2f", schedCPU(r, pool))
					}
				}
				ideal := float64(w) / ioOp.Seconds()
				t.rows = append(t.rows, []string{m, nName(w), nName(ioJobs(w)), fmt.Sprint(r.reps), si(r.AttemptsPerS),
					fmt.Sprintf("%.1f%%", 100*r.AttemptsPerS/ideal), ofPool, fmt.Sprintf("%.2f", r.CPUUsPerAtt), sched,
					fmt.Sprintf("%s / %s / %s", ms(r.LatP50Ms), ms(r.LatP99Ms), ms(r.LatMaxMs)), fmt.Sprint(r.PeakGor), fmt.Sprintf("%.0f", r.PeakRSSPerJ)})
			}
		}
		ts = append(ts, t)
	}
	return ts
}

func gor(r agg) string {
	if strings.HasPrefix(r.Mode, "ours") || baselineModes[r.Mode] != "" {
		return fmt.Sprintf("%d (+%d fixed)", r.PeakGor, r.FixedGor)
	}
	return fmt.Sprint(r.PeakGor)
}

func tablesText(results []Result) string {
	var b strings.Builder
	for _, t := range buildTables(results) {
		fmt.Fprintf(&b, "\n== %s\n", t.title)
		w := make([]int, len(t.head))
		for i, h := range t.head {
			w[i] = len([]rune(h))
		}
		for _, r := range t.rows {
			for i, c := range r {
				w[i] = max(w[i], len([]rune(c)))
			}
		}
		line := func(cells []string) {
			for i, c := range cells {
				fmt.Fprintf(&b, "%s%s  ", c, strings.Repeat(" ", w[i]-len([]rune(c))))
			}
			b.WriteString("\n")
		}
		line(t.head)
		for _, r := range t.rows {
			line(r)
		}
	}
	return b.String()
}

func tablesMarkdown(results []Result) string {
	var b strings.Builder
	for _, t := range buildTables(results) {
		fmt.Fprintf(&b, "\n### %s\n\n| %s |\n|%s\n", t.title, strings.Join(t.head, " | "), strings.Repeat("---|", len(t.head)))
		for _, r := range t.rows {
			fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
		}
	}
	return b.String()
}

// chart draws one line per mode of f against N for a scenario, plus the
// line ref if it is not nil (a bound the modes are measured against).
func chart(results []Result, scenario, title, ylabel, file string, f func(agg) float64, ref *refLine) error {
	a := aggregate(results)
	modes, xlabel := allModes, "N (jobs)"
	if scenario == "io" {
		modes, xlabel = ioModes, "W (workers)"
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{}, ticks125{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	ns := sortedNs(results, scenario)
	ymax := 0.0
	if ref != nil && len(ns) > 0 {
		var xys plotter.XYs
		for _, n := range ns {
			xys = append(xys, plotter.XY{X: float64(n), Y: ref.f(n)})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color, l.Dashes = color.Gray{0x99}, []vg.Length{vg.Points(1), vg.Points(2)}
		p.Add(l)
		p.Legend.Add(ref.name, l)
		ymax = slices.Max([]float64{ymax, xys[len(xys)-1].Y, xys[0].Y})
	}
	for i, m := range modes {
		var xys plotter.XYs
		for _, n := range ns {
			if r, ok := a[key{m, scenario, n}]; ok && f(r) > 0 {
				xys = append(xys, plotter.XY{X: float64(n), Y: f(r)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		c := palette[i%len(palette)]
		l.Color, pts.Color = c, c
		pts.Shape = draw.CircleGlyph{}
		if strings.HasPrefix(m, "ours") {
			l.Width = vg.Points(2.5)
		} else {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l, pts)
		p.Legend.Add(m, l, pts)
		for _, xy := range xys {
			ymax = max(ymax, xy.Y)
		}
	}
	// Head room above the highest line for the legend (log scale).
	p.Y.Max = ymax * 10
	return p.Save(7*vg.Inch, 4.5*vg.Inch, file)
}

// refLine is a reference drawn beside the modes: f of N.
type refLine struct {
	name string
	f    func(n int) float64
}

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff},
	color.RGBA{0x00, 0x00, 0x00, 0xff},
}

// report runs the full matrix and the profiles, then renders.
func report(o options) error {
	started, loadBefore := time.Now(), loadAverage()
	runs := plan(o, func(n int) int {
		if n >= 1000000 {
			return o.reps1M
		}
		return o.reps
	})
	fmt.Fprintf(os.Stderr, "report: %d runs\n", len(runs))
	results, err := runPlan(o, runs)
	if err != nil {
		return err
	}
	if err := writeJSONL(filepath.Join(o.dir, "results.jsonl"), results); err != nil {
		return err
	}
	// Profiles of ours-fanin at the largest N.
	pdir := filepath.Join(o.dir, "profiles")
	_ = os.MkdirAll(pdir, 0o755)
	exe, _ := os.Executable()
	maxN, maxW := slices.Max(o.ns), slices.Max(o.ioWorkers)
	prof := func(mode, sc string, n int, cpu, mem bool) run {
		r := run{mode: mode, scenario: sc, n: n}
		if cpu {
			r.cpuprof = filepath.Join(pdir, mode+"-"+sc+".cpu.prof")
		}
		if mem {
			r.memprof = filepath.Join(pdir, mode+"-"+sc+".heap.prof")
		}
		return r
	}
	profs := []run{
		prof("ours-fanin", "burst", maxN, true, true),
		prof("ours-fanin", "timer", maxN, true, false),
		prof("ours-fanin", "hold", maxN, false, true),
		prof("ours-fanin-key", "hold", maxN, true, true),
		prof("ours-handle", "hold", maxN, false, true),
		prof("ours-fanin", "io", maxW, true, false),
	}
	var top strings.Builder
	for _, rn := range profs {
		r, err := runOne(exe, o, rn)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "profile run %s %s N=%d: %s\n", rn.mode, rn.scenario, rn.n, summary(r))
		fmt.Fprintf(&top, "\n#### %s %s, N=%s (profiled run: %s)\n", rn.mode, rn.scenario, nName(rn.n), summary(r))
		if rn.cpuprof != "" {
			top.WriteString(pprofTop(exe, rn.cpuprof, "CPU, flat", "-top"))
			top.WriteString(pprofTop(exe, rn.cpuprof, "CPU, cumulative", "-top", "-cum"))
		}
		switch {
		case rn.memprof == "":
		case rn.scenario == "burst":
			top.WriteString(pprofTop(exe, rn.memprof, "heap, alloc_space (what the burst allocates)", "-top", "-sample_index=alloc_space"))
		default:
			top.WriteString(pprofTop(exe, rn.memprof, "heap, inuse_space (what a pending job keeps)", "-top", "-sample_index=inuse_space"))
		}
	}
	if err := os.WriteFile(filepath.Join(o.dir, "profiles", "pprof-top.md"), []byte(top.String()), 0o644); err != nil {
		return err
	}
	o.render = true
	meta := fmt.Sprintf("Generated by `go run . -report` in %s on %s, %s, GOMAXPROCS=%d, %d CPUs; load average (1 min) %s at the start, %s at the end.",
		time.Since(started).Round(time.Second), time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(),
		loadBefore, loadAverage())
	if err := os.WriteFile(filepath.Join(o.dir, "profiles", "meta.txt"), []byte(meta), 0o644); err != nil {
		return err
	}
	return render(o)
}

func pprofTop(exe, file, title string, args ...string) string {
	cmdArgs := append([]string{"tool", "pprof", "-nodecount=22"}, args...)
	cmdArgs = append(cmdArgs, exe, file)
	out, err := exec.Command("go", cmdArgs...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("\n(pprof %s failed: %v)\n", title, err)
	}
	return fmt.Sprintf("\n%s (`go tool pprof %s`):\n\n```\n%s```\n", title, strings.Join(args, " "), out)
}

func writeJSONL(file string, rs []Result) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// A bufio.Writer keeps its first error: Flush reports it.
	w := bufio.NewWriter(f)
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, _ = w.Write(b)
		_ = w.WriteByte('\n')
	}
	return w.Flush()
}

func readJSONL(file string) ([]Result, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, sc.Err()
}

// render writes RESULTS.md and the charts from results.jsonl, the profile
// text and analysis.md (the hand-written account of the profiles).
func render(o options) error {
	results, err := readJSONL(filepath.Join(o.dir, "results.jsonl"))
	if err != nil {
		return err
	}
	if err := chart(results, "hold", "Bytes per pending job (hold, live heap+stack after GC)", "B/job", filepath.Join(o.dir, "bytes_per_job.svg"),
		func(r agg) float64 { return r.LiveBPerJob }, nil); err != nil {
		return err
	}
	if err := chart(results, "hold", "Bytes per pending job (hold, RSS)", "B/job", filepath.Join(o.dir, "rss_per_job.svg"),
		func(r agg) float64 { return r.RSSBPerJob }, nil); err != nil {
		return err
	}
	if err := chart(results, "burst", "Attempts per second (burst, all jobs released at once)", "attempts/s", filepath.Join(o.dir, "attempts_per_s.svg"),
		func(r agg) float64 { return r.AttemptsPerS }, nil); err != nil {
		return err
	}
	if err := chart(results, "timer", "Attempts per second (timer-released burst, first attempts due at one instant)", "attempts/s",
		filepath.Join(o.dir, "timer_attempts_per_s.svg"), func(r agg) float64 { return r.AttemptsPerS }, nil); err != nil {
		return err
	}
	ideal := &refLine{name: "W / 20 ms", f: func(w int) float64 { return float64(w) / ioOp.Seconds() }}
	if err := chart(results, "io", "Attempts per second (I/O-bound ops of 20 ms)", "attempts/s",
		filepath.Join(o.dir, "io_attempts_per_s.svg"), func(r agg) float64 { return r.AttemptsPerS }, ideal); err != nil {
		return err
	}
	readOr := func(f, def string) string {
		b, err := os.ReadFile(filepath.Join(o.dir, f))
		if err != nil {
			return def
		}
		return string(b)
	}
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n<!-- Generated by `go run . -report` (or `go run . -render` from results.jsonl); edit analysis.md, not this file. -->\n\n")
	b.WriteString(readOr("profiles/meta.txt", "") + "\n\n")
	b.WriteString(whatRan(results))
	b.WriteString("\n## Targets (issues 3 and 11)\n\n")
	b.WriteString(targets(results))
	b.WriteString("\n## Charts\n\n![bytes per pending job](bytes_per_job.svg)\n\n![RSS per pending job](rss_per_job.svg)\n\n![attempts per second](attempts_per_s.svg)\n\n![timer-released burst](timer_attempts_per_s.svg)\n\n![I/O-bound attempts per second](io_attempts_per_s.svg)\n")
	b.WriteString("\n## Tables (medians over reps)\n")
	b.WriteString(tablesMarkdown(results))
	// The durable backend's figures, written by riverbackoff's durablebench.
	if d := readOr("durable.md", ""); d != "" {
		b.WriteString("\n" + d)
	}
	b.WriteString("\n## Where time and memory go\n\n")
	b.WriteString(readOr("analysis.md", "(analysis.md missing)\n"))
	b.WriteString("\n### Profile output\n")
	b.WriteString(readOr("profiles/pprof-top.md", "(no profiles: run `go run . -report`)\n"))
	return os.WriteFile(filepath.Join(o.dir, "RESULTS.md"), []byte(b.String()), 0o644)
}

func whatRan(results []Result) string {
	counts := map[string]map[int]int{}
	for _, r := range results {
		if counts[r.Scenario] == nil {
			counts[r.Scenario] = map[int]int{}
		}
		counts[r.Scenario][r.N]++
	}
	var b strings.Builder
	b.WriteString("## What was run\n\n")
	var k, waitMs float64
	if len(results) > 0 {
		k, waitMs = float64(results[0].K), results[0].WaitMs
	}
	fmt.Fprintf(&b, "Every mode runs the same job: an op closing over 16 B of state that fails K=%.0f times, then succeeds (%.0f attempts per job), "+
		"a constant %.0f ms wait with no jitter, and one shared cancellable context. Ours uses one prebuilt policy "+
		"`NewPolicy[struct{}](Constant{Interval: wait}, NoJitter, MaxTries(K+1))` and the library's default worker count. "+
		"Each (mode, scenario, N, rep) ran in its own process; reps are interleaved.\n\n", k, k+1, waitMs)
	for _, sc := range allScenarios {
		ns := sortedNs(results, sc)
		var parts []string
		for _, n := range ns {
			parts = append(parts, fmt.Sprintf("N=%s × %d runs", nName(n), counts[sc][n]))
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, "- **%s**: %s (runs = modes × reps).\n", sc, strings.Join(parts, ", "))
		}
	}
	b.WriteString(`
- **burst** release: goroutine modes park on a gate channel; the AfterFunc chain arms every first attempt for one instant T;
  ours submits every job with an op whose first attempt waits on a gate channel (so all N are due at once, the workers block on
  the gate and the rest sit in the ready queue), then closes the gate. Wall = release → last terminal result seen by the harness;
  attempts/s = (K+1)·N / wall; CPU from getrusage over the same span; peak goroutines sampled every 10 ms, above the pre-run
  baseline (ours: its owner and workers exist before the baseline and are shown as "fixed", which counts every goroutine of the process);
  peak RSS = (VmHWM − baseline VmRSS) / N. Allocs/job counts mallocs during setup (submission), allocs/attempt those after release.
- **hold**: N jobs submitted as fast as possible; the first attempt fails, the next is 60 s away. Once every first attempt ran
  (and, for ours, Stats().Waiting == N): GC twice, then (HeapAlloc+StackInuse − baseline)/N and (VmRSS − baseline)/N.
  "submit calls/s" is N / time of the submission loop; "N pending in s" runs until every job is waiting. The AfterFunc chain
  runs its first attempt inline in the submitting goroutine.
- **timer** (timer-released burst): every job's first attempt falls due at one instant T, 500 ms + 12 µs per job after the
  submissions start (goroutine modes: 20 µs per job, since 1M goroutines that sleep take about 10 s to set up here; a run
  whose setup took longer is marked): goroutine modes sleep until T, the AfterFunc chain arms a timer for T, ours submits with
  ` + "`StartAt(T)`" + ` (the before-* modes, whose library has no StartAt, with ` + "`InitialDelay(time.Until(T))`" + `), so the scheduler's
  timer structure releases them. Wall = T → last terminal result; lateness includes each first attempt (start − T).
- **steady**: jobs arrive at a fixed rate (a 1 ms ticker submits the jobs due so far).
- **io**: ops that take real time. Each op sleeps 20 ms and fails twice, then succeeds (3 tries, ` + "`NoWait`" + ` between them);
  50·W jobs (at most 200k) are all submitted at once to W workers, so the best possible is W / 20 ms attempts/s. Modes:
  ` + "`pool`" + `, W goroutines taking jobs from a channel and running each job's tries back to back (the baseline: no scheduler);
  ` + "`sem`" + `, a goroutine per job, W at a time through a semaphore; ` + "`unbounded`" + `, a goroutine per job with no limit (not bounded by
  W: for reference); ` + "`ours-fanin`" + `, a Scheduler with ` + "`Workers(W)`" + `. Scheduler CPU = (ours − pool) CPU µs per attempt;
  lateness here is the wait for a worker (start − when the attempt was due); peak RSS is per worker.
- **modes**: ` + "`ours-fanin`" + ` is ` + "`SubmitTo`" + ` with one results channel, ` + "`ours-handle`" + ` is ` + "`Submit`" + ` (a Handle per job); ` + "`-key`" + ` adds
  ` + "`Key`" + ` of 8 hex digits per job, ` + "`-sub`" + ` adds ` + "`Subscribe()`" + `. ` + "`harness`" + ` submits nothing and keeps only what every mode's
  job has of the harness (its state and op closure): its live bytes are subtracted to give the library's. ` + "`before-*`" + `: the same
  modes built against the library of the -baseline commit, run in the same run.
- **lateness** = start of attempt k+1 − (end of attempt k + wait), taken inside the op for every retry (K·N samples, exact
  percentiles; samples live off-heap in a pre-touched mmap, part of the baseline).
`)
	return b.String()
}

// ticks125 labels a log axis at 1, 2 and 5 times each power of ten.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			ts = append(ts, plot.Tick{Value: v, Label: si(v)})
		}
	}
	return ts
}
