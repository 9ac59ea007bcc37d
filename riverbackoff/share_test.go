package riverbackoff_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

type mShared struct{}

func (mShared) name() string { return "shared" }

// span is one attempt as its op saw it.
type span struct {
	client     string
	start, end time.Time
}

// TestTwoClientsShareJobs works 60 jobs, each failing twice before it
// succeeds, on two clients of one queue. Every job ends once, after three
// attempts that never overlap, both clients take part, and a fan-in
// channel on a third, insert-only client (which has no subscription, so it
// only polls) gets every terminal event exactly once, though it holds one
// event at a time.
func TestTwoClientsShareJobs(t *testing.T) {
	pool, schema := testDB(t)
	const jobs = 60
	policy, err := backoff.NewPolicy[string](backoff.Constant{Interval: 50 * time.Millisecond}, backoff.NoJitter, backoff.MaxTries(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(deadline(t, 10*time.Second), "CREATE TABLE "+schema+".attempts (id bigserial PRIMARY KEY, job_id bigint NOT NULL, client text NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	running := map[int64]bool{}
	overlaps := 0
	op := func(client string) func(context.Context, *river.Job[jobArgs[mShared]]) (string, error) {
		return func(ctx context.Context, job *river.Job[jobArgs[mShared]]) (string, error) {
			mu.Lock()
			if running[job.ID] {
				overlaps++
			}
			running[job.ID] = true
			mu.Unlock()
			defer func() {
				mu.Lock()
				running[job.ID] = false
				mu.Unlock()
			}()
			// The attempt's work: record its start and end in the database.
			var id int64
			if err := pool.QueryRow(ctx, "INSERT INTO "+schema+".attempts (job_id, client, started_at) VALUES ($1, $2, clock_timestamp()) RETURNING id", job.ID, client).Scan(&id); err != nil {
				return "", err
			}
			var n int
			if err := pool.QueryRow(ctx, "UPDATE "+schema+".attempts SET ended_at = clock_timestamp() WHERE id = $1 RETURNING (SELECT count(*) FROM "+schema+".attempts WHERE job_id = $2)", id, job.ID).Scan(&n); err != nil {
				return "", err
			}
			if n < 3 {
				return "", errors.New("not yet")
			}
			return client, nil
		}
	}
	var clients []*river.Client[pgx.Tx]
	for _, name := range []string{"a", "b"} {
		workers := river.NewWorkers()
		if err := riverbackoff.AddWorker(workers, policy, op(name)); err != nil {
			t.Fatal(err)
		}
		cfg := clientConfig(schema, workers)
		cfg.Queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: 5}
		clients = append(clients, startClient(t, pool, cfg))
	}
	inserter := startClient(t, pool, clientConfig(schema, nil))
	w := newWatcher(t, inserter)
	ctx := deadline(t, time.Minute)
	results := make(chan backoff.Event[string], 1)
	ids := map[uint64]bool{}
	for range jobs {
		id, err := riverbackoff.InsertTo(ctx, w, policy, jobArgs[mShared]{}, nil, results)
		if err != nil {
			t.Fatal(err)
		}
		ids[uint64(id)] = true
	}
	ended := map[uint64]int{}
	for range jobs {
		select {
		case ev := <-results:
			ended[ev.ID]++
			if ev.Kind != backoff.EventSuccess || ev.Tries != 3 || (ev.Value != "a" && ev.Value != "b") {
				t.Errorf("terminal event %+v: want success after 3 tries, by a or b", ev)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d terminal events arrived", len(ended), jobs)
		}
	}
	for id := range ids {
		if ended[id] != 1 {
			t.Errorf("job %d: %d terminal events, want 1", id, ended[id])
		}
	}
	mu.Lock()
	if overlaps != 0 {
		t.Errorf("%d attempts started while another attempt of the same job ran", overlaps)
	}
	mu.Unlock()
	rows, err := pool.Query(ctx, "SELECT job_id, client, started_at, ended_at FROM "+schema+".attempts ORDER BY job_id, started_at")
	if err != nil {
		t.Fatal(err)
	}
	spans := map[int64][]span{}
	for rows.Next() {
		var id int64
		var s span
		if err := rows.Scan(&id, &s.client, &s.start, &s.end); err != nil {
			t.Fatal(err)
		}
		spans[id] = append(spans[id], s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	byClient := map[string]int{}
	for id, ss := range spans {
		if len(ss) != 3 {
			t.Errorf("job %d: %d attempts, want 3", id, len(ss))
		}
		for i, s := range ss {
			byClient[s.client]++
			if i > 0 && s.start.Sub(ss[i-1].end) < 50*time.Millisecond {
				t.Errorf("job %d: attempt %d started %v after the previous one ended, want at least the 50ms wait", id, i+1, s.start.Sub(ss[i-1].end))
			}
		}
	}
	if byClient["a"] == 0 || byClient["b"] == 0 {
		t.Errorf("attempts per client %v: want both clients to work", byClient)
	}
	t.Logf("attempts per client: %v", byClient)
	res, err := clients[0].JobList(ctx, river.NewJobListParams().States(rivertype.JobStateCompleted).First(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != jobs {
		t.Errorf("%d completed rows, want %d", len(res.Jobs), jobs)
	}
}
