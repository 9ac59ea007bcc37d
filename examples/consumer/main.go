// Command consumer processes a queue of messages through a Scheduler, with
// one shared results channel for every message's outcome and a dead-letter
// list for messages that failed for good.
//
//	go run ./examples/consumer
//
// The scheduler holds at most 64 messages in flight (MaxPending(64)) on few
// workers, and the producer submits with backpressure: a NonBlocking
// SubmitTo first, and when that fails with ErrPendingFull, a blocking
// SubmitTo that waits for a message to end. The summary counts how often
// the producer had to wait, and the most messages in flight it saw.
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/backoff-go/backoff"
)

const messages = 2000

// Message is one queue message.
type Message struct {
	ID   int
	Body string
}

var (
	errTimeout   = errors.New("downstream timeout")     // transient: retried
	errMalformed = errors.New("malformed message")      // not in RetryOn: not retried
	errForbidden = errors.New("account closed")         // marked Permanent
	errFlapping  = errors.New("downstream unavailable") // transient, but never recovers
)

// process handles one message: a few hundred microseconds of work that
// fails in the ways a real consumer sees.
func process(_ context.Context, m Message) (int, error) {
	time.Sleep(time.Duration(100+rand.IntN(400)) * time.Microsecond)
	switch {
	case m.ID%250 == 17:
		return m.ID, errMalformed
	case m.ID%400 == 33:
		return m.ID, backoff.Permanent(errForbidden)
	case m.ID%500 == 99:
		return m.ID, errFlapping
	case rand.IntN(5) == 0:
		return m.ID, errTimeout
	}
	return m.ID, nil
}

// deadLetter is a message that failed for good.
type deadLetter struct {
	msg    Message
	reason backoff.Reason
	err    error
}

func main() {
	s, err := backoff.NewScheduler(backoff.MaxPending(64), backoff.Workers(4))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()

	pol, err := backoff.NewPolicy[int](
		backoff.RetryOn(errTimeout, errFlapping), // anything else is not retryable
		backoff.Expo{Factor: 2 * time.Millisecond, Max: 20 * time.Millisecond},
		backoff.MaxTries(5),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	// The queue: a producer goroutine fills it, as a broker client would.
	queue := make(chan Message, 128)
	go func() {
		defer close(queue)
		for i := range messages {
			queue <- Message{ID: i, Body: fmt.Sprintf("order %d", i)}
		}
	}()

	// The result reader: one goroutine for every job's terminal event.
	results := make(chan backoff.Event[int], 64)
	byID := make(map[uint64]Message, messages) // job ID -> message
	var (
		mu        sync.Mutex
		processed int
		dead      []deadLetter
		peak      int
	)
	var reader sync.WaitGroup
	reader.Go(func() {
		for range messages {
			ev := <-results
			mu.Lock()
			m := byID[ev.ID]
			delete(byID, ev.ID)
			if ev.Kind == backoff.EventSuccess {
				processed++
			} else {
				var gu *backoff.GiveUpError
				errors.As(ev.Err, &gu)
				dead = append(dead, deadLetter{msg: m, reason: ev.Reason, err: gu.Err})
			}
			mu.Unlock()
		}
	})

	// The consumer loop: take a message, submit it, with backpressure.
	ctx := context.Background()
	nonBlocking := []backoff.Option{pol, backoff.NonBlocking()}
	blocked, submitted := 0, 0
	start := time.Now()
	for m := range queue {
		op := func(ctx context.Context) (int, error) { return process(ctx, m) }
		// The map entry must exist before the job can end: hold the lock
		// across the submit.
		mu.Lock()
		id, err := backoff.SubmitTo(ctx, s, op, results, nonBlocking...)
		if errors.Is(err, backoff.ErrPendingFull) {
			mu.Unlock()
			blocked++
			// Wait for room, without the lock: the reader must keep going.
			id, err = backoff.SubmitTo(ctx, s, op, results, pol)
			mu.Lock()
		}
		if err != nil {
			mu.Unlock()
			fmt.Fprintln(os.Stderr, "submit:", err)
			os.Exit(1)
		}
		byID[id] = m
		mu.Unlock()
		submitted++
		peak = max(peak, s.Stats().Pending)
	}
	reader.Wait()
	wall := time.Since(start)

	st := s.Stats()
	fmt.Printf("messages        %d submitted, %d blocked submits (64 in flight), peak pending %d\n", submitted, blocked, peak)
	fmt.Printf("processed       %d\n", processed)
	fmt.Printf("dead-lettered   %d\n", len(dead))
	sort.Slice(dead, func(i, j int) bool { return dead[i].msg.ID < dead[j].msg.ID })
	reasons := map[backoff.Reason]int{}
	for _, d := range dead {
		reasons[d.reason]++
	}
	for _, r := range []backoff.Reason{backoff.ReasonMaxTries, backoff.ReasonNotRetryable, backoff.ReasonPermanent} {
		fmt.Printf("  %-15s %d\n", r.String(), reasons[r])
	}
	for i, d := range dead {
		if i == 6 {
			fmt.Printf("  ... and %d more\n", len(dead)-i)
			break
		}
		fmt.Printf("  message %4d: %s: %v\n", d.msg.ID, d.reason.String(), d.err)
	}
	fmt.Printf("attempts        %d in %v\n", st.Attempts, wall.Round(time.Millisecond))
	if processed+len(dead) != messages {
		fmt.Printf("FAIL: %d messages had no outcome\n", messages-processed-len(dead))
		os.Exit(1)
	}
}
