package otelbackoff_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/backoff-go/backoff/otelbackoff"
)

func newObserver(t *testing.T, mp metric.MeterProvider, opts ...otelbackoff.Option) *otelbackoff.Observer {
	t.Helper()
	obs, err := otelbackoff.NewObserver(mp, opts...)
	if err != nil {
		t.Fatalf("NewObserver: %v", err)
	}
	return obs
}

// failing returns an op that fails n times, then returns 7.
func failing(n int) func(context.Context) (int, error) {
	return slowFailing(n, 0)
}

// slowFailing returns an op that runs for d (fake time, in a bubble) and
// fails n times, then returns 7.
func slowFailing(n int, d time.Duration) func(context.Context) (int, error) {
	calls := 0
	return func(context.Context) (int, error) {
		calls++
		time.Sleep(d)
		if calls <= n {
			return 0, errFlaky
		}
		return 7, nil
	}
}

// TestRetry runs blocking Retry calls with the Observer as a job option:
// attempts by outcome, retries, successes, give-ups by reason, waits,
// attempt durations and job durations, exactly.
func TestRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, r := newProvider(t)
		obs := newObserver(t, mp)
		ctx := t.Context()

		// Expo without jitter: four attempts of 2s with waits of 1s, 2s and
		// 4s between them, the last a success.
		if v, err := backoff.Retry(ctx, slowFailing(3, 2*time.Second), backoff.Name("fetch"), backoff.WithObserver(obs),
			backoff.Expo{}, backoff.NoJitter); v != 7 || err != nil {
			t.Fatalf("Retry = %v, %v", v, err)
		}
		// Three tries one second apart, all failing.
		if _, err := backoff.Retry(ctx, failing(99), backoff.Name("fetch"), backoff.WithObserver(obs),
			backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTries(3)); !errors.Is(err, backoff.ReasonMaxTries) {
			t.Fatalf("Retry err = %v, want max tries", err)
		}
		// Unnamed: a permanent error ends the job at once.
		if _, err := backoff.Retry(ctx, func(context.Context) (int, error) { return 0, backoff.Permanent(errFlaky) },
			backoff.WithObserver(obs)); !errors.Is(err, backoff.ReasonPermanent) {
			t.Fatalf("Retry err = %v, want permanent", err)
		}
		// Unnamed: the context ends half-way through the first wait.
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(500*time.Millisecond, cancel)
		if _, err := backoff.Retry(cctx, failing(99), backoff.WithObserver(obs),
			backoff.Constant{Interval: time.Second}, backoff.NoJitter); !errors.Is(err, backoff.ReasonContext) {
			t.Fatalf("Retry err = %v, want context", err)
		}

		ms := collect(t, r)
		fetch := attrs("backoff.job.name", "fetch")
		none := attrs()
		ms.wantCount(t, "backoff.retries", "{retry}", fetch, 3+2)
		ms.wantCount(t, "backoff.retries", "{retry}", none, 1)
		ms.wantCount(t, "backoff.successes", "{job}", fetch, 1)
		ms.wantCount(t, "backoff.give_ups", "{job}", attrs("backoff.job.name", "fetch", "backoff.reason", "max tries"), 1)
		ms.wantCount(t, "backoff.give_ups", "{job}", attrs("backoff.reason", "permanent error"), 1)
		ms.wantCount(t, "backoff.give_ups", "{job}", attrs("backoff.reason", "context ended"), 1)
		if n := ms.points("backoff.give_ups"); n != 3 {
			t.Errorf("backoff.give_ups has %d series, want 3", n)
		}
		ms.wantHist(t, "backoff.wait.duration", fetch, 5, 1+2+4+1+1)
		ms.wantHist(t, "backoff.wait.duration", none, 1, 1)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "fetch", "backoff.job.outcome", "success"), 1, 4*2+7)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "fetch", "backoff.job.outcome", "give_up"), 1, 2)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.outcome", "give_up"), 2, 0.5)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "fetch", "backoff.attempt.outcome", "error"), 3+3)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "fetch", "backoff.attempt.outcome", "ok"), 1)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.attempt.outcome", "error"), 1+1)
		if n := ms.points("backoff.attempts"); n != 3 {
			t.Errorf("backoff.attempts has %d series, want 3", n)
		}
		ms.wantHist(t, "backoff.attempt.duration", fetch, 4+3, 4*2)
		ms.wantHist(t, "backoff.attempt.duration", none, 2, 0)
		// Lateness is defined for scheduler jobs only.
		if n := ms.points("backoff.attempt.lateness"); n != 0 {
			t.Errorf("backoff.attempt.lateness has %d series for Retry jobs, want none", n)
		}
	})
}

// TestWrapAndAttempts checks that the attempts of Wrap and of an Attempts
// loop are counted and timed like Retry's; an Attempts attempt lasts as
// long as the loop body.
func TestWrapAndAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, r := newProvider(t)
		obs := newObserver(t, mp)
		ctx := t.Context()
		each := []backoff.Option{backoff.WithObserver(obs), backoff.Constant{Interval: time.Second}, backoff.NoJitter}

		// Two calls of a wrapped op of 3s that fails every other time: each
		// call fails once, then succeeds.
		calls := 0
		wrapped := backoff.Wrap(func(context.Context) (int, error) {
			calls++
			time.Sleep(3 * time.Second)
			if calls%2 == 1 {
				return 0, errFlaky
			}
			return 7, nil
		}, append(each, backoff.Name("wrap"))...)
		for range 2 {
			if v, err := wrapped(ctx); v != 7 || err != nil {
				t.Fatalf("wrapped = %v, %v", v, err)
			}
		}

		// A loop body of 5s that fails twice, then succeeds.
		loop := backoff.Attempts[int](ctx, append(each, backoff.Name("loop"))...)
		for a := range loop.All() {
			time.Sleep(5 * time.Second)
			if a.Number() < 3 {
				a.Fail(errFlaky)
			}
		}
		if _, err := loop.Result(); err != nil || loop.Tries() != 3 {
			t.Fatalf("loop: %v after %d tries", err, loop.Tries())
		}
		// A loop left by break after a failed attempt of 0.5s.
		loop = backoff.Attempts[int](ctx, append(each, backoff.Name("loop"))...)
		for a := range loop.All() {
			time.Sleep(500 * time.Millisecond)
			a.Fail(errFlaky)
			break
		}
		if _, err := loop.Result(); !errors.Is(err, backoff.ReasonCanceled) {
			t.Fatalf("broken loop: err = %v, want canceled", err)
		}

		ms := collect(t, r)
		wrap := attrs("backoff.job.name", "wrap")
		lp := attrs("backoff.job.name", "loop")
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "wrap", "backoff.attempt.outcome", "error"), 2)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "wrap", "backoff.attempt.outcome", "ok"), 2)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "loop", "backoff.attempt.outcome", "error"), 2+1)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "loop", "backoff.attempt.outcome", "ok"), 1)
		ms.wantHist(t, "backoff.attempt.duration", wrap, 4, 4*3)
		ms.wantHist(t, "backoff.attempt.duration", lp, 4, 3*5+0.5)
		ms.wantCount(t, "backoff.retries", "{retry}", wrap, 2)
		ms.wantCount(t, "backoff.retries", "{retry}", lp, 2)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "wrap", "backoff.job.outcome", "success"), 2, 2*(3+1+3))
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "loop", "backoff.job.outcome", "success"), 1, 3*5+2)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "loop", "backoff.job.outcome", "give_up"), 1, 0.5)
		ms.wantCount(t, "backoff.give_ups", "{job}", attrs("backoff.job.name", "loop", "backoff.reason", "canceled"), 1)
		if n := ms.points("backoff.attempt.lateness"); n != 0 {
			t.Errorf("backoff.attempt.lateness has %d series for Wrap and Attempts, want none", n)
		}
	})
}

// TestPanic checks that an attempt whose op panicked counts as an error,
// for Retry and for a scheduler job, with its duration up to the panic.
func TestPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, r := newProvider(t)
		obs := newObserver(t, mp)
		ctx := t.Context()
		boom := func(context.Context) (int, error) {
			time.Sleep(time.Second)
			panic("boom")
		}
		var pe *backoff.PanicError
		if _, err := backoff.Retry(ctx, boom, backoff.Name("retry"), backoff.WithObserver(obs)); !errors.As(err, &pe) {
			t.Fatalf("Retry err = %v, want a PanicError", err)
		}
		s, err := backoff.NewScheduler(backoff.WithObserver(obs))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h, err := backoff.Submit(ctx, s, boom, backoff.Name("job"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Result(ctx); !errors.Is(err, backoff.ReasonPanic) {
			t.Fatalf("job err = %v, want panic", err)
		}

		ms := collect(t, r)
		for _, name := range []string{"retry", "job"} {
			ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", name, "backoff.attempt.outcome", "error"), 1)
			ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", name, "backoff.attempt.outcome", "ok"), 0)
			ms.wantHist(t, "backoff.attempt.duration", attrs("backoff.job.name", name), 1, 1)
			ms.wantCount(t, "backoff.give_ups", "{job}", attrs("backoff.job.name", name, "backoff.reason", "panic"), 1)
		}
		if n := ms.points("backoff.attempts"); n != 2 {
			t.Errorf("backoff.attempts has %d series, want 2", n)
		}
	})
}

// TestScheduler runs jobs on a scheduler with the Observer as a scheduler
// option: attempts by outcome, every give-up reason a scheduler job can
// meet here, and no job key in any attribute.
func TestScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, r := newProvider(t)
		obs := newObserver(t, mp)
		s, err := backoff.NewScheduler(backoff.WithObserver(obs))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := t.Context()
		each := []backoff.Option{backoff.Constant{Interval: time.Second}, backoff.NoJitter}

		ok, err := backoff.Submit(ctx, s, failing(2), append(each, backoff.Name("poll"), backoff.Key("job-1"))...)
		if err != nil {
			t.Fatal(err)
		}
		maxed, err := backoff.Submit(ctx, s, failing(99), append(each, backoff.Name("poll"), backoff.Key("job-2"), backoff.MaxTries(2))...)
		if err != nil {
			t.Fatal(err)
		}
		results := make(chan backoff.Event[int], 1)
		if _, err := backoff.SubmitTo(ctx, s, func(context.Context) (int, error) { return 0, backoff.Permanent(errFlaky) },
			results, backoff.Key("job-3")); err != nil {
			t.Fatal(err)
		}
		hour := []backoff.Option{backoff.Constant{Interval: time.Hour}, backoff.NoJitter}
		canceled, err := backoff.Submit(ctx, s, failing(99), hour...)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		ended, err := backoff.Submit(cctx, s, failing(99), hour...)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // every first attempt has run; the last two wait an hour
		canceled.Cancel()
		cancel()

		for _, c := range []struct {
			h    *backoff.Handle[int]
			want error
		}{{ok, nil}, {maxed, backoff.ReasonMaxTries}, {canceled, backoff.ReasonCanceled}, {ended, backoff.ReasonContext}} {
			if _, err := c.h.Result(ctx); !errors.Is(err, c.want) {
				t.Errorf("job %d: err = %v, want %v", c.h.ID(), err, c.want)
			}
		}
		if ev := <-results; ev.Reason != backoff.ReasonPermanent {
			t.Errorf("SubmitTo job: reason %v", ev.Reason)
		}

		ms := collect(t, r)
		poll := attrs("backoff.job.name", "poll")
		none := attrs()
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "poll", "backoff.attempt.outcome", "error"), 2+2)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "poll", "backoff.attempt.outcome", "ok"), 1)
		ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.attempt.outcome", "error"), 3)
		if n := ms.points("backoff.attempts"); n != 3 {
			t.Errorf("backoff.attempts has %d series, want 3", n)
		}
		ms.wantCount(t, "backoff.retries", "{retry}", poll, 2+1)
		ms.wantCount(t, "backoff.retries", "{retry}", none, 2)
		ms.wantCount(t, "backoff.successes", "{job}", poll, 1)
		ms.wantCount(t, "backoff.successes", "{job}", none, 0)
		for _, c := range []struct {
			set  attribute.Set
			want int64
		}{
			{attrs("backoff.job.name", "poll", "backoff.reason", "max tries"), 1},
			{attrs("backoff.reason", "permanent error"), 1},
			{attrs("backoff.reason", "canceled"), 1},
			{attrs("backoff.reason", "context ended"), 1},
		} {
			ms.wantCount(t, "backoff.give_ups", "{job}", c.set, c.want)
		}
		ms.wantHist(t, "backoff.wait.duration", poll, 3, 3)
		ms.wantHist(t, "backoff.wait.duration", none, 2, 2*3600)
		// Lateness of every attempt, first ones included: in a bubble,
		// timers fire on time and a worker is free.
		ms.wantHist(t, "backoff.attempt.lateness", poll, 3+2, 0)
		ms.wantHist(t, "backoff.attempt.lateness", none, 3, 0)
		ms.wantHist(t, "backoff.attempt.duration", poll, 3+2, 0)
		ms.wantHist(t, "backoff.attempt.duration", none, 3, 0)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "poll", "backoff.job.outcome", "success"), 1, 2)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "poll", "backoff.job.outcome", "give_up"), 1, 1)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.outcome", "give_up"), 3, 0)
		ms.checkAttributeKeys(t, []attribute.Key{otelbackoff.NameKey, otelbackoff.AttemptOutcomeKey,
			otelbackoff.JobOutcomeKey, otelbackoff.ReasonKey}, "job-1", "job-2", "job-3")
	})
}

// TestLateness makes attempts wait for the only worker: a retry, a first
// attempt and a first attempt after an InitialDelay. Each one's lateness
// is the time it spent due.
func TestLateness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, r := newProvider(t)
		s, err := backoff.NewScheduler(backoff.Workers(1), backoff.WithObserver(newObserver(t, mp)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := t.Context()
		calls := 0
		// "slow" retries at t=1s and then holds the worker for 10s.
		slow, err := backoff.Submit(ctx, s, func(context.Context) (int, error) {
			calls++
			if calls == 1 {
				return 0, errFlaky
			}
			time.Sleep(10 * time.Second)
			return 1, nil
		}, backoff.Name("slow"), backoff.Constant{Interval: time.Second}, backoff.NoJitter)
		if err != nil {
			t.Fatal(err)
		}
		// "late" is due again at t=2s but starts at t=11s.
		late, err := backoff.Submit(ctx, s, failing(1), backoff.Name("late"),
			backoff.Constant{Interval: 2 * time.Second}, backoff.NoJitter)
		if err != nil {
			t.Fatal(err)
		}
		// "delayed" is first due at t=5s, after its initial delay.
		delayed, err := backoff.Submit(ctx, s, failing(0), backoff.Name("delayed"), backoff.InitialDelay(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		// "queued" is submitted at t=1.5s, while "slow" holds the worker.
		time.Sleep(1500 * time.Millisecond)
		queued, err := backoff.Submit(ctx, s, failing(0), backoff.Name("queued"))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []*backoff.Handle[int]{slow, late, delayed, queued} {
			if _, err := h.Result(ctx); err != nil {
				t.Fatal(err)
			}
		}
		ms := collect(t, r)
		for _, c := range []struct {
			name                string
			tries               uint64
			lateness, durations float64
		}{
			{"slow", 2, 0, 10},
			{"late", 2, 9, 0},
			{"delayed", 1, 11 - 5, 0},
			{"queued", 1, 11 - 1.5, 0},
		} {
			ms.wantHist(t, "backoff.attempt.lateness", attrs("backoff.job.name", c.name), c.tries, c.lateness)
			ms.wantHist(t, "backoff.attempt.duration", attrs("backoff.job.name", c.name), c.tries, c.durations)
		}
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "slow", "backoff.job.outcome", "success"), 1, 11)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "late", "backoff.job.outcome", "success"), 1, 11)
		ms.wantHist(t, "backoff.job.duration", attrs("backoff.job.name", "queued", "backoff.job.outcome", "success"), 1, 0)
	})
}

// TestObserveDirect feeds observations by hand: the cases no job produces
// on demand.
func TestObserveDirect(t *testing.T) {
	mp, r := newProvider(t)
	obs := newObserver(t, mp, otelbackoff.WithMaxNames(2))
	for _, name := range []string{"a", "b", "c", "a", "d", ""} {
		obs.Observe(backoff.Observation{Kind: backoff.ObserveSuccess, Name: name})
	}
	// Lateness is recorded for every attempt of a scheduler job, first
	// attempts included, and not for a blocking loop (ID 0).
	obs.Observe(backoff.Observation{Kind: backoff.ObserveAttemptStart, ID: 0, Tries: 2, Lateness: time.Second})
	obs.Observe(backoff.Observation{Kind: backoff.ObserveAttemptStart, ID: 1, Tries: 1, Lateness: time.Hour})
	obs.Observe(backoff.Observation{Kind: backoff.ObserveAttemptStart, ID: 1, Tries: 2, Lateness: 3 * time.Millisecond})
	// Attempt ends, of loops and of scheduler jobs alike; a panic's Err is
	// a *PanicError.
	obs.Observe(backoff.Observation{Kind: backoff.ObserveAttemptEnd, ID: 0, Name: "a", Tries: 1, Duration: 250 * time.Millisecond})
	obs.Observe(backoff.Observation{Kind: backoff.ObserveAttemptEnd, ID: 2, Name: "a", Tries: 1, Duration: time.Second,
		Err: &backoff.PanicError{Value: "boom"}})
	// Every reason, and some out of range.
	byName := map[string]int64{}
	for r := range backoff.Reason(20) {
		obs.Observe(backoff.Observation{Kind: backoff.ObserveGiveUp, Reason: r})
		byName[r.String()]++
	}
	if byName["unknown"] == 0 {
		t.Fatal("no Reason out of range below 20")
	}

	ms := collect(t, r)
	ms.wantCount(t, "backoff.successes", "{job}", attrs("backoff.job.name", "a"), 2)
	ms.wantCount(t, "backoff.successes", "{job}", attrs("backoff.job.name", "b"), 1)
	ms.wantCount(t, "backoff.successes", "{job}", attrs("backoff.job.name", otelbackoff.OtherName), 2)
	ms.wantCount(t, "backoff.successes", "{job}", attrs(), 1)
	ms.wantHist(t, "backoff.attempt.lateness", attrs(), 2, 3600.003)
	ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "a", "backoff.attempt.outcome", "ok"), 1)
	ms.wantCount(t, "backoff.attempts", "{attempt}", attrs("backoff.job.name", "a", "backoff.attempt.outcome", "error"), 1)
	ms.wantHist(t, "backoff.attempt.duration", attrs("backoff.job.name", "a"), 2, 1.25)
	for name, want := range byName {
		ms.wantCount(t, "backoff.give_ups", "{job}", attrs("backoff.reason", name), want)
	}
	if n := ms.points("backoff.give_ups"); n != len(byName) {
		t.Errorf("backoff.give_ups has %d series, want %d", n, len(byName))
	}
}

func TestNewObserverErrors(t *testing.T) {
	if _, err := otelbackoff.NewObserver(noop.NewMeterProvider(), otelbackoff.WithMaxNames(-1)); err == nil {
		t.Error("WithMaxNames(-1): no error")
	}
	if _, err := otelbackoff.NewObserver(noop.NewMeterProvider(), nil); err == nil {
		t.Error("nil Option: no error")
	}
	// nil means the global provider, a no-op one until the program sets one.
	obs, err := otelbackoff.NewObserver(nil)
	if err != nil {
		t.Fatal(err)
	}
	obs.Observe(backoff.Observation{Kind: backoff.ObserveSuccess, Name: "x"})
}

// brokenProvider's counters panic, like a broken SDK or exporter.
type brokenProvider struct{ noop.MeterProvider }

func (brokenProvider) Meter(string, ...metric.MeterOption) metric.Meter { return brokenMeter{} }

type brokenMeter struct{ noop.Meter }

func (brokenMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return brokenCounter{}, nil
}

type brokenCounter struct{ noop.Int64Counter }

func (brokenCounter) Add(context.Context, int64, ...metric.AddOption) { panic("exporter broke") }

// TestBrokenProvider is one sanity check of the core's promise that a
// panicking Observer cannot change a job's outcome.
func TestBrokenProvider(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := newObserver(t, brokenProvider{})
		s, err := backoff.NewScheduler(backoff.WithObserver(obs))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h, err := backoff.Submit(t.Context(), s, failing(1), backoff.NoWait{})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := h.Result(t.Context()); v != 7 || err != nil {
			t.Fatalf("Result = %v, %v; want 7, nil", v, err)
		}
		// Two attempts, one retry and one success each add to a counter.
		if got := s.Stats().HandlerPanics; got != 4 {
			t.Errorf("HandlerPanics = %d, want 4", got)
		}
	})
}
