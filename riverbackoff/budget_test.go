package riverbackoff_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

type mBudgetWait struct{}

func (mBudgetWait) name() string { return "budget_wait" }

// TestBudgetWaitSnoozes runs a job whose policy waits for room in an
// empty budget (WaitWhenEmpty): the worker snoozes the job for the time
// until the budget's window moves, asks again at each run, and runs the
// retry once there is room. The job never fails meanwhile, and its
// OnBackoff handler runs once per failed try, not once per snooze. The
// budget's clock is fake: its window moves when the test says.
func TestBudgetWaitSnoozes(t *testing.T) {
	pool, schema := testDB(t)
	mock := clock.NewMock()
	// Room for one retry per window, whatever the traffic.
	b, err := backoff.NewBudget(backoff.BudgetConfig{MinPerSecond: 0.1, Window: 10 * time.Second, Clock: mock})
	if err != nil {
		t.Fatal(err)
	}
	const slot = time.Second // the window moves a tenth at a time
	tr := &trace{}
	policy, err := backoff.NewPolicy[int](append(tr.options(), backoff.Constant{Interval: 10 * time.Millisecond}, backoff.NoJitter,
		backoff.MaxTries(5), backoff.WithBudget(b, backoff.WaitWhenEmpty))...)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	workers := river.NewWorkers()
	if err := riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[jobArgs[mBudgetWait]]) (int, error) {
		if n := int(calls.Add(1)); n < 3 {
			return n, errTransient
		}
		return 3, nil
	}); err != nil {
		t.Fatal(err)
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)
	h, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mBudgetWait]{}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The first retry takes the window's room; the second finds none, and
	// each run of the job after it asks again and snoozes until the
	// window moves: River keeps a snoozed job available, due later.
	var row *rivertype.JobRow
	waitUntil(ctx, t, "a snooze for the budget", func() bool {
		row, err = client.JobGet(ctx, h.ID())
		if err != nil {
			t.Fatal(err)
		}
		return row.State == rivertype.JobStateAvailable && snoozes(t, row) > 0
	})
	if denied := b.Stats().Denied; denied < 2 {
		t.Errorf("the budget refused %d retries, want the second retry and at least one more ask", denied)
	}
	rec := recordOf(t, row)
	if n := calls.Load(); n != 2 {
		t.Errorf("the op ran %d times while the budget was empty, want 2", n)
	}
	if len(row.Errors) != 2 || rec.Tries != 2 || !rec.Owed {
		t.Errorf("while waiting: %d errors in the row, record %+v; want the 2 failed tries and the retry owed", len(row.Errors), rec)
	}
	if wait := rec.Due.Sub(*row.AttemptedAt); wait != slot {
		t.Errorf("snoozed until %v after the run began, want %v: the time until the window moves", wait, slot)
	}
	if d := row.ScheduledAt.Sub(rec.Due); d < -time.Second || d > time.Second {
		t.Errorf("River runs the job again at %v, %v from the record's due time %v", row.ScheduledAt, d, rec.Due)
	}

	mock.Add(10 * time.Second) // the spent retry leaves the window: room for one
	if v, err := h.Result(ctx); v != 3 || err != nil {
		t.Fatalf("Result = %d, %v; want 3, nil", v, err)
	}
	events, _, obs := tr.snapshot()
	want := []string{
		"backoff tries=1 wait=10ms value=1 reason=none err=transient",
		"backoff tries=2 wait=10ms value=2 reason=none err=transient",
		"success tries=3 wait=0s value=3 reason=none err=-",
	}
	same(t, "handler events", lines(events, eventLine), want)
	starts := 0
	for _, o := range obs {
		if o.Kind == backoff.ObserveAttemptStart {
			starts++
		}
	}
	if starts != 3 {
		t.Errorf("%d attempt starts observed, want 3: a snooze for the budget starts no attempt", starts)
	}
	row, err = client.JobGet(ctx, h.ID())
	if err != nil {
		t.Fatal(err)
	}
	if row.State != rivertype.JobStateCompleted || len(row.Errors) != 2 {
		t.Errorf("row %s with %d errors, want completed with the 2 failed tries'", row.State, len(row.Errors))
	}
}

// snoozes returns how many times River snoozed the job.
func snoozes(t *testing.T, row *rivertype.JobRow) int {
	t.Helper()
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	if err := json.Unmarshal(row.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	return m.Snoozes
}
