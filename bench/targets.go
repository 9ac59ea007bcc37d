package main

import (
	"fmt"
	"strings"
)

// keyBytes is what each keyed job's key costs: its 8 bytes of text (the
// string header is in the library's side record).
const keyBytes = 8

// harnessAllocs is what the harness allocates per job in every mode: its
// 16-byte state and the op closure.
const harnessAllocs = 2

// limit is one mode's target value.
type limit struct {
	mode  string
	limit float64
}

// checks is a table of targets: one row each, met or not.
type checks struct{ b strings.Builder }

func (c *checks) section(title string) {
	fmt.Fprintf(&c.b, "| **%s** | | |\n", title)
}

func (c *checks) row(name, got string, ok bool) {
	mark := "❌"
	if ok {
		mark = "✅"
	}
	fmt.Fprintf(&c.b, "| %s | %s | %s |\n", name, got, mark)
}

// libBytes is the library's share of a mode's live bytes per job: less
// the harness's, and a keyed mode's key text.
func libBytes(mode string, live, harness float64) float64 {
	b := live - harness
	if strings.HasSuffix(mode, "-key") {
		b -= keyBytes
	}
	return b
}

// targets checks the medians against the targets of issues 3 and 11, at
// the largest N of each scenario.
func targets(results []Result) string {
	a := aggregate(results)
	largest := func(sc string) int {
		ns := sortedNs(results, sc)
		if len(ns) == 0 {
			return 0
		}
		return ns[len(ns)-1]
	}
	H, B, T := largest("hold"), largest("burst"), largest("timer")
	if H == 0 || B == 0 {
		return "(needs hold and burst runs)\n"
	}
	get := func(m, sc string, n int) (agg, bool) { r, ok := a[key{m, sc, n}]; return r, ok }
	hold := func(m string) agg { r, _ := get(m, "hold", H); return r }
	burst := func(m string) agg { r, _ := get(m, "burst", B); return r }
	var c checks
	fmt.Fprintf(&c.b, "Measured at N=%s (hold, burst, timer-released burst); reps as in the tables; ✅ met, ❌ not met. "+
		"Library bytes = live bytes − the harness's own per-job bytes (mode `harness`: %.0f B) − %d B of key text on keyed paths. "+
		"Allocations per retry in steady state are also measured by `BenchmarkAttempt` in the library module.\n\n",
		nName(H), hold("harness").LiveBPerJob, keyBytes)
	c.b.WriteString("| target | measured | |\n|---|---|---|\n")

	lib := func(m string) float64 { return libBytes(m, hold(m).LiveBPerJob, hold("harness").LiveBPerJob) }
	c.section("memory per pending job (hold)")
	for _, t := range []limit{{"ours-fanin", 104}, {"ours-fanin-key", 160}, {"ours-handle", 256}, {"ours-handle-key", 300}} {
		if _, ok := get(t.mode, "hold", H); !ok {
			continue
		}
		c.row(fmt.Sprintf("%s library B/job <= %.0f", t.mode, t.limit),
			fmt.Sprintf("%.0f B (raw live %.0f B, RSS %.0f B)", lib(t.mode), hold(t.mode).LiveBPerJob, hold(t.mode).RSSBPerJob), lib(t.mode) <= t.limit)
	}
	ck, af, fi := hold("cenkalti"), hold("afterfunc"), hold("ours-fanin")
	c.row("fan-in live B/job: >= 25x less than cenkalti", fmt.Sprintf("%.1fx (%.0f vs %.0f B)", ck.LiveBPerJob/fi.LiveBPerJob, fi.LiveBPerJob, ck.LiveBPerJob),
		ck.LiveBPerJob/fi.LiveBPerJob >= 25)
	c.row("fan-in live B/job: less than the AfterFunc chain", fmt.Sprintf("%.0f vs %.0f B", fi.LiveBPerJob, af.LiveBPerJob), fi.LiveBPerJob < af.LiveBPerJob)

	c.section("submissions, to all pending (hold)")
	for _, t := range []limit{{"ours-fanin", 2e6}, {"ours-fanin-key", 1e6}, {"ours-handle", 2e6}, {"ours-handle-key", 1e6}} {
		if _, ok := get(t.mode, "hold", H); !ok {
			continue
		}
		r := hold(t.mode)
		c.row(fmt.Sprintf("%s >= %s jobs/s", t.mode, si(t.limit)), fmt.Sprintf("%s/s (submit loop %s/s)", si(r.PendingPerS), si(r.SubmitPerS)), r.PendingPerS >= t.limit)
	}
	for _, p := range [][2]string{{"ours-fanin-key", "ours-fanin"}, {"ours-handle-key", "ours-handle"}} {
		k, plain := hold(p[0]), hold(p[1])
		if k.PendingPerS == 0 || plain.PendingPerS == 0 {
			continue
		}
		bytesRatio, rateRatio := lib(p[0])/lib(p[1]), plain.PendingPerS/k.PendingPerS
		c.row(fmt.Sprintf("%s within 1.3x of %s (library bytes; submission rate)", p[0], p[1]),
			fmt.Sprintf("%.2fx; %.2fx", bytesRatio, rateRatio), bytesRatio <= 1.3 && rateRatio <= 1.3)
	}

	bf, bc, bs := burst("ours-fanin"), burst("cenkalti"), burst("sleep")
	c.section(fmt.Sprintf("op-released burst, %s", nName(B)))
	c.row(">= 3M attempts/s", si(bf.AttemptsPerS), bf.AttemptsPerS >= 3e6)
	c.row(">= 4x cenkalti", fmt.Sprintf("%.2fx", bf.AttemptsPerS/bc.AttemptsPerS), bf.AttemptsPerS/bc.AttemptsPerS >= 4)
	c.row(">= 1.5x goroutine+Sleep", fmt.Sprintf("%.2fx", bf.AttemptsPerS/bs.AttemptsPerS), bf.AttemptsPerS/bs.AttemptsPerS >= 1.5)
	c.row("<= 0.5 CPU µs/attempt", fmt.Sprintf("%.2f µs", bf.CPUUsPerAtt), bf.CPUUsPerAtt <= 0.5)
	lowest := true
	var peers []string
	for _, m := range allModes[:5] {
		p := burst(m)
		peers = append(peers, fmt.Sprintf("%s %s", m, ms(p.LatP99Ms)))
		lowest = lowest && p.LatP99Ms > bf.LatP99Ms
	}
	c.row("p99 lateness <= 500 ms", fmt.Sprintf("%s ms", ms(bf.LatP99Ms)), bf.LatP99Ms <= 500)
	c.row("... and lower than every peer's", fmt.Sprintf("peers: %s ms", strings.Join(peers, ", ")), lowest)

	if T > 0 {
		tf, _ := get("ours-fanin", "timer", T)
		ts, _ := get("sleep", "timer", T)
		ob, _ := get("ours-fanin", "burst", T)
		c.section(fmt.Sprintf("timer-released burst, %s (ours-fanin; StartAt)", nName(T)))
		c.row(">= 80% of the op-released burst's attempts/s", fmt.Sprintf("%.0f%% (%s vs %s)", 100*tf.AttemptsPerS/ob.AttemptsPerS, si(tf.AttemptsPerS), si(ob.AttemptsPerS)),
			tf.AttemptsPerS >= 0.8*ob.AttemptsPerS)
		c.row("<= 1.25x its CPU µs/attempt", fmt.Sprintf("%.2fx (%.2f vs %.2f µs)", tf.CPUUsPerAtt/ob.CPUUsPerAtt, tf.CPUUsPerAtt, ob.CPUUsPerAtt),
			tf.CPUUsPerAtt <= 1.25*ob.CPUUsPerAtt)
		c.row(">= 1.3x goroutine+Sleep (stretch 2x)", fmt.Sprintf("%.2fx (sleep %s)", tf.AttemptsPerS/ts.AttemptsPerS, si(ts.AttemptsPerS)), tf.AttemptsPerS >= 1.3*ts.AttemptsPerS)
		c.row("p99 lateness, first attempts included, <= 1 s", fmt.Sprintf("%s ms", ms(tf.LatP99Ms)), tf.LatP99Ms <= 1000)
	}

	if ws := sortedNs(results, "io"); len(ws) > 0 {
		c.section("I/O-bound ops (20 ms, 3 tries, 50·W jobs)")
		for _, w := range ws {
			o, ok1 := get("ours-fanin", "io", w)
			p, ok2 := get("pool", "io", w)
			if !ok1 || !ok2 {
				continue
			}
			sched := schedCPU(o, p)
			c.row(fmt.Sprintf("W=%s: >= 90%% of the plain pool's attempts/s; scheduler CPU <= 1 µs/attempt", nName(w)),
				fmt.Sprintf("%.1f%% (%s vs %s); %.2f µs", 100*o.AttemptsPerS/p.AttemptsPerS, si(o.AttemptsPerS), si(p.AttemptsPerS), sched),
				o.AttemptsPerS >= 0.9*p.AttemptsPerS && sched <= 1)
		}
	}

	c.section(fmt.Sprintf("allocations over a job's life, harness excluded (burst %s: setup − %d (− 1 for a key's text) + attempts × after-release; keyed: one more, the side record)", nName(B), harnessAllocs))
	for _, t := range []limit{{"ours-fanin", 2}, {"ours-fanin-key", 3}, {"ours-handle", 3}, {"ours-handle-key", 4}} {
		r, ok := get(t.mode, "burst", B)
		if !ok {
			continue
		}
		life := r.AllocsPerJob - harnessAllocs + float64(r.K+1)*r.AllocsPerAtt
		if strings.HasSuffix(t.mode, "-key") {
			life-- // the key's text, made by the harness
		}
		c.row(fmt.Sprintf("%s <= %.0f", t.mode, t.limit), fmt.Sprintf("%.2f", life), life <= t.limit+0.05)
	}
	c.row("0 per retry (fan-in, every allocation after release per attempt: the results backlog's blocks included)", fmt.Sprintf("%.4f per attempt", bf.AllocsPerAtt), bf.AllocsPerAtt < 0.01)

	if sn := sortedNs(results, "steady"); len(sn) > 0 {
		st, _ := get("ours-fanin", "steady", sn[0])
		c.section("light load")
		c.row("steady p99 lateness <= 1.5 ms", fmt.Sprintf("%.2f ms", st.LatP99Ms), st.LatP99Ms <= 1.5)
	}
	c.b.WriteString(beforeAfter(results))
	return c.b.String()
}

// schedCPU is the scheduler's CPU per attempt in the io scenario: ours
// less the plain pool's, which ran the same ops.
func schedCPU(ours, pool agg) float64 { return ours.CPUUsPerAtt - pool.CPUUsPerAtt }

// beforeAfter compares the before-* modes (the -baseline commit's
// library, same run) with the working tree's, path by path.
func beforeAfter(results []Result) string {
	a := aggregate(results)
	var b strings.Builder
	for _, p := range [][2]string{{"before-fanin", "ours-fanin"}, {"before-handle", "ours-handle"}} {
		before, now := p[0], p[1]
		for _, sc := range []string{"burst", "timer", "hold", "steady"} {
			ns := sortedNs(results, sc)
			if len(ns) == 0 {
				continue
			}
			n := ns[len(ns)-1]
			was, ok1 := a[key{before, sc, n}]
			is, ok2 := a[key{now, sc, n}]
			if !ok1 || !ok2 {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("\nThe same paths on the library before this work (the before-* modes, same run):\n\n" +
					"| path | scenario, N | before | now |\n|---|---|---|---|\n")
			}
			var x, y string
			switch sc {
			case "hold":
				x = fmt.Sprintf("%.0f B live, %.2f s to all pending", was.LiveBPerJob, was.TimeToPendS)
				y = fmt.Sprintf("%.0f B live, %.2f s to all pending", is.LiveBPerJob, is.TimeToPendS)
			case "steady":
				x, y = fmt.Sprintf("p99 %s ms", ms(was.LatP99Ms)), fmt.Sprintf("p99 %s ms", ms(is.LatP99Ms))
			default:
				x = fmt.Sprintf("%s att/s, %.2f µs/att, p99 %s ms", si(was.AttemptsPerS), was.CPUUsPerAtt, ms(was.LatP99Ms))
				y = fmt.Sprintf("%s att/s, %.2f µs/att, p99 %s ms", si(is.AttemptsPerS), is.CPUUsPerAtt, ms(is.LatP99Ms))
			}
			fmt.Fprintf(&b, "| %s | %s, %s | %s | %s |\n", now, sc, nName(n), x, y)
		}
	}
	return b.String()
}
