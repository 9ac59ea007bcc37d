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

type (
	mKill     struct{}
	mKillLate struct{}
	mKillLast struct{}
)

func (mKill) name() string     { return "kill" }
func (mKillLate) name() string { return "kill_late" }
func (mKillLast) name() string { return "kill_last" }

// The policies of the three kinds of job that the doomed client works:
// one with tries to spare; one whose MaxTime (1s) passes while River
// waits to rescue its lost attempt (3s); one whose only try is lost.
func killPolicy() *backoff.Policy[string] {
	return mustPolicy(backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter, backoff.MaxTries(3))
}

func latePolicy() *backoff.Policy[string] {
	return mustPolicy(backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter, backoff.MaxTries(3), backoff.MaxTime(time.Second))
}

func lastPolicy() *backoff.Policy[string] { return mustPolicy(backoff.MaxTries(1)) }

func mustPolicy(opts ...backoff.Option) *backoff.Policy[string] {
	p, err := backoff.NewPolicy[string](opts...)
	if err != nil {
		panic(err)
	}
	return p
}

// addKillWorker registers the worker of kind N, whose op records its start
// in the attempts table under client's name. The doomed client's op then
// blocks until the process is killed; the survivor's records its end and
// returns "done".
func addKillWorker[N named](workers *river.Workers, pool *pgxpool.Pool, schema, client string, policy *backoff.Policy[string]) error {
	return riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[jobArgs[N]]) (string, error) {
		var id int64
		if err := pool.QueryRow(ctx, "INSERT INTO "+schema+".attempts (job_id, client, started_at) VALUES ($1, $2, clock_timestamp()) RETURNING id", job.ID, client).Scan(&id); err != nil {
			return "", err
		}
		if client == "doomed" {
			<-ctx.Done() // until SIGKILL
			return "", ctx.Err()
		}
		_, err := pool.Exec(ctx, "UPDATE "+schema+".attempts SET ended_at = clock_timestamp() WHERE id = $1", id)
		return "done", err
	})
}

// addKillWorkers registers the three kinds for client.
func addKillWorkers(workers *river.Workers, pool *pgxpool.Pool, schema, client string) error {
	return errors.Join(
		addKillWorker[mKill](workers, pool, schema, client, killPolicy()),
		addKillWorker[mKillLate](workers, pool, schema, client, latePolicy()),
		addKillWorker[mKillLast](workers, pool, schema, client, lastPolicy()),
	)
}

// killHelper is the doomed client: it works the kill jobs with ops that
// record their start in the attempts table and then block until the
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
	if err := addKillWorkers(workers, pool, schema, "doomed"); err != nil {
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

// attempt is one row of the attempts table.
type attempt struct {
	client         string
	started, ended *time.Time
}

// TestKilledClientJobIsRescued kills (SIGKILL) a client process in the
// middle of an attempt of three jobs. River's stuck-job rescuer, on the
// other client, finds them after RescueStuckJobsAfter (3s):
//
//   - the job with tries to spare is made retryable; the surviving client
//     counts the lost attempt as a failed try (ErrAttemptLost), runs the
//     next one and completes the job. The attempts table shows that
//     nothing ran twice at once and nothing was lost;
//   - the job whose MaxTime (1s) passed during the rescue is made
//     retryable too, and its next attempt gives up with ReasonMaxTime
//     without calling the op;
//   - the job whose only try (MaxTries(1), so MaxAttempts 1) was lost is
//     discarded by the rescuer itself: River's count and the policy's
//     agree, and the give-up is ReasonMaxTries with ErrAttemptLost.
//
// The Handles, on a third, insert-only client that only polls, see it all.
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

	// The jobs, inserted and watched through an insert-only client.
	inserter := startClient(t, pool, clientConfig(schema, nil))
	w := newWatcher(t, inserter)
	inserted := time.Now()
	h, err := riverbackoff.Insert(ctx, w, killPolicy(), jobArgs[mKill]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hLate, err := riverbackoff.Insert(ctx, w, latePolicy(), jobArgs[mKillLate]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hLast, err := riverbackoff.Insert(ctx, w, lastPolicy(), jobArgs[mKillLast]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := h.Events()
	attempts := func() map[int64][]attempt {
		rows, err := pool.Query(ctx, "SELECT job_id, client, started_at, ended_at FROM "+schema+".attempts ORDER BY started_at")
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64][]attempt{}
		for rows.Next() {
			var id int64
			var a attempt
			if err := rows.Scan(&id, &a.client, &a.started, &a.ended); err != nil {
				t.Fatal(err)
			}
			m[id] = append(m[id], a)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	waitUntil(ctx, t, "the doomed client's attempts to start", func() bool { return len(attempts()) == 3 })
	started := time.Now()

	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	killed := time.Now()

	// River's rescuer runs when a client becomes leader, then every 30s
	// (not configurable), so the survivor starts once the jobs are stuck
	// by River's measure (running for RescueStuckJobsAfter), and rescues
	// them at once instead of on its next round.
	const rescueAfter = 3 * time.Second
	waitUntil(ctx, t, "the killed attempts to count as stuck", func() bool {
		var stuck int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".river_job WHERE id = ANY($1) AND state = 'running' AND attempted_at < now() - make_interval(secs => $2)",
			[]int64{h.ID(), hLate.ID(), hLast.ID()}, rescueAfter.Seconds()).Scan(&stuck); err != nil {
			t.Fatal(err)
		}
		return stuck == 3
	})
	stuck := time.Now()

	// The survivor: it leads, so it runs the rescuer.
	workers := river.NewWorkers()
	if err := addKillWorkers(workers, pool, schema, "survivor"); err != nil {
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
	if row.State != rivertype.JobStateCompleted || row.Attempt != 2 || row.MaxAttempts != 3 || len(row.Errors) != 1 || rec.Tries != 2 || rec.Event != "success" {
		t.Errorf("job row: state %s, attempt %d of %d, %d errors, record %+v; want completed, 2 of 3 (MaxTries), 1 (the rescue), 2 tries, success",
			row.State, row.Attempt, row.MaxAttempts, len(row.Errors), rec)
	}
	all := attempts()
	atts := all[h.ID()]
	if len(atts) != 2 || atts[0].client != "doomed" || atts[0].ended != nil || atts[1].client != "survivor" || atts[1].ended == nil {
		t.Fatalf("attempts %+v: want the doomed one, unfinished, then the survivor's, finished", atts)
	}
	if !atts[1].started.After(killed) {
		t.Errorf("the survivor's attempt started at %v, before the kill at %v: two attempts ran at once", atts[1].started, killed)
	}
	rescued := row.Errors[0].At
	t.Logf("doomed attempts started %v after the inserts, killed %v after they started; stuck %v after the kill; the survivor started and rescued them %v later (%q); its attempt started %v after the rescue; the watcher saw the success %v after the kill",
		started.Sub(inserted).Round(time.Millisecond), killed.Sub(started).Round(time.Millisecond), stuck.Sub(killed).Round(time.Millisecond),
		rescued.Sub(stuck).Round(time.Millisecond), row.Errors[0].Error, atts[1].started.Sub(rescued).Round(time.Millisecond), finished.Sub(killed).Round(time.Millisecond))

	t.Run("MaxTime passed during the rescue", func(t *testing.T) {
		_, err := hLate.Result(ctx)
		var ge *backoff.GiveUpError
		if !errors.As(err, &ge) || ge.Reason != backoff.ReasonMaxTime || ge.Tries != 1 || !errors.Is(err, riverbackoff.ErrAttemptLost) || ge.Elapsed < rescueAfter {
			t.Fatalf("Result error %v: want max time after the 1 lost try, at least %v in", err, rescueAfter)
		}
		if atts := attempts()[hLate.ID()]; len(atts) != 1 || atts[0].client != "doomed" {
			t.Errorf("attempts %+v: want only the doomed one, the op not called again", atts)
		}
		row, err := survivor.JobGet(ctx, hLate.ID())
		if err != nil {
			t.Fatal(err)
		}
		rec := recordOf(t, row)
		// The first attempt was lost before it recorded its start: the
		// job's time counts from its creation.
		if row.State != rivertype.JobStateCancelled || row.Attempt != 2 || rec.Tries != 1 || rec.Skipped != 1 || rec.Reason != "max time" ||
			!rec.Start.Equal(row.CreatedAt) || !rec.Deadline.Equal(row.CreatedAt.Add(time.Second)) {
			t.Errorf("row: state %s, attempt %d, created %v, record %+v; want cancelled after attempt 2, 1 try and 1 skipped, deadline 1s after creation",
				row.State, row.Attempt, row.CreatedAt, rec)
		}
		t.Log(ge)
	})

	t.Run("last try lost", func(t *testing.T) {
		_, err := hLast.Result(ctx)
		var ge *backoff.GiveUpError
		if !errors.As(err, &ge) || ge.Reason != backoff.ReasonMaxTries || ge.Tries != 1 || !errors.Is(err, riverbackoff.ErrAttemptLost) || ge.Elapsed < rescueAfter {
			t.Fatalf("Result error %v: want max tries after the 1 lost try, at least %v in", err, rescueAfter)
		}
		if atts := attempts()[hLast.ID()]; len(atts) != 1 || atts[0].client != "doomed" {
			t.Errorf("attempts %+v: want only the doomed one", atts)
		}
		row, err := survivor.JobGet(ctx, hLast.ID())
		if err != nil {
			t.Fatal(err)
		}
		if row.State != rivertype.JobStateDiscarded || row.Attempt != 1 || row.MaxAttempts != 1 {
			t.Errorf("row: state %s, attempt %d of %d; want discarded by the rescuer, 1 of 1", row.State, row.Attempt, row.MaxAttempts)
		}
		t.Log(ge)
	})
}
