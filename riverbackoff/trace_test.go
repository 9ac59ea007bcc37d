package riverbackoff_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/backoff-go/backoff"
)

// trace records, in order, what a policy's handlers, logger and observer
// see, so that a job run by a Worker can be compared with the same policy
// run in process.
type trace struct {
	mu     sync.Mutex
	events []backoff.Event[int]
	logs   []string
	obs    []backoff.Observation
}

// options returns the handlers, logger and observer that record into tr;
// they come before a case's own options, so that a handler of the case
// that panics runs after tr saw the event.
func (tr *trace) options() []backoff.Option {
	rec := func(ev backoff.Event[int]) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.events = append(tr.events, ev)
	}
	return []backoff.Option{
		backoff.OnBackoff(rec), backoff.OnSuccess(rec), backoff.OnGiveUp(rec),
		backoff.WithLogger(slog.New(traceLog{tr})), backoff.WithObserver(traceObserver{tr}),
	}
}

// Observe records o.
type traceObserver struct{ tr *trace }

func (o traceObserver) Observe(ob backoff.Observation) {
	o.tr.mu.Lock()
	defer o.tr.mu.Unlock()
	o.tr.obs = append(o.tr.obs, ob)
}

// traceLog is a slog.Handler that records each record as a line of text:
// level, message and attributes, without the ones that differ from run to
// run (elapsed time, the job's ID, a stack).
type traceLog struct{ tr *trace }

func (traceLog) Enabled(context.Context, slog.Level) bool { return true }

func (h traceLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "elapsed", "id", "stack":
		default:
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	h.tr.mu.Lock()
	defer h.tr.mu.Unlock()
	h.tr.logs = append(h.tr.logs, b.String())
	return nil
}

func (h traceLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h traceLog) WithGroup(string) slog.Handler      { return h }

// snapshot returns copies of what tr recorded.
func (tr *trace) snapshot() ([]backoff.Event[int], []string, []backoff.Observation) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.events), slices.Clone(tr.logs), slices.Clone(tr.obs)
}

// The comparable text of events and observations: what the same policy
// and op give whoever runs them. IDs, elapsed times and run times differ
// between a River job and a Retry call.

func eventLine(ev backoff.Event[int]) string {
	return fmt.Sprintf("%v tries=%d wait=%v value=%d reason=%v err=%s", ev.Kind, ev.Tries, ev.Wait, ev.Value, ev.Reason, errLine(ev.Err))
}

var observationKinds = map[backoff.ObservationKind]string{
	backoff.ObserveAttemptStart: "start", backoff.ObserveAttemptEnd: "end",
	backoff.ObserveBackoff: "backoff", backoff.ObserveSuccess: "success", backoff.ObserveGiveUp: "give-up",
}

func observationLine(o backoff.Observation) string {
	return fmt.Sprintf("%s name=%s tries=%d wait=%v reason=%v err=%s", observationKinds[o.Kind], o.Name, o.Tries, o.Wait, o.Reason, errLine(o.Err))
}

// errLine is an error's text as fmt prints it, so that an Error method
// that panics (a typed nil) prints as <nil>.
func errLine(err error) string {
	if err == nil {
		return "-"
	}
	return fmt.Sprint(err)
}

func lines[E any](xs []E, line func(E) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = line(x)
	}
	return out
}
