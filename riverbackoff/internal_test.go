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
		text := reasonText(r)
		if got, err := readReason(text); got != r || err != nil || text != r.String() {
			t.Errorf("%v: stored as %q, read back as %v, %v", r, text, got, err)
		}
	}
	if got, err := readReason("a reason of a newer version"); got != backoff.ReasonNone || err == nil {
		t.Errorf("unknown text: %v, %v; want ReasonNone and an error", got, err)
	}
}

// TestTrackerUnknownReason reads a give-up whose reason a newer version
// wrote: the rest of the record still counts, and the cause says why the
// reason is missing.
func TestTrackerUnknownReason(t *testing.T) {
	var tr tracker[int]
	_, f, err := tr.next(rowWith(t, rivertype.JobStateCancelled, 2, &record{Tries: 2, Event: recGiveUp, Reason: "later", Err: "x"}))
	var ge *backoff.GiveUpError
	if f == nil || !errors.As(err, &ge) || ge.Tries != 2 || ge.Cause == nil || ge.Err.Error() != "x" {
		t.Fatalf("%+v, %v: want a give-up after 2 tries whose cause names the reason", f, err)
	}
	t.Log(err)
}

// TestTrackerSkippedAttempt reads jobs that gave up before an attempt's op
// ran (its deadline had passed, or a lost attempt used up the policy):
// River counted that attempt, the record counts it as skipped, and the
// tries are the record's.
func TestTrackerSkippedAttempt(t *testing.T) {
	var tr tracker[int]
	rec := &record{Tries: 2, Snoozed: 1, Skipped: 1, Event: recGiveUp, Reason: reasonText(backoff.ReasonMaxTime), Elapsed: time.Second}
	_, f, err := tr.next(rowWith(t, rivertype.JobStateCancelled, 2, rec))
	var ge *backoff.GiveUpError
	if f == nil || !errors.As(err, &ge) || ge.Reason != backoff.ReasonMaxTime || ge.Tries != 2 || ge.Elapsed != time.Second {
		t.Fatalf("%+v, %v: want max time after 2 tries and 1s", f, err)
	}
}

// TestTrackerLostFirstAttemptElapsed reads a job discarded after its only
// attempt was lost: no record, so the elapsed time runs from its creation.
func TestTrackerLostFirstAttemptElapsed(t *testing.T) {
	var tr tracker[int]
	row := rowWith(t, rivertype.JobStateDiscarded, 1, nil)
	row.CreatedAt = row.FinalizedAt.Add(-time.Minute)
	_, f, err := tr.next(row)
	if f == nil || f.Reason != backoff.ReasonMaxTries || f.Tries != 1 || f.Elapsed != time.Minute || !errors.Is(err, ErrAttemptLost) {
		t.Fatalf("%+v, %v: want max tries after 1 lost try and a minute", f, err)
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
	policy := func(opts ...backoff.Option) *backoff.Policy[int] {
		p, err := backoff.NewPolicy[int](opts...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name   string
		policy *backoff.Policy[int]
		opts   *river.InsertOpts
		want   int
	}{
		{"nil policy", nil, nil, MaxAttempts},
		{"no MaxTries", policy(backoff.MaxTime(time.Hour)), nil, MaxAttempts},
		{"MaxTries", policy(backoff.MaxTries(4)), nil, 4},
		{"MaxTries(1)", policy(backoff.MaxTries(1)), nil, 1},
		{"MaxTries beyond River's column", policy(backoff.MaxTries(100_000)), nil, MaxAttempts},
		{"MaxAttempts set", policy(backoff.MaxTries(4)), &river.InsertOpts{MaxAttempts: 9, Queue: "q"}, 9},
		{"other options kept", policy(backoff.MaxTries(4)), &river.InsertOpts{Queue: "q"}, 4},
	}
	for _, c := range cases {
		o := InsertOpts(c.policy, c.opts)
		if o.MaxAttempts != c.want || o == c.opts || (c.opts != nil && o.Queue != c.opts.Queue) {
			t.Errorf("%s: %+v, want a copy with MaxAttempts %d", c.name, o, c.want)
		}
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
		s.m[&river.Job[noArgs]{}] = stashed{old, old}
	}
	j := &river.Job[noArgs]{}
	due := time.Now().Add(3 * time.Second)
	s.put(j, due)
	if len(s.m) != 1 {
		t.Errorf("%d entries after the sweep, want 1", len(s.m))
	}
	if w, ok := s.take(j); !ok || !w.Equal(due) {
		t.Errorf("take = %v, %v", w, ok)
	}
	if _, ok := s.take(j); ok {
		t.Error("taken twice")
	}
}

// nilErr's Error dereferences its receiver: a typed nil *nilErr returned
// as an error panics when it is formatted.
type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

// The record stores an error whose Error method panics (a typed nil) as
// fmt prints it.
func TestRecordOfPanickingError(t *testing.T) {
	var typedNil *nilErr
	var rec record
	note(&rec, recGiveUp, time.Second, 0, backoff.ReasonMaxTries, typedNil, typedNil, 0)
	if rec.Err != "<nil>" || rec.Cause != "<nil>" || rec.Reason != "max tries" {
		t.Fatalf("record %+v", rec)
	}
}
