package otelbackoff

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/backoff-go/backoff"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of every instrument this package
// creates: the name it passes to MeterProvider.Meter. Select it in an SDK
// View to rename, re-bucket or drop these metrics.
const ScopeName = "github.com/backoff-go/backoff/otelbackoff"

// The attribute keys this package sets. A job's Key is deliberately not
// among them: keys are meant to be unique per job (an order ID, a URL), and
// every distinct attribute set is a time series that the SDK keeps in
// memory and the backend stores, so a key attribute would grow without
// bound with the number of jobs.
const (
	// NameKey is the job's name (backoff.Name), on every metric of an
	// Observer. Jobs without a name get no such attribute; names past the
	// limit set by WithMaxNames are reported as OtherName.
	NameKey = attribute.Key("backoff.job.name")
	// AttemptOutcomeKey is "ok" or "error" on backoff.attempts: whether the
	// attempt returned an error (an op that panicked counts as "error").
	AttemptOutcomeKey = attribute.Key("backoff.attempt.outcome")
	// JobOutcomeKey is "success" or "give_up" on backoff.job.duration.
	JobOutcomeKey = attribute.Key("backoff.job.outcome")
	// ReasonKey is a give-up's backoff.Reason in words (Reason.String,
	// such as "max tries"), on backoff.give_ups and backoff.scheduler.gave_up.
	ReasonKey = attribute.Key("backoff.reason")
	// SchedulerKey is the name given to RegisterScheduler, on every
	// metric it reports, unless that name is empty.
	SchedulerKey = attribute.Key("backoff.scheduler.name")
)

// OtherName is the value of NameKey for the names an Observer sees after it
// has seen as many distinct names as WithMaxNames allows.
const OtherName = "_other"

// DefaultMaxNames is how many distinct job names an Observer reports as
// their own series when WithMaxNames is not given.
const DefaultMaxNames = 100

// Histogram bucket boundaries, in seconds. They are advice to the SDK; a
// View overrides them.
var (
	waitBuckets     = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
	latenessBuckets = []float64{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	attemptBuckets  = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// numReasons is the number of backoff.Reason values: Stats.GaveUpBy has one
// slot per reason.
const numReasons = len(backoff.Stats{}.GaveUpBy)

// Option configures NewObserver.
type Option interface {
	apply(c *config)
}

type config struct {
	maxNames int
	errs     []error
}

type optionFunc func(c *config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMaxNames caps the distinct job names an Observer reports as their
// own series at n (default DefaultMaxNames); later names are reported
// under OtherName. Each name costs this package about 3.5 KB, and the SDK
// up to about twenty series (one per attribute set it is recorded with).
// n must be at least 0; with 0 every named job is reported as OtherName.
func WithMaxNames(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.errs = append(c.errs, fmt.Errorf("otelbackoff: WithMaxNames must be >= 0, got %d", n))
		}
		c.maxNames = n
	})
}

// Observer is a [backoff.Observer] that records what it is told as
// OpenTelemetry metrics (the package documentation lists them). Give it
// to backoff.WithObserver, on a scheduler (for all its jobs) or on single
// jobs. It is safe for concurrent use, and one Observer may serve any
// number of jobs and schedulers.
type Observer struct {
	attempts        metric.Int64Counter
	retries         metric.Int64Counter
	successes       metric.Int64Counter
	giveUps         metric.Int64Counter
	wait            metric.Float64Histogram
	lateness        metric.Float64Histogram
	attemptDuration metric.Float64Histogram
	jobDuration     metric.Float64Histogram

	unnamed *series
	other   *series

	maxNames int
	// names maps a job name to its series. It is copied on write, so
	// that Observe reads it without a lock.
	names atomic.Pointer[map[string]*series]
	full  atomic.Bool // names holds maxNames names
	mu    sync.Mutex  // serialises writers of names
}

var _ backoff.Observer = (*Observer)(nil)

// series holds the measurement options for one job name, built once, so
// that recording a measurement allocates nothing. Each slice is passed
// on as variadic arguments.
type series struct {
	plain      []metric.AddOption
	attemptOK  []metric.AddOption
	attemptErr []metric.AddOption
	giveUp     [numReasons + 1][]metric.AddOption // the last one for a Reason out of range
	record     []metric.RecordOption
	jobOK      []metric.RecordOption
	jobGiveUp  []metric.RecordOption
}

func newSeries(name attribute.KeyValue, named bool) *series {
	set := func(kvs ...attribute.KeyValue) attribute.Set {
		if named {
			kvs = append(kvs, name)
		}
		return attribute.NewSet(kvs...)
	}
	add := func(kvs ...attribute.KeyValue) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(set(kvs...))}
	}
	rec := func(kvs ...attribute.KeyValue) []metric.RecordOption {
		return []metric.RecordOption{metric.WithAttributeSet(set(kvs...))}
	}
	s := &series{
		plain:      add(),
		attemptOK:  add(AttemptOutcomeKey.String("ok")),
		attemptErr: add(AttemptOutcomeKey.String("error")),
		record:     rec(),
		jobOK:      rec(JobOutcomeKey.String("success")),
		jobGiveUp:  rec(JobOutcomeKey.String("give_up")),
	}
	for r := range s.giveUp {
		s.giveUp[r] = add(ReasonKey.String(backoff.Reason(r).String()))
	}
	return s
}

// NewObserver creates the eight instruments of an Observer on the meter
// of mp named ScopeName; a nil mp means the global provider
// (otel.GetMeterProvider), which forwards to whatever provider the program
// installs with otel.SetMeterProvider. It does not block. It returns an
// error for bad options or when the provider refuses an instrument.
func NewObserver(mp metric.MeterProvider, opts ...Option) (*Observer, error) {
	c := config{maxNames: DefaultMaxNames}
	for _, o := range opts {
		if o == nil {
			c.errs = append(c.errs, errors.New("otelbackoff: nil Option"))
			continue
		}
		o.apply(&c)
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string, buckets []float64) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, err)
		return h
	}
	o := &Observer{
		attempts:        counter("backoff.attempts", "{attempt}", "Attempts that returned or panicked, by outcome."),
		retries:         counter("backoff.retries", "{retry}", "Failed attempts that will be retried after a wait."),
		successes:       counter("backoff.successes", "{job}", "Jobs that succeeded."),
		giveUps:         counter("backoff.give_ups", "{job}", "Jobs that gave up, by reason."),
		wait:            histogram("backoff.wait.duration", "Waits before a retry, after jitter and trim.", waitBuckets),
		lateness:        histogram("backoff.attempt.lateness", "How long after its due time a scheduled attempt started.", latenessBuckets),
		attemptDuration: histogram("backoff.attempt.duration", "How long each attempt's op ran.", attemptBuckets),
		jobDuration:     histogram("backoff.job.duration", "Time from a job's first attempt to its end, by outcome.", waitBuckets),
		unnamed:         newSeries(attribute.KeyValue{}, false),
		other:           newSeries(NameKey.String(OtherName), true),
		maxNames:        c.maxNames,
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.names.Store(&map[string]*series{})
	return o, nil
}

// background is the context of every measurement: an Observation carries
// none.
var background = context.Background()

// Observe records ob. It implements backoff.Observer and is called by the
// backoff package on the goroutine that ran the attempt.
//
// For a name seen before, it takes no lock and allocates nothing: it
// reads the name's prebuilt attribute sets from a copy-on-write map and
// makes one or two measurements, whose cost is the SDK's (about 100 ns
// each, no allocation, with the OpenTelemetry SDK). It never waits for an
// exporter: the SDK aggregates in memory, and exports elsewhere. The first
// observation of a new name builds that name's attribute sets under a
// lock held for a few microseconds.
//
// Lateness (ObserveAttemptStart) is recorded for every attempt of a
// scheduler job, the first included (its lateness counts from when the
// scheduler took the job in, or from the end of its InitialDelay).
// Observation.Lateness is defined for
// scheduler jobs only, so the attempts of Retry, Wrap and Attempts (ID 0)
// record none; they are counted in backoff.attempts and
// backoff.attempt.duration like any other.
func (o *Observer) Observe(ob backoff.Observation) {
	s := o.seriesFor(ob.Name)
	switch ob.Kind {
	case backoff.ObserveAttemptStart:
		if ob.ID != 0 {
			o.lateness.Record(background, ob.Lateness.Seconds(), s.record...)
		}
	case backoff.ObserveAttemptEnd:
		if ob.Err != nil { // a panic's Err is its *backoff.PanicError
			o.attempts.Add(background, 1, s.attemptErr...)
		} else {
			o.attempts.Add(background, 1, s.attemptOK...)
		}
		o.attemptDuration.Record(background, ob.Duration.Seconds(), s.record...)
	case backoff.ObserveBackoff:
		o.retries.Add(background, 1, s.plain...)
		o.wait.Record(background, ob.Wait.Seconds(), s.record...)
	case backoff.ObserveSuccess:
		o.successes.Add(background, 1, s.plain...)
		o.jobDuration.Record(background, ob.Elapsed.Seconds(), s.jobOK...)
	case backoff.ObserveGiveUp:
		r := min(int(ob.Reason), numReasons) // a Reason out of range is "unknown"
		o.giveUps.Add(background, 1, s.giveUp[r]...)
		o.jobDuration.Record(background, ob.Elapsed.Seconds(), s.jobGiveUp...)
	}
}

// seriesFor returns the series of a job name, creating it on first sight.
func (o *Observer) seriesFor(name string) *series {
	if name == "" {
		return o.unnamed
	}
	if s, ok := (*o.names.Load())[name]; ok {
		return s
	}
	if o.full.Load() {
		return o.other
	}
	return o.addName(name)
}

// addName builds the series of a new name, or gives the shared OtherName
// series once the map is full. Readers keep using the old map meanwhile.
func (o *Observer) addName(name string) *series {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := *o.names.Load()
	if s, ok := old[name]; ok {
		return s
	}
	if len(old) >= o.maxNames {
		o.full.Store(true)
		return o.other
	}
	s := newSeries(NameKey.String(name), true)
	m := maps.Clone(old)
	m[name] = s
	o.names.Store(&m)
	if len(m) >= o.maxNames {
		o.full.Store(true)
	}
	return s
}
