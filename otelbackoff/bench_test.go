package otelbackoff_test

import (
	"testing"
	"time"

	"github.com/backoff-go/backoff"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/backoff-go/backoff/otelbackoff"
)

// observations is one of each kind a scheduler job reports, for a named job.
var observations = []struct {
	name string
	ob   backoff.Observation
}{
	{"AttemptStart", backoff.Observation{Kind: backoff.ObserveAttemptStart, ID: 1, Key: "k", Name: "fetch", Tries: 2, Lateness: time.Millisecond}},
	{"AttemptEnd", backoff.Observation{Kind: backoff.ObserveAttemptEnd, ID: 1, Key: "k", Name: "fetch", Tries: 2, Duration: 20 * time.Millisecond, Err: errFlaky}},
	{"Backoff", backoff.Observation{Kind: backoff.ObserveBackoff, ID: 1, Key: "k", Name: "fetch", Tries: 2, Wait: time.Second, Err: errFlaky}},
	{"Success", backoff.Observation{Kind: backoff.ObserveSuccess, ID: 1, Key: "k", Name: "fetch", Tries: 3, Elapsed: 3 * time.Second}},
	{"GiveUp", backoff.Observation{Kind: backoff.ObserveGiveUp, ID: 1, Key: "k", Name: "fetch", Tries: 3, Reason: backoff.ReasonMaxTries}},
	{"GiveUpUnnamed", backoff.Observation{Kind: backoff.ObserveGiveUp, ID: 1, Tries: 3, Reason: backoff.ReasonMaxTries}},
}

// TestObserveAllocs checks that Observe allocates nothing of its own for a
// name it has seen (with a no-op provider, all that is left is this
// package's work), and with the SDK either.
func TestObserveAllocs(t *testing.T) {
	sdk, _ := newProvider(t)
	for _, p := range []struct {
		name string
		mp   metric.MeterProvider
	}{{"noop", noop.NewMeterProvider()}, {"sdk", sdk}} {
		obs := newObserver(t, p.mp)
		for _, o := range observations {
			obs.Observe(o.ob) // the name's first sight builds its series
			if n := testing.AllocsPerRun(100, func() { obs.Observe(o.ob) }); n != 0 {
				t.Errorf("%s: Observe(%s) allocates %v times", p.name, o.name, n)
			}
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	sdk, _ := newProvider(b)
	for _, p := range []struct {
		name string
		mp   metric.MeterProvider
	}{{"noop", noop.NewMeterProvider()}, {"sdk", sdk}} {
		obs, err := otelbackoff.NewObserver(p.mp)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range observations {
			obs.Observe(o.ob)
			b.Run(p.name+"/"+o.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					obs.Observe(o.ob)
				}
			})
		}
		// A whole failed attempt as a scheduler job reports it.
		b.Run(p.name+"/RetryCycleParallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					obs.Observe(observations[0].ob)
					obs.Observe(observations[1].ob)
					obs.Observe(observations[2].ob)
				}
			})
		})
	}
}
