package otelbackoff_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/backoff-go/backoff"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/backoff-go/backoff/otelbackoff"
)

// A scheduler with an Observer for its jobs and its Stats registered. A
// ManualReader stands in for an exporter; a program would give the SDK a
// periodic reader and an OTLP or Prometheus exporter instead.
func Example() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)

	obs, err := otelbackoff.NewObserver(provider)
	if err != nil {
		panic(err)
	}
	s, err := backoff.NewScheduler(backoff.WithObserver(obs))
	if err != nil {
		panic(err)
	}
	unregister, err := otelbackoff.RegisterScheduler(provider, s, "example")
	if err != nil {
		panic(err)
	}
	defer unregister()

	// Fails twice, then succeeds. The key is not an attribute: one series
	// per order would grow without bound.
	calls := 0
	h, _ := backoff.Submit(ctx, s, func(context.Context) (string, error) {
		if calls++; calls < 3 {
			return "", errors.New("unavailable")
		}
		return "shipped", nil
	}, backoff.Name("ship"), backoff.Key("order-42"), backoff.NoWait{})
	fmt.Println(h.Result(ctx))
	// Gives up at once.
	h, _ = backoff.Submit(ctx, s, func(context.Context) (string, error) {
		return "", backoff.Permanent(errors.New("no such order"))
	}, backoff.Name("ship"))
	_, err = h.Result(ctx)
	fmt.Println(errors.Is(err, backoff.ReasonPermanent))
	s.Close()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	printMetrics(rm)
	// Output:
	// shipped <nil>
	// true
	// backoff.attempt.duration{backoff.job.name=ship} count 4
	// backoff.attempt.lateness{backoff.job.name=ship} count 4
	// backoff.attempts{backoff.attempt.outcome=error,backoff.job.name=ship} 3
	// backoff.attempts{backoff.attempt.outcome=ok,backoff.job.name=ship} 1
	// backoff.give_ups{backoff.job.name=ship,backoff.reason=permanent error} 1
	// backoff.job.duration{backoff.job.name=ship,backoff.job.outcome=give_up} count 1
	// backoff.job.duration{backoff.job.name=ship,backoff.job.outcome=success} count 1
	// backoff.retries{backoff.job.name=ship} 2
	// backoff.scheduler.attempts{backoff.scheduler.name=example} 4
	// backoff.scheduler.gave_up{backoff.reason=permanent error,backoff.scheduler.name=example} 1
	// backoff.scheduler.submitted{backoff.scheduler.name=example} 2
	// backoff.scheduler.succeeded{backoff.scheduler.name=example} 1
	// backoff.successes{backoff.job.name=ship} 1
	// backoff.wait.duration{backoff.job.name=ship} count 2
}

// printMetrics prints the non-zero counters and the histograms' counts
// (their sums are real time here), sorted.
func printMetrics(rm metricdata.ResourceMetrics) {
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					if dp.Value != 0 {
						lines = append(lines, fmt.Sprintf("%s{%s} %d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Value))
					}
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} count %d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Count))
				}
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}
