// Command durable polls simulated batch jobs until each reports done, like
// examples/poller, but keeps the retry loops in PostgreSQL with River:
// riverbackoff runs the same kind of policy on River workers, and a
// Watcher brings back the same backoff.Event values.
//
//	cd examples/durable
//	RIVERBACKOFF_DATABASE_URL=postgres://user:pass@host:5432/db go run .
//
// Two River clients share the work, as two processes would. The events
// come from the job rows, so they would arrive the same if the process
// that inserted the jobs worked none of them. The program migrates River
// into a schema of its own and drops it at the end.
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
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

// PollArgs are a job's arguments: which batch to poll. River stores them
// as JSON in the job's row.
type PollArgs struct {
	Batch string `json:"batch"`
}

// Kind names the job kind in River.
func (PollArgs) Kind() string { return "poll_batch" }

// Status is what the batch service reports; the Worker stores the latest
// in the job's row, and the events carry it.
type Status struct {
	Batch string `json:"batch"`
	Done  bool   `json:"done"`
	Polls int    `json:"polls"`
}

// errUnavailable is the batch service's transient failure.
var errUnavailable = errors.New("batch service unavailable")

// batchService is an in-process fake: each batch is done a set time after
// the start, and every fourth poll fails.
type batchService struct {
	start time.Time
	mu    sync.Mutex
	ready map[string]time.Duration
	polls map[string]int
}

func (b *batchService) poll(_ context.Context, batch string) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ready, ok := b.ready[batch]
	if !ok {
		return Status{}, backoff.Permanent(fmt.Errorf("no batch %q", batch))
	}
	b.polls[batch]++
	n := b.polls[batch]
	if n%4 == 0 {
		return Status{}, errUnavailable
	}
	return Status{Batch: batch, Done: time.Since(b.start) >= ready, Polls: n}, nil
}

type options struct {
	url     string
	batches int
}

func main() {
	var o options
	flag.IntVar(&o.batches, "batches", 12, "batch jobs to poll")
	flag.Parse()
	o.url = os.Getenv("RIVERBACKOFF_DATABASE_URL")
	if o.url == "" {
		o.url = os.Getenv("DATABASE_URL")
	}
	if o.url == "" {
		fmt.Fprintln(os.Stderr, "set RIVERBACKOFF_DATABASE_URL (or DATABASE_URL) to a PostgreSQL database")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := run(ctx, os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "durable:", err)
		os.Exit(1)
	}
}

// summary counts how the jobs ended.
type summary struct {
	succeeded int
	gaveUp    map[backoff.Reason]int
}

func run(ctx context.Context, out io.Writer, o options) (summary, error) {
	sum := summary{gaveUp: map[backoff.Reason]int{}}
	pool, err := pgxpool.New(ctx, o.url)
	if err != nil {
		return sum, err
	}
	defer pool.Close()
	schema, err := migrate(ctx, pool)
	if schema != "" {
		defer pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck // best effort
	}
	if err != nil {
		return sum, err
	}

	// Batch i is done after 300ms·i; the last never is, within MaxTime.
	svc := &batchService{start: time.Now(), ready: map[string]time.Duration{}, polls: map[string]int{}}
	for i := range o.batches {
		svc.ready[batchName(i)] = time.Duration(i) * 300 * time.Millisecond
	}
	svc.ready[batchName(o.batches-1)] = time.Hour

	// The policy, as it would be for the in-process scheduler: poll until
	// done, retry the service's transient errors, give up after 4s.
	policy, err := backoff.NewPolicy[Status](
		backoff.RetryOnValue(func(st Status) bool { return !st.Done }),
		backoff.RetryOn(errUnavailable),
		backoff.Expo{Factor: 100 * time.Millisecond, Max: 800 * time.Millisecond},
		backoff.MaxTime(4*time.Second),
	)
	if err != nil {
		return sum, err
	}
	workers := river.NewWorkers()
	if err := riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[PollArgs]) (Status, error) {
		return svc.poll(ctx, job.Args.Batch)
	}); err != nil {
		return sum, err
	}

	// Two clients share the queue, as two processes would.
	var clients []*river.Client[pgx.Tx]
	for range 2 {
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
			// River checks for due jobs every second by default; waits here
			// are a tenth of a second and up, so check more often.
			FetchCooldown:     20 * time.Millisecond,
			FetchPollInterval: 100 * time.Millisecond,
			Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
			Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}},
			Schema:            schema,
			Workers:           workers,
		})
		if err != nil {
			return sum, err
		}
		if err := client.Start(ctx); err != nil {
			return sum, err
		}
		defer client.StopAndCancel(context.WithoutCancel(ctx)) //nolint:errcheck // shutting down
		clients = append(clients, client)
	}

	w, err := riverbackoff.NewWatcher(clients[0], &riverbackoff.WatcherConfig{PollInterval: 50 * time.Millisecond})
	if err != nil {
		return sum, err
	}
	defer w.Close()

	// One job followed through its Handle, event by event... Insert takes
	// the worker's policy: River's MaxAttempts follows its MaxTries (none
	// here, so River's largest), and T (Status) is its value type.
	h, err := riverbackoff.Insert(ctx, w, policy, PollArgs{Batch: batchName(3)}, nil)
	if err != nil {
		return sum, err
	}
	events := h.Events()
	// ...and the others through one results channel.
	results := make(chan backoff.Event[Status], o.batches)
	for i := range o.batches {
		if i == 3 {
			continue
		}
		if _, err := riverbackoff.InsertTo(ctx, w, policy, PollArgs{Batch: batchName(i)}, nil, results); err != nil {
			return sum, err
		}
	}
	fmt.Fprintf(out, "%s, job %d, event by event:\n", batchName(3), h.ID())
	var all []backoff.Event[Status]
	for ev := range events {
		fmt.Fprintf(out, "  %s\n", describe(ev))
		if ev.Terminal() {
			all = append(all, ev)
		}
	}
	if _, err := h.Result(ctx); err != nil && len(all) == 0 {
		return sum, err
	}
	for len(all) < o.batches {
		select {
		case ev := <-results:
			all = append(all, ev)
		case <-ctx.Done():
			return sum, fmt.Errorf("%d of %d jobs ended: %w", len(all), o.batches, ctx.Err())
		}
	}
	slices.SortFunc(all, func(a, b backoff.Event[Status]) int { return int(a.ID) - int(b.ID) })
	fmt.Fprintln(out, "every job's end:")
	for _, ev := range all {
		fmt.Fprintf(out, "  job %d: %s\n", ev.ID, describe(ev))
		if ev.Kind == backoff.EventSuccess {
			sum.succeeded++
		} else {
			sum.gaveUp[ev.Reason]++
		}
	}
	fmt.Fprintf(out, "%d succeeded, %d gave up\n", sum.succeeded, o.batches-sum.succeeded)
	return sum, nil
}

func batchName(i int) string { return fmt.Sprintf("batch-%02d", i) }

func describe(ev backoff.Event[Status]) string {
	switch ev.Kind {
	case backoff.EventBackoff:
		if ev.Err != nil {
			return fmt.Sprintf("try %d failed (%v), next in %v", ev.Tries, ev.Err, ev.Wait.Round(time.Millisecond))
		}
		return fmt.Sprintf("try %d: %s not done, next in %v", ev.Tries, ev.Value.Batch, ev.Wait.Round(time.Millisecond))
	case backoff.EventSuccess:
		return fmt.Sprintf("%s done after %d tries, %v", ev.Value.Batch, ev.Tries, ev.Elapsed.Round(time.Millisecond))
	}
	return fmt.Sprintf("gave up after %d tries, %v: %v", ev.Tries, ev.Elapsed.Round(time.Millisecond), ev.Reason)
}

// migrate creates a schema of its own and River's tables in it.
func migrate(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	schema := "riverbackoff_example_" + hex.EncodeToString(b)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", err
	}
	// From here on the schema exists: the caller drops it.
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	return schema, err
}
