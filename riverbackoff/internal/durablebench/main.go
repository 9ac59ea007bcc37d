// Command durablebench measures how many jobs and attempts per second
// River works through riverbackoff's Worker on this machine, beside a
// plain River worker doing the same, and writes the figures as a Markdown
// section (bench/durable.md, which bench's report includes in RESULTS.md).
//
//	cd riverbackoff && go run ./internal/durablebench -out ../bench/durable.md
//
// It needs a PostgreSQL server: RIVERBACKOFF_DATABASE_URL, which .ci/run
// sets. Every run gets a fresh schema, dropped afterwards.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

// options says what to run.
type options struct {
	url     string
	jobs    int // jobs per throughput run
	serial  int // attempts of the one job of the latency run
	reps    int
	configs []riverConfig
}

// riverConfig is the River client setting that a run uses.
type riverConfig struct {
	name          string
	fetchCooldown time.Duration
	fetchPoll     time.Duration
	maxWorkers    int
	scale         int // jobs per throughput run: -jobs times scale, so that a run lasts seconds
}

var (
	defaults = riverConfig{"River defaults", 100 * time.Millisecond, time.Second, 100, 1}
	tuned    = riverConfig{"tuned", 5 * time.Millisecond, 50 * time.Millisecond, 500, 5}
)

// scenario is one kind of run.
type scenario struct {
	name   string
	tries  int    // attempts (or tries) per job
	retry  string // how a job is retried: "error" (River retries) or "value" (snoozes)
	plain  bool   // a plain River worker instead of riverbackoff's
	serial bool   // one job, run attempt after attempt: latency, not throughput
}

func (s scenario) worker() string {
	if s.plain {
		return "plain River worker"
	}
	return "riverbackoff.Worker"
}

type result struct {
	wall     time.Duration
	jobs     int
	attempts int
}

func main() {
	var o options
	var out, configs string
	flag.IntVar(&o.jobs, "jobs", 2000, "jobs per throughput run with River's defaults; five times as many tuned")
	flag.IntVar(&o.serial, "serial", 10, "attempts of the one job in the latency run")
	flag.IntVar(&o.reps, "reps", 5, "repetitions (medians are reported)")
	flag.StringVar(&configs, "config", "defaults,tuned", "River settings to run: defaults, tuned")
	flag.StringVar(&out, "out", "", "write the Markdown here (default: stdout)")
	flag.Parse()
	o.url = os.Getenv("RIVERBACKOFF_DATABASE_URL")
	for c := range strings.SplitSeq(configs, ",") {
		switch c {
		case "defaults":
			o.configs = append(o.configs, defaults)
		case "tuned":
			o.configs = append(o.configs, tuned)
		default:
			fmt.Fprintf(os.Stderr, "unknown config %q\n", c)
			os.Exit(2)
		}
	}
	md, err := run(context.Background(), o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "durablebench:", err)
		os.Exit(1)
	}
	if out == "" {
		fmt.Print(md)
		return
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "durablebench:", err)
		os.Exit(1)
	}
}

// run runs every configuration o.reps times, interleaved, and returns the
// Markdown section.
func run(ctx context.Context, o options, progress io.Writer) (string, error) {
	if o.url == "" {
		return "", errors.New("RIVERBACKOFF_DATABASE_URL is not set")
	}
	pool, err := pgxpool.New(ctx, o.url)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	var pgVersion string
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&pgVersion); err != nil {
		return "", err
	}
	scenarios := []scenario{
		{name: "1 attempt per job", tries: 1, retry: "error", plain: true},
		{name: "1 attempt per job", tries: 1, retry: "error"},
		{name: "3 attempts per job (2 errors, no wait)", tries: 3, retry: "error", plain: true},
		{name: "3 attempts per job (2 errors, no wait)", tries: 3, retry: "error"},
		{name: "3 tries per job (2 values retried, no wait)", tries: 3, retry: "value", plain: true},
		{name: "3 tries per job (2 values retried, no wait)", tries: 3, retry: "value"},
	}
	serial := []scenario{
		{name: fmt.Sprintf("1 job, %d attempts in a row (errors, no wait)", o.serial), tries: o.serial, retry: "error", plain: true, serial: true},
		{name: fmt.Sprintf("1 job, %d attempts in a row (errors, no wait)", o.serial), tries: o.serial, retry: "error", serial: true},
	}
	type key struct {
		s scenario
		c riverConfig
	}
	results := map[key][]result{}
	var order []key
	for _, c := range o.configs {
		for _, s := range scenarios {
			order = append(order, key{s, c})
		}
	}
	for _, c := range o.configs {
		for _, s := range serial {
			order = append(order, key{s, c})
		}
	}
	started, loadBefore := time.Now(), loadavg()
	for rep := range o.reps {
		for _, k := range order {
			r, err := runOne(ctx, pool, o, k.s, k.c)
			if err != nil {
				return "", fmt.Errorf("%s, %s, %s: %w", k.s.name, k.s.worker(), k.c.name, err)
			}
			results[k] = append(results[k], r)
			fmt.Fprintf(progress, "rep %d: %-45s %-20s %-15s %8.0f jobs/s %8.0f attempts/s\n", rep+1, k.s.name, k.s.worker(), k.c.name,
				float64(r.jobs)/r.wall.Seconds(), float64(r.attempts)/r.wall.Seconds())
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## Durable backend: riverbackoff on River and PostgreSQL\n\n")
	fmt.Fprintf(&b, "<!-- Generated by `go run ./internal/durablebench -out ../bench/durable.md` in riverbackoff/; bench's `go run . -report` includes this file. -->\n\n")
	fmt.Fprintf(&b, "Generated in %s on %s, %s, GOMAXPROCS=%d, %d CPUs; River v0.51.2 with pgx v5, PostgreSQL %s on the same machine with its default settings (fsync and synchronous_commit on). Medians of %d runs, interleaved, min–max in brackets. Load average (1 min) before and after: %s and %s; on a shared machine the ranges show what else ran.\n\n",
		time.Since(started).Round(time.Second), time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), pgVersion, o.reps, loadBefore, loadavg())
	fmt.Fprintf(&b, "Each throughput run inserts N jobs (InsertManyFast) into a fresh schema before one client starts, and times from the client's Start to the moment a query (every 10 ms) counts all N rows completed. Attempts/s counts every call of the op; a retried value is a River snooze, which River does not count as an attempt. The ops do no work of their own, and no wait separates the attempts: the figures are the cost of River and of the Worker. The plain River worker does the same with River alone (an error with NextRetry now; JobSnooze(0)); riverbackoff.Worker adds backoff.Decide and its JSON record in the job's metadata, written in River's own update.\n\n")
	for _, c := range o.configs {
		fmt.Fprintf(&b, "- **%s**: MaxWorkers %d, FetchCooldown %v, FetchPollInterval %v; N = %d.\n", c.name, c.maxWorkers, c.fetchCooldown, c.fetchPoll, o.jobs*c.scale)
	}
	b.WriteString("\n| scenario | worker | River settings | jobs/s | attempts/s |\n|---|---|---|---|---|\n")
	for _, k := range order {
		if k.s.serial {
			continue
		}
		rs := results[k]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", k.s.name, k.s.worker(), k.c.name,
			stat(rs, func(r result) float64 { return float64(r.jobs) / r.wall.Seconds() }, "%.0f"),
			stat(rs, func(r result) float64 { return float64(r.attempts) / r.wall.Seconds() }, "%.0f"))
	}
	b.WriteString("\nLatency of one retry: one job whose attempts fail with no wait, run alone, so that nothing fills River's batches.\n\n")
	b.WriteString("| scenario | worker | River settings | ms per attempt |\n|---|---|---|---|\n")
	for _, k := range order {
		if !k.s.serial {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k.s.name, k.s.worker(), k.c.name,
			stat(results[k], func(r result) float64 { return float64(r.wall.Milliseconds()) / float64(r.attempts) }, "%.0f"))
	}
	// How the Worker compares with River alone, scenario by scenario.
	var ratios []string
	for _, c := range o.configs {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, k := range order {
			if k.c != c || k.s.serial || k.s.plain {
				continue
			}
			plain := k
			plain.s.plain = true
			perS := func(r result) float64 { return float64(r.attempts) / r.wall.Seconds() }
			ratio := median(results[k], perS) / median(results[plain], perS)
			lo, hi = min(lo, ratio), max(hi, ratio)
		}
		r := fmt.Sprintf("%.0f–%.0f%%", 100*lo, 100*hi)
		if math.Round(100*lo) == math.Round(100*hi) {
			r = fmt.Sprintf("%.0f%%", 100*lo)
		}
		ratios = append(ratios, c.name+": "+r)
	}
	fmt.Fprintf(&b, "\nriverbackoff.Worker's attempts/s against the plain worker's, medians, scenario by scenario: %s. With River's defaults a client takes at most MaxWorkers jobs per FetchCooldown (100 per 100 ms: 1,000 attempts/s), whatever the worker does. Tuned, PostgreSQL, on the same two cores as the client, is the bound; the Worker's record in the job's metadata makes River's update of each attempt a jsonb merge, a cost to weigh against the spread between runs (the ranges). A lone job shows River's latency floor: a retry due at once waits for River's batch completer to write the attempt's outcome (every 250 ms under light load, sooner once 100 outcomes wait), then for the next fetch, which for a retried job is the FetchPollInterval poll (River notifies its producers of inserted jobs, not of retried ones). The in-process scheduler's figures above are in millions of attempts per second; the durable backend's are in thousands, and only with many jobs in flight.\n", strings.Join(ratios, ", "))
	return b.String(), nil
}

// loadavg returns the machine's 1-minute load average, or "?" where
// /proc/loadavg is missing.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// stat formats the median and the range of f over rs.
func stat(rs []result, f func(result) float64, format string) string {
	vs := values(rs, f)
	if len(vs) == 1 {
		return fmt.Sprintf(format, vs[0])
	}
	return fmt.Sprintf(format+" ["+format+"–"+format+"]", median(rs, f), vs[0], vs[len(vs)-1])
}

// values returns f over rs, sorted.
func values(rs []result, f func(result) float64) []float64 {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	return vs
}

func median(rs []result, f func(result) float64) float64 {
	vs := values(rs, f)
	if len(vs)%2 == 0 {
		return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	return vs[len(vs)/2]
}

type benchArgs struct {
	N int `json:"n"`
}

func (benchArgs) Kind() string { return "durablebench" }

var errNotYet = errors.New("not yet")

// runOne runs one scenario in a fresh schema.
func runOne(ctx context.Context, pool *pgxpool.Pool, o options, s scenario, c riverConfig) (result, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "rbbench_" + hex.EncodeToString(b)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return result{}, err
	}
	defer pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck // best effort
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: quiet})
	if err != nil {
		return result{}, err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return result{}, err
	}

	var attempts atomic.Int64
	var counts sync.Map // job ID -> *atomic.Int64, for values to retry
	tryOf := func(id int64) int {
		v, _ := counts.LoadOrStore(id, new(atomic.Int64))
		return int(v.(*atomic.Int64).Add(1))
	}
	workers := river.NewWorkers()
	var policy *backoff.Policy[int] // stays nil for the plain worker: MaxAttempts is River's largest
	switch {
	case s.plain:
		river.AddWorker(workers, &plainWorker{s: s, attempts: &attempts, tryOf: tryOf})
	default:
		opts := []backoff.Option{backoff.NoWait{}, backoff.MaxTries(s.tries + 1)}
		if s.retry == "value" {
			opts = append(opts, backoff.RetryOnValue(func(n int) bool { return n < s.tries }))
		}
		p, err := backoff.NewPolicy[int](opts...)
		if err != nil {
			return result{}, err
		}
		policy = p
		if err := riverbackoff.AddWorker(workers, p, func(ctx context.Context, job *river.Job[benchArgs]) (int, error) {
			attempts.Add(1)
			if s.retry == "value" {
				return tryOf(job.ID), nil
			}
			if job.Attempt < s.tries {
				return 0, errNotYet
			}
			return job.Attempt, nil
		}); err != nil {
			return result{}, err
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		FetchCooldown:     c.fetchCooldown,
		FetchPollInterval: c.fetchPoll,
		Logger:            quiet,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.maxWorkers}},
		Schema:            schema,
		Workers:           workers,
	})
	if err != nil {
		return result{}, err
	}
	n := o.jobs * c.scale
	if s.serial {
		n = 1
	}
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: benchArgs{N: i}, InsertOpts: riverbackoff.InsertOpts(policy, nil)}
	}
	if _, err := client.InsertManyFast(ctx, params); err != nil {
		return result{}, err
	}
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		return result{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = client.StopAndCancel(sctx)
	}()
	if err := waitCompleted(ctx, pool, schema, n); err != nil {
		return result{}, err
	}
	return result{wall: time.Since(start), jobs: n, attempts: int(attempts.Load())}, nil
}

// waitCompleted polls until n jobs are completed, failing when one ends
// otherwise or after ten minutes.
func waitCompleted(ctx context.Context, pool *pgxpool.Pool, schema string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var done, failed int
		err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state IN ('cancelled', 'discarded')) FROM "+schema+".river_job").Scan(&done, &failed)
		switch {
		case err != nil:
			return err
		case failed > 0:
			return fmt.Errorf("%d jobs did not complete", failed)
		case done == n:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs completed: %w", done, n, ctx.Err())
		case <-tick.C:
		}
	}
}

// plainWorker does what the scenario's riverbackoff.Worker does, with
// River alone.
type plainWorker struct {
	river.WorkerDefaults[benchArgs]
	s        scenario
	attempts *atomic.Int64
	tryOf    func(int64) int
}

func (w *plainWorker) Work(_ context.Context, job *river.Job[benchArgs]) error {
	w.attempts.Add(1)
	if w.s.retry == "value" {
		if w.tryOf(job.ID) < w.s.tries {
			return river.JobSnooze(0)
		}
		return nil
	}
	if job.Attempt < w.s.tries {
		return errNotYet
	}
	return nil
}

func (w *plainWorker) NextRetry(*river.Job[benchArgs]) time.Time { return time.Now() }
