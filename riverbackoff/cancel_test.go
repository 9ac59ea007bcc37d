package riverbackoff_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

type (
	mCancelWaiting   struct{}
	mCancelScheduled struct{}
	mCancelRunning   struct{}
)

func (mCancelWaiting) name() string   { return "cancel_waiting" }
func (mCancelScheduled) name() string { return "cancel_scheduled" }
func (mCancelRunning) name() string   { return "cancel_running" }

// TestCancelRunsNoHandler cancels jobs with Handle.Cancel: one waiting for
// its retry, one scheduled that never ran, and one whose attempt is
// running. No worker decides these give-ups, so no handler runs and
// nothing is logged for them; the Watcher still delivers each give-up.
// The running attempt is observed ending, and judged no try.
func TestCancelRunsNoHandler(t *testing.T) {
	pool, schema := testDB(t)
	hour := []backoff.Option{backoff.Constant{Interval: time.Hour}}
	var waiting, scheduled, running trace
	started := make(chan struct{})
	workers := river.NewWorkers()
	err := errors.Join(
		addTraced(workers, &waiting, hour, func(ctx context.Context, job *river.Job[jobArgs[mCancelWaiting]]) (int, error) {
			return 1, errTransient
		}),
		addTraced(workers, &scheduled, hour, func(ctx context.Context, job *river.Job[jobArgs[mCancelScheduled]]) (int, error) {
			return 1, errTransient
		}),
		addTraced(workers, &running, hour, func(ctx context.Context, job *river.Job[jobArgs[mCancelRunning]]) (int, error) {
			close(started) // one attempt only: any other fails the test by a panic
			<-ctx.Done()
			return 0, ctx.Err()
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)
	policy := newPolicy(t, hour...)

	hw, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mCancelWaiting]{}, nil, riverbackoff.Subscribe())
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-hw.Events(); ev.Kind != backoff.EventBackoff {
		t.Fatalf("first event %+v, want the backoff after the first try", ev)
	}
	later := &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
	hs, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mCancelScheduled]{}, later)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mCancelRunning]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the running job's attempt never started")
	}

	for name, h := range map[string]*riverbackoff.Handle[int]{"waiting": hw, "scheduled": hs, "running": hr} {
		if err := h.Cancel(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := h.Result(ctx); !errors.Is(err, backoff.ReasonCanceled) {
			t.Errorf("%s: Result error %v, want a give-up for ReasonCanceled", name, err)
		}
	}
	// The Watcher saw the rows cancelled, after any Work on them returned.
	for name, c := range map[string]struct {
		tr           *trace
		events, logs int
		obs          []backoff.ObservationKind
	}{
		"waiting":   {&waiting, 1, 1, []backoff.ObservationKind{backoff.ObserveAttemptStart, backoff.ObserveAttemptEnd, backoff.ObserveBackoff}},
		"scheduled": {&scheduled, 0, 0, nil},
		"running":   {&running, 0, 0, []backoff.ObservationKind{backoff.ObserveAttemptStart, backoff.ObserveAttemptEnd}},
	} {
		events, logs, obs := c.tr.snapshot()
		var kinds []backoff.ObservationKind
		for _, o := range obs {
			kinds = append(kinds, o.Kind)
		}
		if len(events) != c.events || len(logs) != c.logs || !slices.Equal(kinds, c.obs) {
			t.Errorf("%s: handler events %v, logs %q, observations %v; want %d, %d and %v",
				name, lines(events, eventLine), logs, lines(obs, observationLine), c.events, c.logs, c.obs)
		}
	}
	// Without a Name, the job kind names a job in logs and observations.
	_, _, obs := running.snapshot()
	for _, o := range obs {
		if o.Name != (jobArgs[mCancelRunning]{}).Kind() || o.ID != uint64(hr.ID()) || o.Tries != 1 {
			t.Errorf("observation %+v: want the job kind as its name, the job's ID and try 1", o)
		}
	}
}

// addTraced registers a worker for op under a policy of opts whose
// handlers, logger and observer record into tr.
func addTraced[A river.JobArgs](ws *river.Workers, tr *trace, opts []backoff.Option, op func(context.Context, *river.Job[A]) (int, error)) error {
	p, err := backoff.NewPolicy[int](append(tr.options(), opts...)...)
	if err != nil {
		return err
	}
	return riverbackoff.AddWorker(ws, p, op)
}
