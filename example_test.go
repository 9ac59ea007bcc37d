package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backoff-go/backoff"
)

// errExampleUnavailable is the transient failure of the examples' fake services.
var errExampleUnavailable = errors.New("service unavailable")

// exampleFlaky returns an op that fails n times, then returns v.
func exampleFlaky[T any](n int, v T) func(context.Context) (T, error) {
	calls := 0
	return func(context.Context) (T, error) {
		calls++
		if calls <= n {
			var zero T
			return zero, errExampleUnavailable
		}
		return v, nil
	}
}

// waits lists a strategy's first n waits, each written by format.
func exampleWaits(s backoff.Strategy, n int, format func(time.Duration) string) string {
	var out []string
	var prev time.Duration
	for i := 1; i <= n; i++ {
		d, ok := s.Delay(i, prev)
		if !ok {
			break
		}
		out = append(out, format(d))
		prev = d
	}
	return strings.Join(out, " ")
}

// exampleSeconds writes a wait in exampleSeconds, rounded to the millisecond.
func exampleSeconds(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

// Retry calls an operation until it succeeds, here on the third call.
func ExampleRetry() {
	calls := 0
	v, err := backoff.Retry(context.Background(), func(context.Context) (string, error) {
		calls++
		if calls < 3 {
			return "", errExampleUnavailable
		}
		return "hello", nil
	}, backoff.NoWait{}, backoff.MaxTries(5))
	fmt.Println(v, err, calls)
	// Output: hello <nil> 3
}

// Wrap turns an operation into a retrying function, checked once and
// called as often as needed.
func ExampleWrap() {
	fetch := backoff.Wrap(exampleFlaky(1, 42), backoff.NoWait{}, backoff.MaxTries(3))
	v, err := fetch(context.Background())
	fmt.Println(v, err)
	// Output: 42 <nil>
}

// Attempts retries a block of code in a range loop, python-backoff's
// retry_context.
func ExampleAttempts() {
	loop := backoff.Attempts[string](context.Background(), backoff.NoWait{}, backoff.MaxTries(5))
	for a := range loop.All() {
		fmt.Println("attempt", a.Number())
		if a.Number() < 3 {
			a.Fail(errExampleUnavailable)
			continue
		}
		a.Return("done", nil)
	}
	v, err := loop.Result()
	fmt.Println(v, err, loop.Tries())
	// Output:
	// attempt 1
	// attempt 2
	// attempt 3
	// done <nil> 3
}

// Submit runs a job on a Scheduler; its Handle gives the result.
func ExampleSubmit() {
	s, err := backoff.NewScheduler(backoff.Workers(2))
	if err != nil {
		panic(err)
	}
	defer s.Close()

	ctx := context.Background()
	h, err := backoff.Submit(ctx, s, exampleFlaky(2, "report.pdf"),
		backoff.Intervals{time.Millisecond, time.Millisecond, time.Millisecond})
	if err != nil {
		panic(err)
	}
	v, err := h.Result(ctx)
	fmt.Println(v, err)
	// Output: report.pdf <nil>
}

// Handle.Events follows one job step by step: each backoff, then the end.
func ExampleHandle_Events() {
	s, err := backoff.NewScheduler()
	if err != nil {
		panic(err)
	}
	defer s.Close()

	// Backoff events are produced once Events has been called: hold the
	// first attempt until then.
	listening := make(chan struct{})
	op := exampleFlaky(2, 7)
	h, err := backoff.Submit(context.Background(), s, func(ctx context.Context) (int, error) {
		<-listening
		return op(ctx)
	}, backoff.Intervals{time.Millisecond, 2 * time.Millisecond}, backoff.NoJitter)
	if err != nil {
		panic(err)
	}
	events := h.Events()
	close(listening)
	for ev := range events {
		switch ev.Kind {
		case backoff.EventBackoff:
			fmt.Printf("try %d failed (%v), next in %v\n", ev.Tries, ev.Err, ev.Wait)
		case backoff.EventSuccess:
			fmt.Printf("try %d succeeded: %d\n", ev.Tries, ev.Value)
		case backoff.EventGiveUp:
			fmt.Printf("try %d: gave up: %v\n", ev.Tries, ev.Reason)
		}
	}
	// Output:
	// try 1 failed (service unavailable), next in 1ms
	// try 2 failed (service unavailable), next in 2ms
	// try 3 succeeded: 7
}

// SubmitTo sends the terminal events of many jobs to one shared channel;
// Event.ID tells them apart.
func ExampleSubmitTo() {
	s, err := backoff.NewScheduler(backoff.Workers(4))
	if err != nil {
		panic(err)
	}
	defer s.Close()

	// One policy for every job, checked once.
	pol, err := backoff.NewPolicy[int](backoff.Intervals{time.Millisecond, time.Millisecond}, backoff.NoJitter)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	results := make(chan backoff.Event[int], 8)
	const jobs = 5
	for i := range jobs {
		// Job i fails i times: jobs 3 and 4 run out of intervals.
		if _, err := backoff.SubmitTo(ctx, s, exampleFlaky(i, i*i), results, pol); err != nil {
			panic(err)
		}
	}
	var evs []backoff.Event[int]
	for range jobs {
		evs = append(evs, <-results)
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	for _, ev := range evs {
		if ev.Kind == backoff.EventSuccess {
			fmt.Printf("job %d: %d after %d tries\n", ev.ID, ev.Value, ev.Tries)
		} else {
			fmt.Printf("job %d: gave up after %d tries: %s\n", ev.ID, ev.Tries, ev.Reason)
		}
	}
	// Output:
	// job 1: 0 after 1 tries
	// job 2: 1 after 2 tries
	// job 3: 4 after 3 tries
	// job 4: gave up after 3 tries: strategy exhausted
	// job 5: gave up after 3 tries: strategy exhausted
}

// StartAt releases a burst at a set instant: the jobs run together, in
// the order they were submitted (here on one worker, so one by one).
func ExampleStartAt() {
	s, err := backoff.NewScheduler(backoff.Workers(1))
	if err != nil {
		panic(err)
	}
	defer s.Close()

	at := time.Now().Add(5 * time.Millisecond)
	results := make(chan backoff.Event[string], 3)
	for _, name := range []string{"first", "second", "third"} {
		op := func(context.Context) (string, error) {
			if time.Now().Before(at) {
				return "", errors.New("ran early")
			}
			return name, nil
		}
		if _, err := backoff.SubmitTo(context.Background(), s, op, results, backoff.StartAt(at), backoff.MaxTries(1)); err != nil {
			panic(err)
		}
	}
	for range 3 {
		ev := <-results
		fmt.Println(ev.Value, ev.Err)
	}
	// Output:
	// first <nil>
	// second <nil>
	// third <nil>
}

// RetryOnValue polls until the value says done: python-backoff's
// on_predicate.
func ExampleRetryOnValue() {
	type status struct{ done bool }
	polls := 0
	poll := func(context.Context) (status, error) {
		polls++
		return status{done: polls == 4}, nil
	}
	st, err := backoff.Retry(context.Background(), poll,
		backoff.RetryOnValue(func(st status) bool { return !st.done }),
		backoff.Constant{Interval: time.Millisecond}, backoff.NoJitter,
		backoff.MaxTries(10))
	fmt.Println(st.done, err, polls)
	// Output: true <nil> 4
}

// Expo doubles the wait after each attempt; Expo{} starts at 1s.
func ExampleExpo() {
	fmt.Println(exampleWaits(backoff.Expo{}, 6, time.Duration.String))
	fmt.Println(exampleWaits(backoff.Expo{Factor: 3 * time.Second, Max: 16 * time.Second}, 5, time.Duration.String))
	// Output:
	// 1s 2s 4s 8s 16s 32s
	// 3s 6s 12s 16s 16s
}

// Fibo grows the wait along the Fibonacci numbers, up to Max.
func ExampleFibo() {
	fmt.Println(exampleWaits(backoff.Fibo{Max: 8 * time.Second}, 7, time.Duration.String))
	// Output: 1s 1s 2s 3s 5s 8s 8s
}

// Decay shrinks the wait by e^-Rate per attempt, never below Min.
func ExampleDecay() {
	fmt.Println(exampleWaits(backoff.Decay{}, 4, exampleSeconds))
	fmt.Println(exampleWaits(backoff.Decay{Initial: 100 * time.Second, Rate: 3, Min: 5 * time.Second}, 3, exampleSeconds))
	// Output:
	// 1.000s 0.368s 0.135s 0.050s
	// 100.000s 5.000s 5.000s
}

// Intervals waits the listed durations, then gives up: two intervals allow
// three attempts.
func ExampleIntervals() {
	waits := backoff.Intervals{time.Millisecond, 2 * time.Millisecond}
	for n := 1; n <= 3; n++ {
		d, ok := waits.Delay(n, 0)
		fmt.Println(n, d, ok)
	}
	calls := 0
	_, err := backoff.Retry(context.Background(), func(context.Context) (int, error) {
		calls++
		return 0, errExampleUnavailable
	}, waits, backoff.NoJitter)
	fmt.Println(calls, errors.Is(err, backoff.ReasonExhausted))
	// Output:
	// 1 1ms true
	// 2 2ms true
	// 3 0s false
	// 3 true
}

// OnBackoff and OnGiveUp are python-backoff's handlers: they receive each
// step as an Event.
func ExampleOnBackoff() {
	_, err := backoff.Retry(context.Background(), exampleFlaky(5, 0),
		backoff.Intervals{time.Millisecond, time.Millisecond, time.Millisecond}, backoff.NoJitter,
		backoff.MaxTries(3),
		backoff.OnBackoff(func(ev backoff.Event[int]) {
			fmt.Printf("backoff: tries=%d err=%v wait=%v\n", ev.Tries, ev.Err, ev.Wait)
		}),
		backoff.OnGiveUp(func(ev backoff.Event[int]) {
			fmt.Printf("gave up: tries=%d reason=%s\n", ev.Tries, ev.Reason)
		}))
	fmt.Println(errors.Is(err, backoff.ReasonMaxTries))
	// Output:
	// backoff: tries=1 err=service unavailable wait=1ms
	// backoff: tries=2 err=service unavailable wait=1ms
	// gave up: tries=3 reason=max tries
	// true
}

// MaxTime bounds the time since the first attempt; MaxTime(0) allows
// exactly one attempt.
func ExampleMaxTime() {
	calls := 0
	_, err := backoff.Retry(context.Background(), func(context.Context) (int, error) {
		calls++
		return 0, errExampleUnavailable
	}, backoff.Intervals{time.Millisecond, time.Millisecond}, backoff.NoJitter, backoff.MaxTime(0))
	fmt.Println(calls, errors.Is(err, backoff.ReasonMaxTime))
	// Output: 1 true
}

// Permanent ends the job at once, whatever the retry conditions say.
func ExamplePermanent() {
	errNotFound := errors.New("404 not found")
	calls := 0
	_, err := backoff.Retry(context.Background(), func(context.Context) (int, error) {
		calls++
		return 0, backoff.Permanent(errNotFound)
	}, backoff.NoWait{}, backoff.MaxTries(5))
	fmt.Println(calls, errors.Is(err, backoff.ReasonPermanent), errors.Is(err, errNotFound))
	// Output: 1 true true
}

// ParseRetryAfter reads an HTTP Retry-After header: exampleSeconds or a date.
func ExampleParseRetryAfter() {
	now := time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC) // the response's Date header
	for _, v := range []string{"120", "Sat, 01 Mar 2025 12:00:30 GMT", "Sat, 01 Mar 2025 11:00:00 GMT", "1.5"} {
		d, err := backoff.ParseRetryAfter(v, now)
		fmt.Println(d, err)
	}
	// Output:
	// 2m0s <nil>
	// 30s <nil>
	// 0s <nil>
	// 0s backoff: bad Retry-After value "1.5"
}

// A GiveUpError keeps the reason and the last error: errors.Is and
// errors.As reach both.
func ExampleGiveUpError() {
	_, err := backoff.Retry(context.Background(), exampleFlaky(10, 0), backoff.NoWait{}, backoff.MaxTries(3))
	fmt.Println(errors.Is(err, backoff.ReasonMaxTries), errors.Is(err, backoff.ReasonMaxTime))
	fmt.Println(errors.Is(err, errExampleUnavailable))
	var gu *backoff.GiveUpError
	if errors.As(err, &gu) {
		fmt.Println(gu.Reason.String(), gu.Tries, gu.Err)
	}
	// Output:
	// true false
	// true
	// max tries 3 service unavailable
}

// ErrorOnGiveUp(false) returns the last value and no error on give-up,
// like python-backoff's raise_on_giveup=False.
func ExampleErrorOnGiveUp() {
	calls := 0
	v, err := backoff.Retry(context.Background(), func(context.Context) (string, error) {
		calls++
		return fmt.Sprintf("partial %d", calls), errExampleUnavailable
	}, backoff.NoWait{}, backoff.MaxTries(2), backoff.ErrorOnGiveUp(false))
	fmt.Println(v, err)
	// Output: partial 2 <nil>
}

// A Budget shared by every caller of a dependency keeps retries to a share
// of first attempts. Here it allows 0.5 retries per first attempt and no
// minimum rate: of four calls that each fail once, every second one finds
// no room to retry and gives up at once.
func ExampleBudget() {
	b, err := backoff.NewBudget(backoff.BudgetConfig{Ratio: 0.5})
	if err != nil {
		panic(err)
	}
	call := backoff.Wrap(func(ctx context.Context) (string, error) {
		return "", errExampleUnavailable
	}, backoff.NoWait{}, backoff.MaxTries(2), backoff.WithBudget(b, backoff.GiveUpWhenEmpty))
	for range 4 {
		_, err := call(context.Background())
		var ge *backoff.GiveUpError
		errors.As(err, &ge)
		fmt.Printf("gave up after %d tries: %s\n", ge.Tries, ge.Reason.String())
	}
	st := b.Stats()
	fmt.Println("first attempts", st.FirstAttempts, "retries", st.Retries, "denied", st.Denied)
	// Output:
	// gave up after 1 tries: retry budget empty
	// gave up after 2 tries: max tries
	// gave up after 1 tries: retry budget empty
	// gave up after 2 tries: max tries
	// first attempts 4 retries 2 denied 2
}

// GroupLimit keeps one group's burst from taking every worker: each
// tenant's jobs run at most one at a time here, whatever the pool's size.
func ExampleGroupLimit() {
	s, err := backoff.NewScheduler(backoff.Workers(8), backoff.GroupLimit(1))
	if err != nil {
		panic(err)
	}
	defer s.Close()

	var mu sync.Mutex
	running, peak := map[string]int{}, map[string]int{}
	res := make(chan backoff.Event[string], 16)
	for _, tenant := range []string{"a", "a", "a", "b", "b", "b"} {
		op := func(context.Context) (string, error) {
			mu.Lock()
			running[tenant]++
			peak[tenant] = max(peak[tenant], running[tenant])
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running[tenant]--
			mu.Unlock()
			return tenant, nil
		}
		if _, err := backoff.SubmitTo(context.Background(), s, op, res, backoff.Group(tenant)); err != nil {
			panic(err)
		}
	}
	for range 6 {
		<-res
	}
	fmt.Println("most at once: a", peak["a"], "b", peak["b"])
	// Output: most at once: a 1 b 1
}

// GroupRateFor holds one group to a quota, here an API that takes 1,000
// requests a second in bursts of up to 5: of 20 polls, 5 go at once and
// the rest one a millisecond, each when its token comes.
func ExampleGroupRateFor() {
	s, err := backoff.NewScheduler(backoff.GroupRateFor("api", 1000, 5))
	if err != nil {
		panic(err)
	}
	defer s.Close()

	res := make(chan backoff.Event[int], 20)
	start := time.Now()
	for i := range 20 {
		poll := func(context.Context) (int, error) { return i, nil }
		if _, err := backoff.SubmitTo(context.Background(), s, poll, res, backoff.Group("api")); err != nil {
			panic(err)
		}
	}
	for range 20 {
		<-res
	}
	took := time.Since(start).Round(time.Millisecond)
	st := s.Stats()
	fmt.Println("15 ms or more:", took >= 15*time.Millisecond, "succeeded:", st.Succeeded, "rate-held:", st.RateHeld)
	// Output: 15 ms or more: true succeeded: 20 rate-held: 0
}
