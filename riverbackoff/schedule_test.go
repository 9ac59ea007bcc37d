package riverbackoff_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

type mExpoErr struct{}

func (mExpoErr) name() string { return "expo_err" }

type mExpoPoll struct{}

func (mExpoPoll) name() string { return "expo_poll" }

// seen is what one attempt saw of its job row, and when it ended.
type seen struct {
	attempt     int
	scheduledAt time.Time
	attemptedAt time.Time
	ended       time.Time
	metaTries   int
}

// TestScheduleExpoNoJitter checks that the waits of an Expo policy without
// jitter are the ones in the job rows: each retry's scheduled_at is the
// previous attempt's end plus 200ms, 400ms, 800ms, 1.6s; both for errors
// (River retries, counting attempts) and for values the policy retries
// (River snoozes, not counting them: the job's own count keeps the waits
// growing).
func TestScheduleExpoNoJitter(t *testing.T) {
	pool, schema := testDB(t)
	policy, err := backoff.NewPolicy[int](backoff.Expo{Factor: 200 * time.Millisecond}, backoff.NoJitter,
		backoff.MaxTries(6), backoff.RetryOnValue(func(n int) bool { return n < 5 }))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	log := map[string][]seen{}
	record := func(kind string, job *rivertype.JobRow) {
		mu.Lock()
		defer mu.Unlock()
		log[kind] = append(log[kind], seen{attempt: job.Attempt, scheduledAt: job.ScheduledAt,
			attemptedAt: *job.AttemptedAt, ended: time.Now(), metaTries: recordOf(t, job).Tries})
	}
	workers := river.NewWorkers()
	// Fails four times with an error, then returns 5.
	if err := riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[jobArgs[mExpoErr]]) (int, error) {
		defer record("error", job.JobRow)
		if job.Attempt < 5 {
			return 0, errors.New("not yet")
		}
		return 5, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Returns 1, 2, 3, 4, 5: the first four are retried as values.
	n := 0
	if err := riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[jobArgs[mExpoPoll]]) (int, error) {
		defer record("value", job.JobRow)
		n++
		return n, nil
	}); err != nil {
		t.Fatal(err)
	}
	client := startClient(t, pool, clientConfig(schema, workers))
	w := newWatcher(t, client)
	ctx := deadline(t, 30*time.Second)
	hErr, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mExpoErr]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hVal, err := riverbackoff.Insert(ctx, w, policy, jobArgs[mExpoPoll]{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*riverbackoff.Handle[int]{hErr, hVal} {
		v, err := h.Result(ctx)
		if err != nil || v != 5 {
			t.Fatalf("job %d: Result = %d, %v; want 5, nil", h.ID(), v, err)
		}
	}
	waits := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	mu.Lock()
	defer mu.Unlock()
	for kind, atts := range log {
		if len(atts) != 5 {
			t.Fatalf("%s: %d attempts, want 5", kind, len(atts))
		}
		for i, a := range atts {
			wantAttempt := i + 1 // River counts error attempts
			if kind == "value" {
				wantAttempt = 1 // and not snoozes
			}
			if a.attempt != wantAttempt || a.metaTries != i {
				t.Errorf("%s attempt %d: River's attempt %d, tries recorded before it %d; want %d, %d", kind, i+1, a.attempt, a.metaTries, wantAttempt, i)
			}
			if i == 0 {
				continue
			}
			wait := a.scheduledAt.Sub(atts[i-1].ended)
			late := a.attemptedAt.Sub(a.scheduledAt)
			t.Logf("%s attempt %d: scheduled %v after the previous attempt's end (want %v), started %v after scheduled_at", kind, i+1, wait.Round(time.Millisecond), waits[i-1], late.Round(time.Millisecond))
			if wait < waits[i-1] || wait > waits[i-1]+50*time.Millisecond {
				t.Errorf("%s attempt %d: scheduled_at is %v after the previous attempt ended, want %v (+50ms for the database write)", kind, i+1, wait, waits[i-1])
			}
			if late < -time.Millisecond || late > time.Second {
				t.Errorf("%s attempt %d: started %v after its scheduled_at", kind, i+1, late)
			}
		}
	}
}
