package riverbackoff_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

type (
	hSuccess      struct{}
	hValue        struct{}
	hMaxTries     struct{}
	hGiveUp       struct{}
	hPermanent    struct{}
	hNotRetryable struct{}
	hExhausted    struct{}
	hPanic        struct{}
	hBackoffPanic struct{}
	hSuccessPanic struct{}
	hObsPanic     struct{}
	hNilError     struct{}
	hRiverMax     struct{}
	hBudget       struct{}
	hBudgetLate   struct{}
	hLost         struct{}
	hLostGiveUp   struct{}
	hMaxTime      struct{}
)

func (hSuccess) name() string      { return "h_success" }
func (hValue) name() string        { return "h_value" }
func (hMaxTries) name() string     { return "h_max_tries" }
func (hGiveUp) name() string       { return "h_give_up" }
func (hPermanent) name() string    { return "h_permanent" }
func (hNotRetryable) name() string { return "h_not_retryable" }
func (hExhausted) name() string    { return "h_exhausted" }
func (hPanic) name() string        { return "h_panic" }
func (hBackoffPanic) name() string { return "h_backoff_panic" }
func (hSuccessPanic) name() string { return "h_success_panic" }
func (hObsPanic) name() string     { return "h_observer_panic" }
func (hNilError) name() string     { return "h_nil_error" }
func (hRiverMax) name() string     { return "h_river_max" }
func (hBudget) name() string       { return "h_budget" }
func (hBudgetLate) name() string   { return "h_budget_late" }
func (hLost) name() string         { return "h_lost" }
func (hLostGiveUp) name() string   { return "h_lost_give_up" }
func (hMaxTime) name() string      { return "h_max_time" }

// nilError's Error dereferences its receiver: a typed nil *nilError
// returned as an error panics when it is formatted.
type nilError struct{ msg string }

func (e *nilError) Error() string { return e.msg }

// handlerCase is one way for a worker to decide a job's outcome. The same
// policy and op run once as a River job and once in process, with
// backoff.Retry.
type handlerCase struct {
	name string
	// opts are the policy's options beside the trace's; a function, so
	// that each run gets its own budget.
	opts func() []backoff.Option
	// inProcess, if set, replaces opts for the in-process run: River's own
	// limits written as the policy's.
	inProcess func() []backoff.Option
	// op returns what try number n (1, 2, ...) returns.
	op         func(n int) (int, error)
	insertOpts *river.InsertOpts
	// lost makes the job's first attempt one that River counted and that
	// left no record, as when its worker was killed: op then runs from try
	// 2, and try 1 returns ErrAttemptLost in process.
	lost bool
	// reason and tries are the outcome both runs must reach.
	reason backoff.Reason
	tries  int
	// panics is what Worker.HandlerPanics must count.
	panics uint64
	// timed: the outcome depends on elapsed time (MaxTime), so the run in
	// process is not compared; shape is checked instead.
	timed bool

	register func(*river.Workers, *trace) (counter func() uint64, err error)
	insert   func(context.Context, *riverbackoff.Watcher, *pgxpool.Pool, string) (*riverbackoff.Handle[int], error)
}

func (c *handlerCase) policy(tr *trace, opts func() []backoff.Option) (*backoff.Policy[int], error) {
	return backoff.NewPolicy[int](append(append(tr.options(), backoff.Name("task")), opts()...)...)
}

// handlerKind binds a case to the job kind of marker N.
func handlerKind[N named](c handlerCase) handlerCase {
	c.register = func(ws *river.Workers, tr *trace) (func() uint64, error) {
		p, err := c.policy(tr, c.opts)
		if err != nil {
			return nil, err
		}
		var calls atomic.Int64
		w, err := riverbackoff.NewWorker(p, func(ctx context.Context, job *river.Job[jobArgs[N]]) (int, error) {
			n := int(calls.Add(1))
			if c.lost {
				n++
			}
			return c.op(n)
		})
		if err != nil {
			return nil, err
		}
		return w.HandlerPanics, river.AddWorkerSafely(ws, w)
	}
	c.insert = func(ctx context.Context, w *riverbackoff.Watcher, pool *pgxpool.Pool, schema string) (*riverbackoff.Handle[int], error) {
		p, err := backoff.NewPolicy[int](c.opts()...)
		if err != nil {
			return nil, err
		}
		if !c.lost {
			return riverbackoff.Insert(ctx, w, p, jobArgs[N]{}, c.insertOpts)
		}
		// A job whose first attempt River counted and no worker recorded:
		// inserted for later, then made due with that attempt.
		h, err := riverbackoff.Insert(ctx, w, p, jobArgs[N]{}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
		if err != nil {
			return nil, err
		}
		_, err = pool.Exec(ctx, "UPDATE "+schema+".river_job SET attempt = 1, attempted_at = now(), scheduled_at = now(), state = 'available' WHERE id = $1", h.ID())
		return h, err
	}
	return c
}

func fails(err error, okFrom int) func(int) (int, error) {
	return func(n int) (int, error) {
		if okFrom > 0 && n >= okFrom {
			return n, nil
		}
		return n, err
	}
}

func handlerCases() []handlerCase {
	fast := func(extra ...backoff.Option) func() []backoff.Option {
		return func() []backoff.Option {
			return append([]backoff.Option{backoff.Constant{Interval: 10 * time.Millisecond}, backoff.NoJitter}, extra...)
		}
	}
	var typedNil *nilError
	// noRoom is a budget in which a first attempt earns half a retry:
	// none is ever allowed. Its clock never moves.
	noRoom := func() *backoff.Budget {
		b, err := backoff.NewBudget(backoff.BudgetConfig{Ratio: 0.5, Window: time.Second, Clock: clock.NewMock()})
		if err != nil {
			panic(err)
		}
		return b
	}
	return []handlerCase{
		handlerKind[hSuccess](handlerCase{name: "success after retries", opts: fast(backoff.MaxTries(5)),
			op: fails(errTransient, 3), tries: 3}),
		handlerKind[hValue](handlerCase{name: "value retried", opts: fast(backoff.RetryOnValue(func(v int) bool { return v < 3 })),
			op: fails(nil, 0), tries: 3}),
		handlerKind[hMaxTries](handlerCase{name: "MaxTries", opts: fast(backoff.MaxTries(3)),
			op: fails(errTransient, 0), reason: backoff.ReasonMaxTries, tries: 3}),
		handlerKind[hGiveUp](handlerCase{name: "GiveUp predicate", opts: fast(backoff.GiveUp(func(err error) bool { return errors.Is(err, errFatal) })),
			op: func(n int) (int, error) {
				if n < 2 {
					return n, errTransient
				}
				return n, errFatal
			}, reason: backoff.ReasonGiveUp, tries: 2}),
		handlerKind[hPermanent](handlerCase{name: "Permanent", opts: fast(),
			op: func(n int) (int, error) {
				if n < 2 {
					return n, errTransient
				}
				return n, backoff.Permanent(errFatal)
			}, reason: backoff.ReasonPermanent, tries: 2}),
		handlerKind[hNotRetryable](handlerCase{name: "not retryable", opts: fast(backoff.RetryOn(errTransient)),
			op: func(n int) (int, error) {
				if n < 2 {
					return n, errTransient
				}
				return n, errFatal
			}, reason: backoff.ReasonNotRetryable, tries: 2}),
		handlerKind[hExhausted](handlerCase{name: "strategy exhausted",
			opts: func() []backoff.Option {
				return []backoff.Option{backoff.Intervals{10 * time.Millisecond, 20 * time.Millisecond}, backoff.NoJitter}
			},
			op: fails(errTransient, 0), reason: backoff.ReasonExhausted, tries: 3}),
		handlerKind[hPanic](handlerCase{name: "op panics", opts: fast(),
			op: func(n int) (int, error) {
				if n < 2 {
					return n, errTransient
				}
				panic("boom")
			}, reason: backoff.ReasonPanic, tries: 2}),
		handlerKind[hBackoffPanic](handlerCase{name: "OnBackoff panics",
			opts: fast(backoff.OnBackoff(func(backoff.Event[int]) { panic("handler") })),
			op:   fails(errTransient, 0), reason: backoff.ReasonPanic, tries: 1}),
		handlerKind[hSuccessPanic](handlerCase{name: "OnSuccess panics",
			opts: fast(backoff.OnSuccess(func(backoff.Event[int]) { panic("handler") })),
			op:   fails(errTransient, 2), tries: 2, panics: 1}),
		handlerKind[hObsPanic](handlerCase{name: "observer panics",
			opts: fast(backoff.MaxTries(2), backoff.WithObserver(panicObserver{})),
			op:   fails(errTransient, 0), reason: backoff.ReasonMaxTries, tries: 2, panics: 6}),
		handlerKind[hNilError](handlerCase{name: "Error method panics", opts: fast(backoff.MaxTries(2)),
			op: fails(typedNil, 0), reason: backoff.ReasonMaxTries, tries: 2, panics: 2}),
		handlerKind[hRiverMax](handlerCase{name: "River's MaxAttempts first", opts: fast(backoff.MaxTries(5)),
			inProcess: fast(backoff.MaxTries(2)), insertOpts: &river.InsertOpts{MaxAttempts: 2},
			op: fails(errTransient, 0), reason: backoff.ReasonMaxTries, tries: 2}),
		handlerKind[hBudget](handlerCase{name: "budget empty, GiveUpWhenEmpty",
			opts: func() []backoff.Option {
				return append(fast()(), backoff.WithBudget(noRoom(), backoff.GiveUpWhenEmpty))
			},
			op: fails(errTransient, 0), reason: backoff.ReasonBudget, tries: 1}),
		// The budget's next room (a slot, 100ms, on its clock) is past
		// MaxTime: the owed retry gives up before it runs.
		handlerKind[hBudgetLate](handlerCase{name: "budget empty, WaitWhenEmpty past MaxTime",
			opts: func() []backoff.Option {
				return append(fast()(), backoff.MaxTime(90*time.Millisecond), backoff.WithBudget(noRoom(), backoff.WaitWhenEmpty))
			},
			op: fails(errTransient, 0), reason: backoff.ReasonBudget, tries: 1}),
		handlerKind[hLost](handlerCase{name: "lost attempt retried", opts: fast(backoff.MaxTries(3)),
			lost: true, op: lostFirst, tries: 2}),
		handlerKind[hLostGiveUp](handlerCase{name: "lost attempt gives up",
			opts: fast(backoff.GiveUp(func(err error) bool { return errors.Is(err, riverbackoff.ErrAttemptLost) })),
			lost: true, op: lostFirst, reason: backoff.ReasonGiveUp, tries: 1}),
		handlerKind[hMaxTime](handlerCase{name: "MaxTime",
			opts: func() []backoff.Option {
				return []backoff.Option{backoff.Constant{Interval: 100 * time.Millisecond}, backoff.NoJitter,
					backoff.MaxTime(250 * time.Millisecond), backoff.RetryOnValue(func(int) bool { return true })}
			},
			op: fails(nil, 0), reason: backoff.ReasonMaxTime, timed: true}),
	}
}

// lostFirst is the op of a job whose first try was lost: in process, that
// try returns what the worker judges a lost attempt by.
func lostFirst(n int) (int, error) {
	if n == 1 {
		return 0, riverbackoff.ErrAttemptLost
	}
	return n, nil
}

// panicObserver panics at every observation.
type panicObserver struct{}

func (panicObserver) Observe(backoff.Observation) { panic("observer") }

// TestHandlersRunForWorkerOutcomes runs, for every outcome that a worker
// decides, a job whose policy has handlers, a logger and an observer, and
// the same policy and op in process with backoff.Retry: the handlers see
// the same events (each decision once), and the logger and the observer
// get the same records, but for IDs and times. The handlers' terminal
// event is also the one the Watcher reads back from the row.
func TestHandlersRunForWorkerOutcomes(t *testing.T) {
	pool, schema := testDB(t)
	cases := handlerCases()
	traces := make([]*trace, len(cases))
	counters := make([]func() uint64, len(cases))
	workers := river.NewWorkers()
	for i, c := range cases {
		traces[i] = &trace{}
		var err error
		if counters[i], err = c.register(workers, traces[i]); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := deadline(t, 30*time.Second)
			h, err := c.insert(ctx, w, pool, schema)
			if err != nil {
				t.Fatal(err)
			}
			v, err := h.Result(ctx)
			final := <-h.Events()
			events, logs, obs := traces[i].snapshot()
			if len(events) == 0 {
				t.Fatalf("no handler ran; Result = %d, %v", v, err)
			}
			last := events[len(events)-1]
			if last.Reason != c.reason || (c.tries != 0 && last.Tries != c.tries) {
				t.Errorf("outcome %s, want reason %v after %d tries", eventLine(last), c.reason, c.tries)
			}
			for _, ev := range events {
				if ev.ID != uint64(h.ID()) || ev.Key != "" {
					t.Errorf("event %+v: want the job's ID %d and no key", ev, h.ID())
				}
			}
			if final.Kind != last.Kind || final.Tries != last.Tries || final.Reason != last.Reason ||
				final.Value != last.Value || final.Elapsed != last.Elapsed || errLine(final.Err) != errLine(last.Err) {
				t.Errorf("handler's terminal event %+v,\nWatcher's %+v", last, final)
			}
			if got := counters[i](); got != c.panics {
				t.Errorf("HandlerPanics = %d, want %d", got, c.panics)
			}
			if c.timed {
				checkShape(t, events, logs, obs)
				return
			}
			in := inProcess(t, c)
			inEvents, inLogs, inObs := in.snapshot()
			if c.lost {
				// The lost attempt started in a process that died: nobody
				// here saw it start.
				inObs = inObs[1:]
			}
			same(t, "handler events", lines(events, eventLine), lines(inEvents, eventLine))
			same(t, "log records", logs, inLogs)
			same(t, "observations", lines(obs, observationLine), lines(inObs, observationLine))
		})
	}
}

// inProcess runs c's policy and op with backoff.Retry, in a bubble whose
// fake clock runs the waits, and returns what its handlers, logger and
// observer saw.
func inProcess(t *testing.T, c handlerCase) *trace {
	tr := &trace{}
	opts := c.opts
	if c.inProcess != nil {
		opts = c.inProcess
	}
	p, err := c.policy(tr, opts)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		n := 0
		_, _ = backoff.Retry(t.Context(), func(context.Context) (int, error) {
			n++
			return c.op(n)
		}, p)
	})
	return tr
}

func same(t *testing.T, what string, river, inProcess []string) {
	t.Helper()
	if !slices.Equal(river, inProcess) {
		t.Errorf("%s differ:\nriver:\n\t%s\nin process:\n\t%s", what, strings.Join(river, "\n\t"), strings.Join(inProcess, "\n\t"))
	}
}

// checkShape checks the records of a job whose outcome depends on time:
// one backoff event per retry, then the end; a log record per event; and
// per attempt a start and an end observation, then the event's.
func checkShape(t *testing.T, events []backoff.Event[int], logs []string, obs []backoff.Observation) {
	t.Helper()
	var want []backoff.ObservationKind
	for i, ev := range events {
		kind := backoff.ObserveBackoff
		switch {
		case i < len(events)-1 && ev.Kind == backoff.EventBackoff:
		case i == len(events)-1 && ev.Kind == backoff.EventGiveUp:
			kind = backoff.ObserveGiveUp
		default:
			t.Fatalf("event %d of %d: %s", i, len(events), eventLine(ev))
		}
		if ev.Tries != i+1 {
			t.Errorf("event %d: %d tries", i, ev.Tries)
		}
		want = append(want, backoff.ObserveAttemptStart, backoff.ObserveAttemptEnd, kind)
	}
	if len(logs) != len(events) {
		t.Errorf("%d log records for %d events", len(logs), len(events))
	}
	got := make([]backoff.ObservationKind, len(obs))
	for i, o := range obs {
		got[i] = o.Kind
	}
	if !slices.Equal(got, want) {
		t.Errorf("observations %v, want %v", got, want)
	}
}
