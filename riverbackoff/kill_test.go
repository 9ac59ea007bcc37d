package riverbackoff_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

// helperVar, set to a schema, makes the test binary the client that
// TestKilledClientJobIsRescued kills.
const helperVar = "RIVERBACKOFF_KILL_HELPER"

type mKill struct{}

func (mKill) name() string { return "kill" }

func killPolicy() *backoff.Policy[string] {
	p, err := backoff.NewPolicy[string](backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter, backoff.MaxTries(3))
	if err != nil {
		panic(err)
	}
	return p
}

// killHelper is the doomed client: it works the kill job with an op that
// records its start in the attempts table and then blocks until the
// process is killed.
func killHelper() int {
	schema := os.Getenv(helperVar)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv(dbURLVar))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	workers := river.NewWorkers()
	if err := riverbackoff.AddWorker(workers, killPolicy(), func(ctx context.Context, job *river.Job[jobArgs[mKill]]) (string, error) {
		if _, err := pool.Exec(ctx, "INSERT INTO "+schema+".attempts (job_id, client, started_at) VALUES ($1, 'doomed', clock_timestamp())", job.ID); err != nil {
			return "", err
		}
		<-ctx.Done() // until SIGKILL
		return "", ctx.Err()
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := clientConfig(schema, workers)
	cfg.JobTimeout = -1               // the attempt never times out: only the kill ends it
	cfg.LeaderElectionDisabled = true // the survivor leads, so the rescue need not wait for a dead leader's lease
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err == nil {
		err = client.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	select {}
}

// TestKilledClientJobIsRescued kills (SIGKILL) a client process in the
// middle of an attempt. River's stuck-job rescuer, on the other client,
// makes the job retryable after RescueStuckJobsAfter (3s); the surviving
// client counts the lost attempt as a failed try (ErrAttemptLost), runs
// the next one and completes the job. The attempts table shows that
// nothing ran twice at once and nothing was lost; the Handle, on a third,
// insert-only client that only polls, sees the success.
func TestKilledClientJobIsRescued(t *testing.T) {
	pool, schema := testDB(t)
	ctx := deadline(t, 2*time.Minute)
	if _, err := pool.Exec(ctx, "CREATE TABLE "+schema+".attempts (id bigserial PRIMARY KEY, job_id bigint NOT NULL, client text NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz)"); err != nil {
		t.Fatal(err)
	}

	// The doomed client, in its own process.
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperVar+"="+schema)
	var helperErr bytes.Buffer
	helper.Stderr = &helperErr
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = helper.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = helper.Process.Kill()
		<-exited
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line == "ready\n"
	}()
	select {
	case ok := <-ready:
		if !ok {
			<-exited
			t.Fatalf("the helper client did not start: %s", helperErr.String())
		}
	case <-ctx.Done():
		t.Fatal("timed out waiting for the helper client")
	}

	// The job, inserted and watched through an insert-only client.
	inserter := startClient(t, pool, clientConfig(schema, nil))
	w := newWatcher(t, inserter)
	inserted := time.Now()
	h, err := riverbackoff.Insert[string](ctx, w, jobArgs[mKill]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := h.Events()
	attempts := func() (n int) {
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".attempts").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitUntil(ctx, t, "the doomed client's attempt to start", func() bool { return attempts() == 1 })
	started := time.Now()

	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	killed := time.Now()

	// River's rescuer runs when a client becomes leader, then every 30s
	// (not configurable), so the survivor starts once the job is stuck by
	// River's measure (running for RescueStuckJobsAfter), and rescues it at
	// once instead of on its next round.
	const rescueAfter = 3 * time.Second
	waitUntil(ctx, t, "the killed attempt to count as stuck", func() bool {
		var stuck bool
		if err := pool.QueryRow(ctx, "SELECT state = 'running' AND attempted_at < now() - make_interval(secs => $2) FROM "+schema+".river_job WHERE id = $1",
			h.ID(), rescueAfter.Seconds()).Scan(&stuck); err != nil {
			t.Fatal(err)
		}
		return stuck
	})
	stuck := time.Now()

	// The survivor: it leads, so it runs the rescuer.
	workers := river.NewWorkers()
	if err := riverbackoff.AddWorker(workers, killPolicy(), func(ctx context.Context, job *river.Job[jobArgs[mKill]]) (string, error) {
		var id int64
		if err := pool.QueryRow(ctx, "INSERT INTO "+schema+".attempts (job_id, client, started_at) VALUES ($1, 'survivor', clock_timestamp()) RETURNING id", job.ID).Scan(&id); err != nil {
			return "", err
		}
		_, err := pool.Exec(ctx, "UPDATE "+schema+".attempts SET ended_at = clock_timestamp() WHERE id = $1", id)
		return "done", err
	}); err != nil {
		t.Fatal(err)
	}
	cfg := clientConfig(schema, workers)
	cfg.JobTimeout = 2 * time.Second
	cfg.RescueStuckJobsAfter = rescueAfter
	survivor := startClient(t, pool, cfg)

	v, err := h.Result(ctx)
	finished := time.Now()
	if err != nil || v != "done" {
		t.Fatalf("Result = %q, %v; want done, nil", v, err)
	}
	var last backoff.Event[string]
	for ev := range events {
		last = ev
		if ev.Kind == backoff.EventBackoff && !errors.Is(ev.Err, riverbackoff.ErrAttemptLost) {
			t.Errorf("backoff event %+v: want ErrAttemptLost", ev)
		}
	}
	if last.Kind != backoff.EventSuccess || last.Tries != 2 || last.Value != "done" {
		t.Errorf("last event %+v: want success after 2 tries with done", last)
	}

	row, err := survivor.JobGet(ctx, h.ID())
	if err != nil {
		t.Fatal(err)
	}
	rec := recordOf(t, row)
	if row.State != rivertype.JobStateCompleted || row.Attempt != 2 || len(row.Errors) != 1 || rec.Tries != 2 || rec.Event != "success" {
		t.Errorf("job row: state %s, attempt %d, %d errors, record %+v; want completed, 2, 1 (the rescue), 2 tries, success", row.State, row.Attempt, len(row.Errors), rec)
	}
	type attempt struct {
		client         string
		started, ended *time.Time
	}
	rows, err := pool.Query(ctx, "SELECT client, started_at, ended_at FROM "+schema+".attempts ORDER BY started_at")
	if err != nil {
		t.Fatal(err)
	}
	var atts []attempt
	for rows.Next() {
		var a attempt
		if err := rows.Scan(&a.client, &a.started, &a.ended); err != nil {
			t.Fatal(err)
		}
		atts = append(atts, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 || atts[0].client != "doomed" || atts[0].ended != nil || atts[1].client != "survivor" || atts[1].ended == nil {
		t.Fatalf("attempts %+v: want the doomed one, unfinished, then the survivor's, finished", atts)
	}
	if !atts[1].started.After(killed) {
		t.Errorf("the survivor's attempt started at %v, before the kill at %v: two attempts ran at once", atts[1].started, killed)
	}
	rescued := row.Errors[0].At
	t.Logf("doomed attempt started %v after the insert, killed %v after it started; stuck %v after the kill; the survivor started and rescued it %v later (%q); its attempt started %v after the rescue; the watcher saw the success %v after the kill",
		started.Sub(inserted).Round(time.Millisecond), killed.Sub(started).Round(time.Millisecond), stuck.Sub(killed).Round(time.Millisecond),
		rescued.Sub(stuck).Round(time.Millisecond), row.Errors[0].Error, atts[1].started.Sub(rescued).Round(time.Millisecond), finished.Sub(killed).Round(time.Millisecond))
}
