package riverbackoff_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

var (
	errTransient = errors.New("transient")
	errFatal     = errors.New("fatal")
)

type (
	mMaxTries     struct{}
	mPermanent    struct{}
	mJobCancel    struct{}
	mGiveUp       struct{}
	mNotRetryable struct{}
	mExhausted    struct{}
	mMaxTime      struct{}
	mMaxTimeStr   struct{}
	mPanic        struct{}
	mRiverMax     struct{}
	mCanceled     struct{}
)

func (mMaxTries) name() string     { return "max_tries" }
func (mPermanent) name() string    { return "permanent" }
func (mJobCancel) name() string    { return "job_cancel" }
func (mGiveUp) name() string       { return "give_up" }
func (mNotRetryable) name() string { return "not_retryable" }
func (mExhausted) name() string    { return "exhausted" }
func (mMaxTime) name() string      { return "max_time" }
func (mMaxTimeStr) name() string   { return "max_time_strict" }
func (mPanic) name() string        { return "panic" }
func (mRiverMax) name() string     { return "river_max_attempts" }
func (mCanceled) name() string     { return "canceled" }

// reasonCase is one way for a job to end.
type reasonCase struct {
	name     string
	register func(*river.Workers) error
	insert   func(context.Context, *riverbackoff.Watcher) (*riverbackoff.Handle[int], error)
	reason   backoff.Reason
	tries    int // 0: not checked
	state    rivertype.JobState
	// maxAttempts is River's max_attempts of the row: the policy's
	// MaxTries, or River's largest (0 here) without one.
	maxAttempts int
	check       func(*testing.T, *backoff.GiveUpError)
}

// makeCase builds a case for the job kind of marker N, whose op gets the
// attempt number (1, 2, ...).
func makeCase[N named](name string, opts []backoff.Option, op func(n int, job *rivertype.JobRow) (int, error), insertOpts *river.InsertOpts) reasonCase {
	p, perr := backoff.NewPolicy[int](opts...)
	return reasonCase{
		name: name,
		register: func(ws *river.Workers) error {
			if perr != nil {
				return perr
			}
			n := 0
			return riverbackoff.AddWorker(ws, p, func(ctx context.Context, job *river.Job[jobArgs[N]]) (int, error) {
				n++ // one job per kind: attempts never overlap
				return op(n, job.JobRow)
			})
		},
		insert: func(ctx context.Context, w *riverbackoff.Watcher) (*riverbackoff.Handle[int], error) {
			return riverbackoff.Insert(ctx, w, p, jobArgs[N]{}, insertOpts)
		},
		state: rivertype.JobStateCancelled,
	}
}

func failing(err error) func(int, *rivertype.JobRow) (int, error) {
	return func(n int, _ *rivertype.JobRow) (int, error) { return n, err }
}

// waitLog collects, from the record each attempt finds in its job's
// metadata, the previous attempt's elapsed time and wait.
type waitLog struct {
	mu    sync.Mutex
	steps [][2]time.Duration
}

func (l *waitLog) op(n int, job *rivertype.JobRow) (int, error) {
	var m map[string]json.RawMessage
	var r struct {
		Elapsed time.Duration `json:"elapsed_ns"`
		Wait    time.Duration `json:"wait_ns"`
	}
	if err := json.Unmarshal(job.Metadata, &m); err != nil {
		return n, backoff.Permanent(err)
	}
	if raw, ok := m[riverbackoff.MetadataKey]; ok {
		if err := json.Unmarshal(raw, &r); err != nil {
			return n, backoff.Permanent(err)
		}
		l.mu.Lock()
		l.steps = append(l.steps, [2]time.Duration{r.Elapsed, r.Wait})
		l.mu.Unlock()
	}
	return n, nil
}

// TestGiveUpReasons ends a job for every give-up reason a durable job can
// have, and checks the terminal event, the error Result returns, and the
// state River leaves the row in.
func TestGiveUpReasons(t *testing.T) {
	pool, schema := testDB(t)
	var trimmed, strict waitLog
	const limit = 350 * time.Millisecond
	fast := []backoff.Option{backoff.Constant{Interval: 10 * time.Millisecond}, backoff.NoJitter}
	with := func(extra ...backoff.Option) []backoff.Option {
		return append(append([]backoff.Option{}, fast...), extra...)
	}
	cases := []reasonCase{
		makeCase[mMaxTries]("MaxTries", with(backoff.MaxTries(3)), failing(errTransient), nil),
		makeCase[mPermanent]("Permanent", fast, failing(backoff.Permanent(errFatal)), nil),
		makeCase[mJobCancel]("river.JobCancel from the op", fast, failing(river.JobCancel(errFatal)), nil),
		makeCase[mGiveUp]("GiveUp predicate", with(backoff.GiveUp(func(err error) bool { return errors.Is(err, errFatal) })),
			func(n int, _ *rivertype.JobRow) (int, error) {
				if n < 2 {
					return n, errTransient
				}
				return n, errFatal
			}, nil),
		makeCase[mNotRetryable]("not retryable", with(backoff.RetryOn(errTransient)), failing(errFatal), nil),
		makeCase[mExhausted]("strategy exhausted", []backoff.Option{backoff.Intervals{10 * time.Millisecond, 10 * time.Millisecond}}, failing(errTransient), nil),
		makeCase[mMaxTime]("MaxTime", []backoff.Option{backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter,
			backoff.MaxTime(limit), backoff.RetryOnValue(func(int) bool { return true })},
			trimmed.op, nil),
		makeCase[mMaxTimeStr]("MaxTimeStrict", []backoff.Option{backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter,
			backoff.MaxTimeStrict(limit), backoff.RetryOnValue(func(int) bool { return true })},
			strict.op, nil),
		makeCase[mPanic]("panic", fast, func(int, *rivertype.JobRow) (int, error) { panic("boom") }, nil),
		makeCase[mRiverMax]("River's MaxAttempts first", with(backoff.MaxTries(5)), failing(errTransient), &river.InsertOpts{MaxAttempts: 2}),
		makeCase[mCanceled]("Handle.Cancel", []backoff.Option{backoff.Constant{Interval: time.Hour}}, failing(errTransient), nil),
	}
	byName := func(name string) *reasonCase {
		for i := range cases {
			if cases[i].name == name {
				return &cases[i]
			}
		}
		panic(name)
	}
	c := byName("MaxTries")
	c.reason, c.tries, c.maxAttempts = backoff.ReasonMaxTries, 3, 3
	c.check = func(t *testing.T, ge *backoff.GiveUpError) {
		if !errors.Is(ge, errTransient) && ge.Err.Error() != errTransient.Error() {
			t.Errorf("last error %v, want %v", ge.Err, errTransient)
		}
	}
	c = byName("Permanent")
	c.reason, c.tries = backoff.ReasonPermanent, 1
	c = byName("river.JobCancel from the op")
	c.reason, c.tries = backoff.ReasonPermanent, 1
	c = byName("GiveUp predicate")
	c.reason, c.tries = backoff.ReasonGiveUp, 2
	c = byName("not retryable")
	c.reason, c.tries = backoff.ReasonNotRetryable, 1
	c = byName("strategy exhausted")
	c.reason, c.tries = backoff.ReasonExhausted, 3
	// MaxTime trims the wait that would pass the limit, so that one last
	// attempt runs at about the limit; MaxTimeStrict gives up instead.
	c = byName("MaxTime")
	c.reason = backoff.ReasonMaxTime
	c.check = func(t *testing.T, ge *backoff.GiveUpError) {
		trimmed.mu.Lock()
		defer trimmed.mu.Unlock()
		for _, st := range trimmed.steps {
			if want := min(100*time.Millisecond, limit-st[0]); st[1] != want {
				t.Errorf("after %v: wait %v, want %v", st[0], st[1], want)
			}
		}
		if ge.Elapsed < limit {
			t.Errorf("gave up after %v, before the limit", ge.Elapsed)
		}
		if ge.Tries != len(trimmed.steps)+1 {
			t.Errorf("%d tries, %d op calls: every attempt the policy scheduled must run", ge.Tries, len(trimmed.steps)+1)
		}
		t.Logf("(elapsed, wait) per retry: %v", trimmed.steps)
	}
	c = byName("MaxTimeStrict")
	c.reason = backoff.ReasonMaxTime
	c.check = func(t *testing.T, ge *backoff.GiveUpError) {
		strict.mu.Lock()
		defer strict.mu.Unlock()
		for _, st := range strict.steps {
			if st[1] != 100*time.Millisecond || st[0]+st[1] > limit {
				t.Errorf("after %v: wait %v, want 100ms ending within the limit", st[0], st[1])
			}
		}
		if ge.Elapsed+100*time.Millisecond <= limit {
			t.Errorf("gave up after %v, though the next wait would end within the limit", ge.Elapsed)
		}
		if ge.Tries != len(strict.steps)+1 {
			t.Errorf("%d tries, %d op calls: every attempt the policy scheduled must run", ge.Tries, len(strict.steps)+1)
		}
		t.Logf("(elapsed, wait) per retry: %v", strict.steps)
	}
	c = byName("panic")
	c.reason, c.tries = backoff.ReasonPanic, 1
	c.check = func(t *testing.T, ge *backoff.GiveUpError) {
		if ge.Cause == nil || !strings.Contains(ge.Cause.Error(), "boom") {
			t.Errorf("cause %v, want the panic", ge.Cause)
		}
	}
	c = byName("River's MaxAttempts first")
	c.reason, c.tries, c.state, c.maxAttempts = backoff.ReasonMaxTries, 2, rivertype.JobStateDiscarded, 2
	c = byName("Handle.Cancel")
	c.reason, c.tries = backoff.ReasonCanceled, 1

	workers := river.NewWorkers()
	for _, c := range cases {
		if err := c.register(workers); err != nil {
			t.Fatal(err)
		}
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := deadline(t, 30*time.Second)
			h, err := c.insert(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			events := h.Events()
			if c.reason == backoff.ReasonCanceled {
				// Cancel once the first attempt failed: the job waits an hour.
				if ev := <-events; ev.Kind != backoff.EventBackoff {
					t.Fatalf("first event %+v, want a backoff event", ev)
				}
				if err := h.Cancel(ctx); err != nil {
					t.Fatal(err)
				}
			}
			v, err := h.Result(ctx)
			var ge *backoff.GiveUpError
			if !errors.As(err, &ge) {
				t.Fatalf("Result = %d, %v; want a *backoff.GiveUpError", v, err)
			}
			if ge.Reason != c.reason || !errors.Is(err, c.reason) {
				t.Errorf("reason %v, want %v (%v)", ge.Reason, c.reason, err)
			}
			if c.tries != 0 && ge.Tries != c.tries {
				t.Errorf("tries %d, want %d (%v)", ge.Tries, c.tries, err)
			}
			var last backoff.Event[int]
			for ev := range events {
				last = ev
			}
			if last.Kind != backoff.EventGiveUp || last.Reason != c.reason || last.Tries != ge.Tries {
				t.Errorf("terminal event %+v, want a give-up for %v", last, c.reason)
			}
			if c.check != nil {
				c.check(t, ge)
			}
			row, err := client.JobGet(ctx, h.ID())
			if err != nil {
				t.Fatal(err)
			}
			if row.State != c.state {
				t.Errorf("row state %s, want %s", row.State, c.state)
			}
			if want := cmp.Or(c.maxAttempts, riverbackoff.MaxAttempts); row.MaxAttempts != want {
				t.Errorf("row max_attempts %d, want %d", row.MaxAttempts, want)
			}
			t.Logf("%v", ge)
		})
	}
}
