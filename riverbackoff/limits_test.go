package riverbackoff_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

type (
	mLimits      struct{}
	mDeadline    struct{}
	mNoDeadline  struct{}
	mTrimRetry   struct{}
	mSnoozeLate  struct{}
	mSnoozeLateS struct{}
	mSnoozeOK    struct{}
)

func (mLimits) name() string      { return "limits" }
func (mDeadline) name() string    { return "deadline" }
func (mNoDeadline) name() string  { return "no_deadline" }
func (mTrimRetry) name() string   { return "trim_retry" }
func (mSnoozeLate) name() string  { return "snooze_late" }
func (mSnoozeLateS) name() string { return "snooze_late_strict" }
func (mSnoozeOK) name() string    { return "snooze_ok" }

func newPolicy(t *testing.T, opts ...backoff.Option) *backoff.Policy[int] {
	t.Helper()
	p, err := backoff.NewPolicy[int](opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMaxAttemptsFromMaxTries inserts jobs in every way riverbackoff
// offers and reads River's max_attempts back from their rows: the
// policy's MaxTries, River's largest without one, and a MaxAttempts given
// in the options as it is.
func TestMaxAttemptsFromMaxTries(t *testing.T) {
	pool, schema := testDB(t)
	client := startClient(t, pool, clientConfig(schema, nil)) // insert-only: the jobs stay put
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)
	four := newPolicy(t, backoff.MaxTries(4))
	untimed := newPolicy(t, backoff.MaxTime(time.Hour))
	args := jobArgs[mLimits]{}

	want := map[string]int{}
	ids := map[string]int64{}
	h, err := riverbackoff.Insert(ctx, w, four, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids["Insert, MaxTries(4)"], want["Insert, MaxTries(4)"] = h.ID(), 4
	id, err := riverbackoff.InsertTo(ctx, w, untimed, args, nil, make(chan backoff.Event[int], 1))
	if err != nil {
		t.Fatal(err)
	}
	ids["InsertTo, no MaxTries"], want["InsertTo, no MaxTries"] = id, riverbackoff.MaxAttempts
	res, err := client.Insert(ctx, args, riverbackoff.InsertOpts(four, &river.InsertOpts{MaxAttempts: 2}))
	if err != nil {
		t.Fatal(err)
	}
	ids["client.Insert, MaxAttempts 2 given"], want["client.Insert, MaxAttempts 2 given"] = res.Job.ID, 2
	many, err := client.InsertMany(ctx, []river.InsertManyParams{{Args: args, InsertOpts: riverbackoff.InsertOpts(newPolicy(t, backoff.MaxTries(6)), nil)}})
	if err != nil {
		t.Fatal(err)
	}
	ids["client.InsertMany, MaxTries(6)"], want["client.InsertMany, MaxTries(6)"] = many[0].Job.ID, 6

	for name, id := range ids {
		row, err := client.JobGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if row.MaxAttempts != want[name] {
			t.Errorf("%s: max_attempts %d, want %d", name, row.MaxAttempts, want[name])
		}
	}
	if _, err := riverbackoff.Insert[int](ctx, w, nil, args, nil); err == nil {
		t.Error("Insert with a nil policy: no error")
	}
	if _, err := riverbackoff.InsertTo(ctx, w, nil, args, nil, make(chan backoff.Event[int])); err == nil {
		t.Error("InsertTo with a nil policy: no error")
	}
}

// attemptLog keeps, for each call of an op, the job row it got and what
// the worker's record in it says.
type attemptLog struct {
	mu    sync.Mutex
	calls []opCall
}

type opCall struct {
	attemptedAt time.Time
	scheduledAt time.Time
	rec         stored
	hasRecord   bool
}

func (l *attemptLog) add(t *testing.T, job *rivertype.JobRow) int {
	c := opCall{attemptedAt: *job.AttemptedAt, scheduledAt: job.ScheduledAt, rec: recordOf(t, job)}
	c.hasRecord = !c.rec.Start.IsZero()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	return len(l.calls)
}

func (l *attemptLog) get() []opCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]opCall(nil), l.calls...)
}

// TestDeadline checks the deadline a MaxTime policy keeps in the job's
// record: the first attempt's start (by the database's clock: River's
// attempted_at) plus MaxTime, with every wait of the policy ending by it;
// a policy without MaxTime keeps none.
func TestDeadline(t *testing.T) {
	pool, schema := testDB(t)
	const limit = 10 * time.Second
	withDeadline := newPolicy(t, backoff.Constant{Interval: 50 * time.Millisecond}, backoff.NoJitter,
		backoff.MaxTime(limit), backoff.RetryOnValue(func(n int) bool { return n < 3 }))
	without := newPolicy(t, backoff.Constant{Interval: 50 * time.Millisecond}, backoff.NoJitter, backoff.MaxTries(3))
	var log attemptLog
	workers := river.NewWorkers()
	// An error, a value to retry, then a value that ends the job: both
	// ways of waiting (River's retry, a snooze) and the end.
	if err := riverbackoff.AddWorker(workers, withDeadline, func(_ context.Context, job *river.Job[jobArgs[mDeadline]]) (int, error) {
		n := log.add(t, job.JobRow)
		if n == 1 {
			return 0, errTransient
		}
		return n, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := riverbackoff.AddWorker(workers, without, func(_ context.Context, job *river.Job[jobArgs[mNoDeadline]]) (int, error) {
		if job.Attempt == 1 {
			return 0, errTransient
		}
		return 1, nil
	}); err != nil {
		t.Fatal(err)
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)

	h, err := riverbackoff.Insert(ctx, w, withDeadline, jobArgs[mDeadline]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := h.Result(ctx); v != 3 || err != nil {
		t.Fatalf("Result = %d, %v; want 3, nil", v, err)
	}
	calls := log.get()
	if len(calls) != 3 || calls[0].hasRecord {
		t.Fatalf("calls %+v: want 3, the first without a record", calls)
	}
	start := calls[0].attemptedAt
	for i, c := range calls[1:] {
		r := c.rec
		if !r.Start.Equal(start) || !r.Deadline.Equal(start.Add(limit)) {
			t.Errorf("call %d: start %v, deadline %v; want the first attempt's attempted_at %v, and %v after it", i+2, r.Start, r.Deadline, start, limit)
		}
		if due := r.Start.Add(r.Elapsed + r.Wait); !r.Due.Equal(due) || r.Due.After(r.Deadline) || r.Wait != 50*time.Millisecond {
			t.Errorf("call %d: due %v, want start + elapsed + the 50ms wait (%v), by the deadline", i+2, r.Due, due)
		}
	}
	row, err := client.JobGet(ctx, h.ID())
	if err != nil {
		t.Fatal(err)
	}
	rec, keys := recordOf(t, row), storedKeys(t, row)
	if !rec.Deadline.Equal(start.Add(limit)) || keys["due"] || rec.Event != "success" {
		t.Errorf("final record %+v (keys %v): want the deadline kept, and no due time once the job ended", rec, keys)
	}

	h2, err := riverbackoff.Insert(ctx, w, without, jobArgs[mNoDeadline]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h2.Result(ctx); err != nil {
		t.Fatal(err)
	}
	row, err = client.JobGet(ctx, h2.ID())
	if err != nil {
		t.Fatal(err)
	}
	if keys := storedKeys(t, row); keys["deadline"] || !keys["start"] {
		t.Errorf("record keys %v without MaxTime: want a start and no deadline", keys)
	}
}

// TestNextRetryTrimmedToDeadline fails every attempt of a MaxTime job, so
// that River retries it at NextRetry: with a 400ms wait and an 800ms
// limit, the first retry is due at about 400ms, and the second's wait is
// trimmed to end at the deadline. That last attempt runs, though River
// starts it a little after the deadline, and Decide ends the job after it.
func TestNextRetryTrimmedToDeadline(t *testing.T) {
	pool, schema := testDB(t)
	const limit, wait = 800 * time.Millisecond, 400 * time.Millisecond
	policy := newPolicy(t, backoff.Constant{Interval: wait}, backoff.NoJitter, backoff.MaxTime(limit))
	var log attemptLog
	workers := river.NewWorkers()
	if err := riverbackoff.AddWorker(workers, policy, func(_ context.Context, job *river.Job[jobArgs[mTrimRetry]]) (int, error) {
		return log.add(t, job.JobRow), errTransient
	}); err != nil {
		t.Fatal(err)
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)
	h, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mTrimRetry]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Result(ctx)
	var ge *backoff.GiveUpError
	if !errors.As(err, &ge) || ge.Reason != backoff.ReasonMaxTime {
		t.Fatalf("Result error %v, want max time", err)
	}
	calls := log.get()
	if ge.Tries != len(calls) || len(calls) != 3 {
		t.Fatalf("%d tries, %d op calls; want 3 of each: every attempt the policy scheduled runs", ge.Tries, len(calls))
	}
	start := calls[0].attemptedAt
	dl := start.Add(limit)
	last := calls[len(calls)-1]
	for i, c := range calls[1:] {
		// scheduled_at is NextRetry's, on this machine's clock, which the
		// database shares here: allow for the write.
		if c.scheduledAt.After(dl.Add(20 * time.Millisecond)) {
			t.Errorf("retry %d scheduled %v after the deadline", i+1, c.scheduledAt.Sub(dl))
		}
		if c.rec.Due.After(c.rec.Deadline) || !c.rec.Deadline.Equal(dl) {
			t.Errorf("retry %d: due %v, deadline %v; want due by the deadline %v", i+1, c.rec.Due, c.rec.Deadline, dl)
		}
	}
	if r := last.rec; r.Elapsed+r.Wait != limit || r.Wait >= wait || !r.Due.Equal(dl) {
		t.Errorf("the last wait, %v after %v, due %v: want it trimmed to end at the deadline %v", r.Wait, r.Elapsed, r.Due, dl)
	}
	if ge.Elapsed < limit {
		t.Errorf("gave up after %v, before the limit", ge.Elapsed)
	}
	t.Logf("%d tries; the last, trimmed to the deadline, started %v after it; %v", len(calls), last.attemptedAt.Sub(dl).Round(time.Millisecond), ge)
}

// TestDeadlinePassedWhileSnoozed has the op snooze the job itself
// (river.JobSnooze, which is not a try and not the policy's wait, so not
// trimmed) past the deadline: the attempt after the snooze gives up with
// ReasonMaxTime without calling the op, under MaxTime and MaxTimeStrict
// alike. A snooze that ends by the deadline is honoured, and the job goes
// on.
func TestDeadlinePassedWhileSnoozed(t *testing.T) {
	pool, schema := testDB(t)
	const limit, snooze = 300 * time.Millisecond, 700 * time.Millisecond
	policy := func(limit backoff.Option) *backoff.Policy[int] {
		return newPolicy(t, backoff.Constant{Interval: 20 * time.Millisecond}, backoff.NoJitter, limit)
	}
	late, strict, roomy := policy(backoff.MaxTime(limit)), policy(backoff.MaxTimeStrict(limit)), policy(backoff.MaxTime(5*time.Second))
	var lateLog, strictLog, roomyLog attemptLog
	workers := river.NewWorkers()
	addSnoozer[mSnoozeLate](t, workers, late, &lateLog, snooze)
	addSnoozer[mSnoozeLateS](t, workers, strict, &strictLog, snooze)
	addSnoozer[mSnoozeOK](t, workers, roomy, &roomyLog, 100*time.Millisecond)
	jobs := []struct {
		name   string
		log    *attemptLog
		insert func(context.Context, *riverbackoff.Watcher) (*riverbackoff.Handle[int], error)
	}{
		{"MaxTime", &lateLog, func(ctx context.Context, w *riverbackoff.Watcher) (*riverbackoff.Handle[int], error) {
			return riverbackoff.Insert(ctx, w, late, jobArgs[mSnoozeLate]{}, nil)
		}},
		{"MaxTimeStrict", &strictLog, func(ctx context.Context, w *riverbackoff.Watcher) (*riverbackoff.Handle[int], error) {
			return riverbackoff.Insert(ctx, w, strict, jobArgs[mSnoozeLateS]{}, nil)
		}},
		{"snooze within the deadline", &roomyLog, func(ctx context.Context, w *riverbackoff.Watcher) (*riverbackoff.Handle[int], error) {
			return riverbackoff.Insert(ctx, w, roomy, jobArgs[mSnoozeOK]{}, nil)
		}},
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	for _, j := range jobs {
		t.Run(j.name, func(t *testing.T) {
			t.Parallel()
			ctx := deadline(t, 30*time.Second)
			h, err := j.insert(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			events := h.Events()
			v, err := h.Result(ctx)
			var last backoff.Event[int]
			for ev := range events {
				last = ev
			}
			calls := j.log.get()
			row, rerr := client.JobGet(ctx, h.ID())
			if rerr != nil {
				t.Fatal(rerr)
			}
			rec := recordOf(t, row)
			if j.name == "snooze within the deadline" {
				if v != 7 || err != nil || len(calls) != 3 || last.Tries != 2 {
					t.Errorf("Result = %d, %v after %d calls (event %+v); want 7 after 3 calls and 2 tries", v, err, len(calls), last)
				}
				return
			}
			var ge *backoff.GiveUpError
			if !errors.As(err, &ge) || ge.Reason != backoff.ReasonMaxTime || ge.Tries != 1 || ge.Elapsed < limit ||
				ge.Err == nil || ge.Err.Error() != errTransient.Error() {
				t.Fatalf("Result error %v: want max time after 1 try, the limit passed, with the last attempt's error", err)
			}
			if len(calls) != 2 {
				t.Errorf("%d op calls, want 2: none after the snooze", len(calls))
			}
			if last.Kind != backoff.EventGiveUp || last.Reason != backoff.ReasonMaxTime || last.Tries != 1 {
				t.Errorf("terminal event %+v, want a give-up for max time after 1 try", last)
			}
			start := calls[0].attemptedAt
			// River counted the error and the attempt that gave up (the
			// snooze it does not count): 2, the record's 1 try and 1 skipped.
			if row.State != rivertype.JobStateCancelled || row.Attempt != 2 || rec.Tries != 1 || rec.Skipped != 1 ||
				rec.Reason != "max time" || !rec.Deadline.Equal(start.Add(limit)) {
				t.Errorf("row: state %s, attempt %d, record %+v; want cancelled at attempt 2, 1 try and 1 skipped, deadline %v after the start",
					row.State, row.Attempt, rec, limit)
			}
			t.Log(ge)
		})
	}
}

// addSnoozer registers, for kind N, an op that fails its first call
// (try 1), snoozes the job itself for d on its second (not a try), and
// returns 7 after.
func addSnoozer[N named](t *testing.T, workers *river.Workers, p *backoff.Policy[int], log *attemptLog, d time.Duration) {
	t.Helper()
	if err := riverbackoff.AddWorker(workers, p, func(_ context.Context, job *river.Job[jobArgs[N]]) (int, error) {
		switch log.add(t, job.JobRow) {
		case 1:
			return 0, errTransient
		case 2:
			return 0, river.JobSnooze(d)
		}
		return 7, nil
	}); err != nil {
		t.Fatal(err)
	}
}
