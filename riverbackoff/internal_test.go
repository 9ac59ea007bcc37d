package riverbackoff

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff"
)

// These tests need no database: they check how job rows turn into events.

func rowWith(t *testing.T, state rivertype.JobState, attempt int, rec *record) *rivertype.JobRow {
	t.Helper()
	md := []byte(`{}`)
	if rec != nil {
		b, err := json.Marshal(map[string]any{MetadataKey: rec, "snoozes": 3})
		if err != nil {
			t.Fatal(err)
		}
		md = b
	}
	fin := time.Now()
	return &rivertype.JobRow{ID: 7, State: state, Attempt: attempt, Metadata: md, FinalizedAt: &fin}
}

func TestTrackerReportsEachBackoffOnce(t *testing.T) {
	var tr tracker[int]
	rec := &record{Tries: 1, Event: recBackoff, Wait: time.Second, Err: "boom", Value: json.RawMessage(`5`)}
	p, f, _ := tr.next(rowWith(t, rivertype.JobStateRetryable, 1, rec))
	if p == nil || f != nil || p.Tries != 1 || p.Value != 5 || p.Wait != time.Second || p.Err.Error() != "boom" || p.ID != 7 {
		t.Fatalf("first read: %+v, %+v", p, f)
	}
	if p, f, _ = tr.next(rowWith(t, rivertype.JobStateRunning, 2, rec)); p != nil || f != nil {
		t.Fatalf("same record again: %+v, %+v", p, f)
	}
	rec = &record{Tries: 2, Snoozed: 1, Event: recSuccess, Value: json.RawMessage(`9`)}
	p, f, err := tr.next(rowWith(t, rivertype.JobStateCompleted, 1, rec))
	if p != nil || f == nil || err != nil || f.Kind != backoff.EventSuccess || f.Tries != 2 || f.Value != 9 {
		t.Fatalf("success: %+v, %+v, %v", p, f, err)
	}
}

func TestTrackerTerminalStates(t *testing.T) {
	cases := []struct {
		name   string
		state  rivertype.JobState
		rec    *record
		att    int
		reason backoff.Reason
		tries  int
		is     error
	}{
		{"recorded give-up", rivertype.JobStateCancelled, &record{Tries: 3, Event: recGiveUp, Reason: "max time", Err: "late"}, 3, backoff.ReasonMaxTime, 3, backoff.ReasonMaxTime},
		{"lost attempt discarded", rivertype.JobStateDiscarded, &record{Tries: 2, Event: recBackoff}, 3, backoff.ReasonMaxTries, 3, ErrAttemptLost},
		{"cancelled while waiting", rivertype.JobStateCancelled, &record{Tries: 1, Event: recBackoff, Err: "x"}, 1, backoff.ReasonCanceled, 1, backoff.ReasonCanceled},
		{"cancelled while running", rivertype.JobStateCancelled, &record{Tries: 1, Event: recBackoff}, 2, backoff.ReasonCanceled, 2, backoff.ReasonCanceled},
		{"no record", rivertype.JobStateCancelled, nil, 1, backoff.ReasonCanceled, 1, backoff.ReasonCanceled},
		{"lost reason text", rivertype.JobStateCancelled, &record{Tries: 1, Event: recGiveUp, Reason: "max tries", Err: ErrAttemptLost.Error()}, 1, backoff.ReasonMaxTries, 1, ErrAttemptLost},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr tracker[string]
			_, f, err := tr.next(rowWith(t, c.state, c.att, c.rec))
			var ge *backoff.GiveUpError
			if f == nil || !errors.As(err, &ge) {
				t.Fatalf("%+v, %v: want a give-up", f, err)
			}
			if f.Kind != backoff.EventGiveUp || f.Reason != c.reason || ge.Tries != c.tries || !errors.Is(err, c.is) {
				t.Errorf("%+v (%v): want %v after %d tries, errors.Is %v", f, err, c.reason, c.tries, c.is)
			}
		})
	}
}

func TestTrackerValueThatDoesNotDecode(t *testing.T) {
	var tr tracker[int]
	_, f, err := tr.next(rowWith(t, rivertype.JobStateCompleted, 1, &record{Tries: 1, Event: recSuccess, Value: json.RawMessage(`"text"`)}))
	if f == nil || f.Kind != backoff.EventSuccess || err == nil || f.Err == nil {
		t.Fatalf("%+v, %v: want a success carrying the decoding error", f, err)
	}
}

func TestReasonsRoundTrip(t *testing.T) {
	for r := backoff.ReasonNone; r <= backoff.ReasonBudget; r++ {
		if reasons[r.String()] != r {
			t.Errorf("%v does not come back from its text", r)
		}
	}
}

func TestReadRecordTolerates(t *testing.T) {
	for _, md := range []string{``, `{}`, `{"backoff": 3}`, `not json`, `{"backoff": null}`} {
		if r := readRecord([]byte(md)); r.Tries != 0 || !r.Start.IsZero() {
			t.Errorf("%q: %+v, want a zero record", md, r)
		}
	}
}

func TestInsertOpts(t *testing.T) {
	if o := InsertOpts(nil); o.MaxAttempts != MaxAttempts {
		t.Errorf("nil: MaxAttempts %d", o.MaxAttempts)
	}
	in := &river.InsertOpts{MaxAttempts: 4, Queue: "q"}
	if o := InsertOpts(in); o.MaxAttempts != 4 || o.Queue != "q" || o == in {
		t.Errorf("%+v: want a copy keeping MaxAttempts 4", o)
	}
}

type noArgs struct{}

func (noArgs) Kind() string { return "none" }

func TestConstructorsRejectNil(t *testing.T) {
	p, err := backoff.NewPolicy[int]()
	if err != nil {
		t.Fatal(err)
	}
	op := func(_ context.Context, _ *river.Job[noArgs]) (int, error) { return 0, nil }
	if _, err := NewWorker[noArgs, int](nil, op); err == nil {
		t.Error("NewWorker with a nil policy: no error")
	}
	if _, err := NewWorker[noArgs, int](p, nil); err == nil {
		t.Error("NewWorker with a nil op: no error")
	}
	ws := river.NewWorkers()
	if err := AddWorker(ws, p, op); err != nil {
		t.Fatal(err)
	}
	if err := AddWorker(ws, p, op); err == nil {
		t.Error("a second worker for one kind: no error")
	}
	if _, err := NewWatcher(nil, nil); err == nil {
		t.Error("NewWatcher with a nil client: no error")
	}
}

func TestWaitStashSweeps(t *testing.T) {
	var s waitStash[noArgs]
	old := time.Now().Add(-2 * time.Minute)
	s.m = map[*river.Job[noArgs]]stashed{}
	for range 64 {
		s.m[&river.Job[noArgs]{}] = stashed{time.Second, old}
	}
	j := &river.Job[noArgs]{}
	s.put(j, 3*time.Second)
	if len(s.m) != 1 {
		t.Errorf("%d entries after the sweep, want 1", len(s.m))
	}
	if w, ok := s.take(j); !ok || w != 3*time.Second {
		t.Errorf("take = %v, %v", w, ok)
	}
	if _, ok := s.take(j); ok {
		t.Error("taken twice")
	}
}
