// Package backoff retries operations with python-backoff's policies, and
// runs many retry loops at once without a goroutine for each.
//
// # Blocking retries
//
// [Retry] calls an operation until it succeeds or its policy gives up,
// waiting on the calling goroutine; [Wrap] makes a retrying function out of
// an operation (python-backoff's decorators); [Attempts] retries a block
// of code in a range loop (python-backoff's retry_context). In the
// snippets, getURL and checkJob stand for the caller's operations, id for
// a batch job's ID and Status for what checkJob reports of it:
//
//	resp, err := backoff.Retry(ctx, getURL,
//		backoff.Expo{Max: 30 * time.Second}, // 1s, 2s, 4s, ... up to 30s, full jitter
//		backoff.MaxTries(5),
//		backoff.MaxTime(time.Minute),
//	)
//	if err != nil {
//		return err
//	}
//	defer resp.Body.Close()
//
// Two defaults are python-backoff's, and bite when forgotten: every wait is
// jittered ([FullJitter]), [Constant]'s too, so a poll every 200ms waits
// anywhere from 0 to 200ms ([NoJitter] keeps it steady); and with no
// options, Retry retries every error for ever, with uncapped [Expo] waits
// (the 20th is about 6 days): give it [MaxTries] or [MaxTime], and a cap.
//
// # The scheduler
//
// A [Scheduler] keeps every pending wait of every job in one timer
// structure owned by one goroutine, with one clock timer armed for the
// earliest deadline, and runs due attempts on a bounded pool of workers.
// A million waiting jobs cost a record each, not a goroutine each.
// Jobs enter through two functions: [Submit] returns a [Handle] to follow
// one job ([Subscribe] to read all of its events), and go doc lists it
// under type Handle; [SubmitTo] sends the terminal events of many jobs to
// one channel. Here a job polls every 5s, for at most 5 minutes:
//
//	s, err := backoff.NewScheduler(backoff.Workers(64))
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	poll := func(ctx context.Context) (Status, error) { return checkJob(ctx, id) }
//	h, err := backoff.Submit(ctx, s, poll,
//		backoff.RetryOnValue(func(st Status) bool { return !st.Done }),
//		backoff.Constant{Interval: 5 * time.Second}, backoff.NoJitter,
//		backoff.MaxTime(5*time.Minute))
//	if err != nil {
//		return err
//	}
//	st, err := h.Result(ctx)
//	if err != nil {
//		return err
//	}
//
// # Policies
//
// Options say what to retry ([RetryOn], [RetryOnType], [RetryIf],
// [RetryOnValue], [Permanent]), how long to wait (the strategies [Expo],
// [Fibo], [Constant], [Intervals], [NoWait], [Decay], [Decorrelated],
// [Runtime], and the jitters [FullJitter], [RandomJitter], [EqualJitter],
// [NoJitter]), when to stop ([MaxTries], [MaxTime], [MaxTimeStrict],
// [GiveUp]) and whom to tell ([OnBackoff], [OnSuccess], [OnGiveUp],
// [WithLogger], [WithObserver]). One decision function, pure and free of
// clocks, serves every runner: Retry, the scheduler and riverbackoff.
// [NewPolicy] checks options once, for jobs submitted many times; a job's own options
// ([Key], [Group], [Name], [InitialDelay], [StartAt], [NonBlocking],
// [Subscribe]) given beside a Policy never copy it. Option order never
// matters.
//
// Every job ends with exactly one terminal event: success, or give-up with
// a [Reason]. A give-up error is a [*GiveUpError] that errors.Is and
// errors.As see through, to the reason and to the last attempt's error.
//
// Bad input (a negative duration, MaxTries(0), a handler for the wrong
// value type, a nil context) is an error naming the option, returned
// before anything runs; no function of this package panics on bad input,
// nor on the zero or nil value of any of its types. Panics in operations
// and handlers are contained: the job gives up with ReasonPanic, and the
// scheduler carries on; so is a runtime.Goexit on a worker ([ErrGoexit]).
//
// # Overload and outages
//
// A [Budget] shared through [WithBudget] caps retries at a share of recent
// first attempts, so that an outage is not made worse by every caller
// retrying: a retry that finds no room gives up with [ReasonBudget] or
// waits for room. A scheduler bounds the jobs it holds ([MaxPending], with
// [NonBlocking] to fail fast instead of blocking), caps the attempts in
// flight of one [Group] ([GroupLimit], [GroupLimitFor]) so that one
// tenant's burst cannot take every worker, and counts in [Scheduler.Stats]
// the attempts whose op ignores its context past [AttemptTimeout].
// [Scheduler.Close] and [Scheduler.Shutdown] end every job it holds with a
// terminal event; once they return, nothing is sent on a results channel
// again.
//
// # Time
//
// Waits run on an injectable clock ([WithClock], github.com/benbjohnson/clock).
// Tests are best written with testing/synctest and the real clock; a
// clock.Mock works inside a synctest bubble too.
package backoff
