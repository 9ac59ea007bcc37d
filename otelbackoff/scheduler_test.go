package otelbackoff_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/backoff-go/backoff/otelbackoff"
)

// wantStats checks every metric of RegisterScheduler against st.
func (ms metrics) wantStats(t *testing.T, sched string, st backoff.Stats) {
	t.Helper()
	at := attrs("backoff.scheduler.name", sched)
	current := []struct {
		name, unit string
		want       int
	}{
		{"backoff.scheduler.pending", "{job}", st.Pending},
		{"backoff.scheduler.waiting", "{job}", st.Waiting},
		{"backoff.scheduler.ready", "{job}", st.Ready},
		{"backoff.scheduler.held", "{job}", st.Held},
		{"backoff.scheduler.rate_held", "{job}", st.RateHeld},
		{"backoff.scheduler.running", "{attempt}", st.Running},
		{"backoff.scheduler.overdue", "{attempt}", st.Overdue},
		{"backoff.scheduler.undelivered_events", "{event}", st.Undelivered},
	}
	for _, c := range current {
		if _, ok := ms[c.name]; !ok {
			t.Errorf("%s is missing", c.name)
		}
		if got := ms.sum(t, c.name, c.unit, false, at); got != int64(c.want) {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	totals := []struct {
		name, unit string
		want       uint64
	}{
		{"backoff.scheduler.submitted", "{job}", st.Submitted},
		{"backoff.scheduler.succeeded", "{job}", st.Succeeded},
		{"backoff.scheduler.rejected", "{job}", st.Rejected},
		{"backoff.scheduler.attempts", "{attempt}", st.Attempts},
		{"backoff.scheduler.went_overdue", "{attempt}", st.OverdueTotal},
		{"backoff.scheduler.dropped_events", "{event}", st.DroppedEvents},
		{"backoff.scheduler.discarded_events", "{event}", st.Discarded},
		{"backoff.scheduler.handler_panics", "{panic}", st.HandlerPanics},
	}
	for _, c := range totals {
		if _, ok := ms[c.name]; !ok {
			t.Errorf("%s is missing", c.name)
		}
		if got := ms.count(t, c.name, c.unit, at); got != int64(c.want) {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	for r := 1; r < len(st.GaveUpBy); r++ {
		reason := backoff.Reason(r).String()
		set := attrs("backoff.scheduler.name", sched, "backoff.reason", reason)
		if got := ms.count(t, "backoff.scheduler.gave_up", "{job}", set); got != int64(st.GaveUpBy[r]) {
			t.Errorf("backoff.scheduler.gave_up{%s} = %d, want %d", reason, got, st.GaveUpBy[r])
		}
	}
	if n, want := ms.points("backoff.scheduler.gave_up"), len(st.GaveUpBy)-1; n != want {
		t.Errorf("backoff.scheduler.gave_up has %d series, want one per reason (%d)", n, want)
	}
	ms.checkAttributeKeys(t, []attribute.Key{otelbackoff.SchedulerKey, otelbackoff.ReasonKey})
}

// TestRegisterScheduler puts a scheduler in a state where every current
// figure of Stats is non-zero, and checks the metrics against Stats then,
// after Close, and after unregistering.
func TestRegisterScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, r := newProvider(t)
		s, err := backoff.NewScheduler(backoff.Workers(1), backoff.GroupLimitFor("g", 1), backoff.MaxPending(6),
			backoff.GroupRateFor("r", 0.1, 1))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		unregister, err := otelbackoff.RegisterScheduler(mp, s, "main")
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		okOp := func(context.Context) (int, error) { return 1, nil }

		// A terminal event that nobody reads: undelivered.
		if _, err := backoff.SubmitTo(ctx, s, okOp, make(chan backoff.Event[int])); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// An op that ignores its context holds the only worker: running,
		// then overdue.
		release := make(chan struct{})
		if _, err := backoff.Submit(ctx, s, func(context.Context) (int, error) {
			<-release
			return 1, nil
		}, backoff.Group("g"), backoff.AttemptTimeout(time.Second)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Held by the group's limit; ready for a worker; waiting an hour;
		// two of a group with a token every 10s: one or both held by the rate.
		for _, opts := range [][]backoff.Option{{backoff.Group("g")}, nil, {backoff.InitialDelay(time.Hour)},
			{backoff.Group("r")}, {backoff.Group("r")}} {
			if _, err := backoff.Submit(ctx, s, okOp, opts...); err != nil {
				t.Fatal(err)
			}
		}
		// Six jobs pending: MaxPending refuses a seventh.
		if _, err := backoff.Submit(ctx, s, okOp, backoff.NonBlocking()); !errors.Is(err, backoff.ErrPendingFull) {
			t.Fatalf("seventh Submit: %v, want ErrPendingFull", err)
		}
		time.Sleep(3 * time.Second) // past the timeout and its grace
		synctest.Wait()

		st := s.Stats()
		if st.Submitted != 7 || st.Succeeded != 1 || st.Attempts != 1 || st.Pending != 6 || st.Waiting != 1 ||
			st.Ready < 1 || st.Running != 1 || st.Undelivered != 1 || st.Held != 1 || st.RateHeld < 1 ||
			st.Ready+st.RateHeld != 3 || st.Rejected != 1 ||
			st.Overdue != 1 || st.OverdueTotal != 1 || st.GaveUp != 0 {
			t.Fatalf("the scenario did not make every figure non-zero: Stats = %+v", st)
		}
		collect(t, r).wantStats(t, "main", st)

		close(release)
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		st = s.Stats()
		if st.Pending != 0 || st.Discarded != 1 || st.GaveUpBy[backoff.ReasonClosed] != 2 || st.Succeeded != 5 {
			t.Fatalf("after Close: Stats = %+v", st)
		}
		collect(t, r).wantStats(t, "main", st)

		if err := unregister(); err != nil {
			t.Fatal(err)
		}
		if err := unregister(); err != nil {
			t.Fatalf("second unregister: %v", err)
		}
		ms := collect(t, r)
		for name := range ms {
			if strings.HasPrefix(name, "backoff.scheduler.") && ms.points(name) != 0 {
				t.Errorf("%s still reported after unregister", name)
			}
		}
	})
}

// TestRegisterSchedulers reports two schedulers on one provider, one of
// them unnamed.
func TestRegisterSchedulers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, r := newProvider(t)
		var scheds []*backoff.Scheduler
		for _, name := range []string{"a", ""} {
			s, err := backoff.NewScheduler()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			unregister, err := otelbackoff.RegisterScheduler(mp, s, name)
			if err != nil {
				t.Fatal(err)
			}
			defer unregister()
			scheds = append(scheds, s)
		}
		for i, s := range scheds {
			for range i + 1 {
				h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) { return 0, nil })
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.Result(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		}
		ms := collect(t, r)
		ms.wantCount(t, "backoff.scheduler.succeeded", "{job}", attrs("backoff.scheduler.name", "a"), 1)
		ms.wantCount(t, "backoff.scheduler.succeeded", "{job}", attrs(), 2)
	})
}

func TestRegisterSchedulerErrors(t *testing.T) {
	if _, err := otelbackoff.RegisterScheduler(noop.NewMeterProvider(), nil, "x"); err == nil {
		t.Error("nil scheduler: no error")
	}
}
