package otelbackoff

import (
	"context"
	"errors"
	"math"
	"sync"

	"github.com/backoff-go/backoff"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RegisterScheduler reports s.Stats() as asynchronous instruments of a
// meter of mp named ScopeName (a nil mp means otel.GetMeterProvider()).
// Every series carries SchedulerKey=name unless name is empty; give each
// scheduler of one provider its own name.
//
// Nothing is added to the scheduler's hot path: the provider calls back at
// each collection, and the callback reads s.Stats() once, which takes two
// short locks and never waits for the scheduler's owner goroutine. It
// keeps working after s is closed, reporting the final counts, until
// unregister is called; unregister stops the callbacks and may be called
// more than once.
//
// The current state (Pending, Waiting, Ready, Held, RateHeld, Running, Overdue,
// Undelivered) is reported with UpDownCounters, since these are additive
// across schedulers; the counts since start with Counters. Registering
// does not block; it fails if the provider refuses an instrument or the
// callback, or if s is nil.
func RegisterScheduler(mp metric.MeterProvider, s *backoff.Scheduler, name string) (unregister func() error, err error) {
	if s == nil {
		return nil, errors.New("otelbackoff: RegisterScheduler: scheduler is nil")
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	var (
		errs []error
		all  []metric.Observable
	)
	current := func(metricName, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := m.Int64ObservableUpDownCounter(metricName, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		all = append(all, c)
		return c
	}
	total := func(metricName, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(metricName, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		all = append(all, c)
		return c
	}
	var (
		pending     = current("backoff.scheduler.pending", "{job}", "Jobs submitted and not yet ended.")
		waiting     = current("backoff.scheduler.waiting", "{job}", "Jobs waiting for their next attempt's time.")
		ready       = current("backoff.scheduler.ready", "{job}", "Jobs due and waiting for a free worker.")
		held        = current("backoff.scheduler.held", "{job}", "Due jobs held back by their concurrency group's limit.")
		rateHeld    = current("backoff.scheduler.rate_held", "{job}", "Due jobs held back by their concurrency group's rate.")
		running     = current("backoff.scheduler.running", "{attempt}", "Attempts running now.")
		overdue     = current("backoff.scheduler.overdue", "{attempt}", "Attempts running past their AttemptTimeout by more than a grace.")
		undelivered = current("backoff.scheduler.undelivered_events", "{event}", "Terminal events waiting for a results channel's reader.")

		submitted = total("backoff.scheduler.submitted", "{job}", "Jobs accepted by Submit and SubmitTo.")
		succeeded = total("backoff.scheduler.succeeded", "{job}", "Jobs that succeeded.")
		gaveUp    = total("backoff.scheduler.gave_up", "{job}", "Jobs that gave up, by reason.")
		rejected  = total("backoff.scheduler.rejected", "{job}", "NonBlocking submissions refused because the scheduler held MaxPending jobs.")
		attempts  = total("backoff.scheduler.attempts", "{attempt}", "Attempts run.")
		wentOver  = total("backoff.scheduler.went_overdue", "{attempt}", "Attempts that became overdue.")
		dropped   = total("backoff.scheduler.dropped_events", "{event}", "Backoff events that a Handle's full events channel did not take.")
		discarded = total("backoff.scheduler.discarded_events", "{event}", "Terminal events dropped by Close before a results channel took them.")
		panics    = total("backoff.scheduler.handler_panics", "{panic}", "Panics in OnSuccess and OnGiveUp handlers and in Observers.")
	)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	var base []attribute.KeyValue
	if name != "" {
		base = append(base, SchedulerKey.String(name))
	}
	at := []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(base...))}
	var byReason [numReasons][]metric.ObserveOption
	for r := range byReason {
		kvs := append([]attribute.KeyValue{ReasonKey.String(backoff.Reason(r).String())}, base...)
		byReason[r] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	}

	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := s.Stats()
		o.ObserveInt64(pending, int64(st.Pending), at...)
		o.ObserveInt64(waiting, int64(st.Waiting), at...)
		o.ObserveInt64(ready, int64(st.Ready), at...)
		o.ObserveInt64(held, int64(st.Held), at...)
		o.ObserveInt64(rateHeld, int64(st.RateHeld), at...)
		o.ObserveInt64(running, int64(st.Running), at...)
		o.ObserveInt64(overdue, int64(st.Overdue), at...)
		o.ObserveInt64(undelivered, int64(st.Undelivered), at...)

		o.ObserveInt64(submitted, i64(st.Submitted), at...)
		o.ObserveInt64(succeeded, i64(st.Succeeded), at...)
		// ReasonNone (success) has a slot in GaveUpBy that stays zero.
		for r := 1; r < numReasons; r++ {
			o.ObserveInt64(gaveUp, i64(st.GaveUpBy[r]), byReason[r]...)
		}
		o.ObserveInt64(rejected, i64(st.Rejected), at...)
		o.ObserveInt64(attempts, i64(st.Attempts), at...)
		o.ObserveInt64(wentOver, i64(st.OverdueTotal), at...)
		o.ObserveInt64(dropped, i64(st.DroppedEvents), at...)
		o.ObserveInt64(discarded, i64(st.Discarded), at...)
		o.ObserveInt64(panics, i64(st.HandlerPanics), at...)
		return nil
	}, all...)
	if err != nil {
		return nil, err
	}
	return sync.OnceValue(reg.Unregister), nil
}

// i64 converts a count for an Int64 instrument, saturating.
func i64(n uint64) int64 { return int64(min(n, math.MaxInt64)) }
