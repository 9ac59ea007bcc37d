package riverbackoff_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

type mEvents struct{}

func (mEvents) name() string { return "events" }

type mIdle struct{}

func (mIdle) name() string { return "idle" }

// TestHandleEvents follows one job through its Handle on the client that
// works it (so the Watcher also has the client's subscription): a backoff
// event per failed attempt, with its wait and error, then the success
// with the value, then the channel is closed; as with the in-process
// scheduler's Handle. Subscribe keeps every event from Insert or Watch on.
func TestHandleEvents(t *testing.T) {
	pool, schema := testDB(t)
	policy, err := backoff.NewPolicy[int](backoff.Constant{Interval: 300 * time.Millisecond}, backoff.NoJitter, backoff.MaxTries(5))
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	if err := riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[jobArgs[mEvents]]) (int, error) {
		if job.Attempt < 3 {
			return job.Attempt, errors.New("not yet")
		}
		return 42, nil
	}); err != nil {
		t.Fatal(err)
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)
	h, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mEvents]{}, nil, riverbackoff.Subscribe())
	if err != nil {
		t.Fatal(err)
	}
	var got []backoff.Event[int]
	for ev := range h.Events() {
		got = append(got, ev)
	}
	if len(got) != 3 {
		t.Fatalf("events %+v: want two backoff events and the success", got)
	}
	for i, ev := range got[:2] {
		if ev.Kind != backoff.EventBackoff || ev.ID != uint64(h.ID()) || ev.Tries != i+1 || ev.Value != i+1 ||
			ev.Wait != 300*time.Millisecond || ev.Err == nil || ev.Err.Error() != "not yet" {
			t.Errorf("event %d: %+v, want backoff after try %d with the 300ms wait and the error", i, ev, i+1)
		}
	}
	if ev := got[2]; ev.Kind != backoff.EventSuccess || ev.Tries != 3 || ev.Value != 42 || ev.Err != nil || ev.Elapsed < 600*time.Millisecond {
		t.Errorf("last event %+v, want success after 3 tries with 42, at least 600ms in", ev)
	}
	if v, err := h.Result(ctx); v != 42 || err != nil {
		t.Errorf("Result = %d, %v; want 42, nil", v, err)
	}

	// Events read only after the end: without Subscribe, only the terminal
	// event; with it, from Watch, every event the Watcher read since (the
	// job may have retried once before its first read).
	plain, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mEvents]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	watched := riverbackoff.Watch[int](w, plain.ID(), riverbackoff.Subscribe())
	for name, c := range map[string]struct {
		h        *riverbackoff.Handle[int]
		min, max int
	}{"Insert": {plain, 1, 1}, "Watch with Subscribe": {watched, 2, 3}} {
		if _, err := c.h.Result(ctx); err != nil {
			t.Fatal(err)
		}
		n := 0
		for range c.h.Events() {
			n++
		}
		if n < c.min || n > c.max {
			t.Errorf("%s: %d events after the end, want %d to %d", name, n, c.min, c.max)
		}
	}
}

// TestWatchEdges covers a job watched before its transaction committed, a
// job deleted while watched, and a Watcher closed while its jobs live on.
func TestWatchEdges(t *testing.T) {
	pool, schema := testDB(t)
	policy, err := backoff.NewPolicy[string](backoff.MaxTries(1))
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	if err := riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[jobArgs[mIdle]]) (string, error) {
		return job.Args.Label, nil
	}); err != nil {
		t.Fatal(err)
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)

	t.Run("inserted in a transaction", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.InsertTx(ctx, tx, jobArgs[mIdle]{Label: "tx"}, riverbackoff.InsertOpts(policy, nil))
		if err != nil {
			t.Fatal(err)
		}
		h := riverbackoff.Watch[string](w, res.Job.ID) // not visible yet: waited for
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := h.Result(ctx); v != "tx" || err != nil {
			t.Errorf("Result = %q, %v; want tx, nil", v, err)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		later := &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
		h, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mIdle]{}, later)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.JobDelete(ctx, h.ID()); err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(ctx)
		if !errors.Is(err, backoff.ReasonCanceled) || !errors.Is(err, riverbackoff.ErrJobDeleted) {
			t.Errorf("Result error %v, want a give-up (canceled) caused by ErrJobDeleted", err)
		}
	})

	t.Run("watcher closed", func(t *testing.T) {
		w2, err := riverbackoff.NewWatcher(client, nil)
		if err != nil {
			t.Fatal(err)
		}
		later := &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
		h, err := riverbackoff.Insert(ctx, w2, policy, jobArgs[mIdle]{}, later)
		if err != nil {
			t.Fatal(err)
		}
		events := h.Events()
		w2.Close()
		if _, err := h.Result(ctx); !errors.Is(err, riverbackoff.ErrClosed) {
			t.Errorf("Result error %v, want ErrClosed", err)
		}
		if _, ok := <-events; ok {
			t.Error("Events not closed")
		}
		if err := riverbackoff.WatchTo(w2, h.ID(), make(chan backoff.Event[string])); !errors.Is(err, riverbackoff.ErrClosed) {
			t.Errorf("WatchTo on a closed Watcher: %v, want ErrClosed", err)
		}
		row, err := client.JobGet(ctx, h.ID())
		if err != nil || row.State != "scheduled" {
			t.Errorf("job after Close: %v, %v; want it still scheduled", row.State, err)
		}
	})
}
