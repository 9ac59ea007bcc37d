// Command poller polls simulated batch jobs until each reports done, one
// scheduled job per batch, with python-backoff's on_predicate:
// RetryOnValue retries while the returned status says "not done yet".
//
//	go run ./examples/poller
//
// Some batches never finish within MaxTime, to show the give-up; one is
// finished early by a "webhook" that calls Scheduler.Trigger to check it now
// instead of at the end of its wait.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/backoff-go/backoff"
)

// Status is what the batch service reports for one batch job.
type Status struct {
	ID    string
	Done  bool
	Polls int           // polls of this batch so far, this one included
	At    time.Duration // when this poll ran, since the start
}

// batchService is an in-process fake: each batch finishes at a set time
// after the start, or when it is finished explicitly.
type batchService struct {
	start time.Time
	mu    sync.Mutex
	ready map[string]time.Duration // when each batch finishes, from start
	polls map[string]int
}

func (b *batchService) poll(_ context.Context, id string) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.polls[id]++
	at := time.Since(b.start)
	return Status{ID: id, Done: at >= b.ready[id], Polls: b.polls[id], At: at}, nil
}

// finish marks a batch done now.
func (b *batchService) finish(id string) {
	b.mu.Lock()
	b.ready[id] = 0
	b.mu.Unlock()
}

const (
	batches   = 20
	triggered = "batch-07" // finished by the webhook
)

func main() {
	svc := &batchService{start: time.Now(), ready: map[string]time.Duration{}, polls: map[string]int{}}
	ids := make([]string, batches)
	for i := range ids {
		ids[i] = fmt.Sprintf("batch-%02d", i)
		switch {
		case i%7 == 5: // batch-05, -12, -19: far too slow for the limit
			svc.ready[ids[i]] = time.Hour
		case ids[i] == triggered: // would take an hour, but the webhook finishes it
			svc.ready[ids[i]] = time.Hour
		default: // 0ms, 90ms, 180ms, ... up to about 1.7s
			svc.ready[ids[i]] = time.Duration(i) * 90 * time.Millisecond
		}
	}

	s, err := backoff.NewScheduler(backoff.Workers(8))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()

	ctx := context.Background()
	handles := make([]*backoff.Handle[Status], batches)
	for i, id := range ids {
		h, err := backoff.Submit(ctx, s,
			func(ctx context.Context) (Status, error) { return svc.poll(ctx, id) },
			backoff.RetryOnValue(func(st Status) bool { return !st.Done }), // poll again while not done
			backoff.Constant{Interval: 50 * time.Millisecond},
			backoff.NoJitter,
			backoff.MaxTime(2*time.Second),
			backoff.Key(id), // Trigger and Cancel find the job by its batch ID
		)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		handles[i] = h
	}

	// The webhook: at 525ms, halfway through a wait, the batch service says
	// batch-07 is done. Check it now rather than at the end of the wait.
	time.Sleep(525*time.Millisecond - time.Since(svc.start))
	svc.finish(triggered)
	found := s.Trigger(triggered)
	fmt.Printf("%-8s finished at %v (webhook); Trigger: live job found = %v\n",
		triggered, time.Since(svc.start).Round(time.Millisecond), found)

	failed := 0
	for i, h := range handles {
		st, err := h.Result(ctx)
		var gu *backoff.GiveUpError
		switch {
		case err == nil:
			note := ""
			if ids[i] == triggered {
				note = ", checked at once by Trigger"
			}
			fmt.Printf("%-8s done after %2d polls (seen done at %v%s)\n", ids[i], st.Polls, st.At.Round(time.Millisecond), note)
		case errors.As(err, &gu):
			fmt.Printf("%-8s gave up: %s after %d polls (%v)\n", ids[i], gu.Reason, gu.Tries, gu.Elapsed.Round(10*time.Millisecond))
		default:
			failed++
			fmt.Printf("%-8s error: %v\n", ids[i], err)
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}
