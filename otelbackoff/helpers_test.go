package otelbackoff_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/backoff-go/backoff/otelbackoff"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errFlaky = errors.New("flaky")

// metrics is one collection from a ManualReader, by metric name.
type metrics map[string]metricdata.Metrics

// newProvider returns an SDK provider with a ManualReader, shut down when
// the test ends.
func newProvider(t testing.TB) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() {
		if err := mp.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return mp, r
}

func collect(t *testing.T, r *sdkmetric.ManualReader) metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelbackoff.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, otelbackoff.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// attrs builds the attribute set of a series from key, value pairs.
func attrs(kv ...string) attribute.Set {
	var kvs []attribute.KeyValue
	for i := 0; i+1 < len(kv); i += 2 {
		kvs = append(kvs, attribute.String(kv[i], kv[i+1]))
	}
	return attribute.NewSet(kvs...)
}

// sum returns the value of a Sum series, 0 if the series is absent, and
// checks the metric's unit and monotonicity.
func (ms metrics) sum(t *testing.T, name, unit string, monotonic bool, set attribute.Set) int64 {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		return 0
	}
	if m.Unit != unit {
		t.Errorf("%s: unit %q, want %q", name, m.Unit, unit)
	}
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: data is %T, want Sum[int64]", name, m.Data)
	}
	if s.IsMonotonic != monotonic {
		t.Errorf("%s: monotonic %v, want %v", name, s.IsMonotonic, monotonic)
	}
	for _, dp := range s.DataPoints {
		if dp.Attributes.Equals(&set) {
			return dp.Value
		}
	}
	return 0
}

// count is the value of a Counter series.
func (ms metrics) count(t *testing.T, name, unit string, set attribute.Set) int64 {
	t.Helper()
	return ms.sum(t, name, unit, true, set)
}

// hist returns the count and sum of a histogram series in seconds.
func (ms metrics) hist(t *testing.T, name string, set attribute.Set) (uint64, float64) {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		return 0, 0
	}
	if m.Unit != "s" {
		t.Errorf("%s: unit %q, want s", name, m.Unit)
	}
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: data is %T, want Histogram[float64]", name, m.Data)
	}
	for _, dp := range h.DataPoints {
		if dp.Attributes.Equals(&set) {
			return dp.Count, dp.Sum
		}
	}
	return 0, 0
}

// points counts the data points of a metric, 0 when it is absent.
func (ms metrics) points(name string) int {
	switch d := ms[name].Data.(type) {
	case metricdata.Sum[int64]:
		return len(d.DataPoints)
	case metricdata.Histogram[float64]:
		return len(d.DataPoints)
	}
	return 0
}

// wantHist checks a histogram series' count and sum (exact up to float
// rounding of the sum).
func (ms metrics) wantHist(t *testing.T, name string, set attribute.Set, count uint64, sum float64) {
	t.Helper()
	c, s := ms.hist(t, name, set)
	if c != count || math.Abs(s-sum) > 1e-9 {
		t.Errorf("%s{%s}: count %d sum %v, want count %d sum %v", name, set.Encoded(attribute.DefaultEncoder()), c, s, count, sum)
	}
}

// wantCount checks a Counter series.
func (ms metrics) wantCount(t *testing.T, name, unit string, set attribute.Set, want int64) {
	t.Helper()
	if got := ms.count(t, name, unit, set); got != want {
		t.Errorf("%s{%s} = %d, want %d", name, set.Encoded(attribute.DefaultEncoder()), got, want)
	}
}

// checkAttributeKeys fails if any series has a key outside allowed, or a
// value that is one of the jobs' keys.
func (ms metrics) checkAttributeKeys(t *testing.T, allowed []attribute.Key, jobKeys ...string) {
	t.Helper()
	check := func(name string, set attribute.Set) {
		for _, kv := range set.ToSlice() {
			if !slices.Contains(allowed, kv.Key) {
				t.Errorf("%s has attribute %s", name, kv.Key)
			}
			for _, k := range jobKeys {
				if strings.Contains(kv.Value.String(), k) {
					t.Errorf("%s: attribute %s=%q holds a job key", name, kv.Key, kv.Value.String())
				}
			}
		}
	}
	for name, m := range ms {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				check(name, dp.Attributes)
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				check(name, dp.Attributes)
			}
		default:
			t.Errorf("%s: unexpected data %T", name, m.Data)
		}
	}
}
