// Package riverbackoff runs backoff policies on River, the Postgres job
// queue (github.com/riverqueue/river), so that retry loops outlive the
// process that started them and spread over many processes. It is a
// module of its own, so that pgx and River never enter the dependencies of
// the core package, github.com/backoff-go/backoff.
//
// # Workers
//
// A [Worker] is a River worker that runs an op under a *backoff.Policy.
// Each River attempt calls the op once, and the decision function of
// the in-process scheduler says what follows, so both backends retry
// alike:
//
//	policy, err := backoff.NewPolicy[Status](
//		backoff.RetryOnValue(func(st Status) bool { return !st.Done }),
//		backoff.Expo{Factor: time.Second, Max: time.Minute},
//		backoff.MaxTime(time.Hour),
//	)
//	if err != nil {
//		return err
//	}
//	workers := river.NewWorkers()
//	err = riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[PollArgs]) (Status, error) {
//		return checkJob(ctx, job.Args.ID)
//	})
//	if err != nil {
//		return err
//	}
//
// The job's retry state (tries, the first attempt's start, the MaxTime
// deadline, the last wait) and its latest event are kept in its metadata
// under [MetadataKey], and written by River with the attempt's outcome, in
// the same statement.
//
// # Following jobs
//
// A [Watcher] reads the job rows and delivers [backoff.Event] values, the
// ones the in-process scheduler delivers: to a [Handle] per job, like
// Submit's, or to a results channel shared by many jobs, like SubmitTo's:
//
//	w, err := riverbackoff.NewWatcher(client, nil)
//	if err != nil {
//		return err
//	}
//	defer w.Close()
//	h, err := riverbackoff.Insert(ctx, w, policy, PollArgs{ID: id}, nil)
//	if err != nil {
//		return err
//	}
//	st, err := h.Result(ctx) // or range over h.Events()
//	if err != nil {
//		return err
//	}
//
//	results := make(chan backoff.Event[Status], 1024)
//	jobID, err := riverbackoff.InsertTo(ctx, w, policy, PollArgs{ID: id}, nil, results)
//	if err != nil {
//		return err
//	}
//
// Insert and InsertTo take the policy of the kind's worker, for its
// MaxTries; jobs inserted with River's own calls take [InsertOpts](policy,
// opts).
//
// The rows, not River's event subscription, are the source: a
// subscription reports only the jobs its own client worked and drops
// events when its reader falls behind.
//
// # How a policy maps to River
//
//   - The wait (strategy or Runtime, MaxWait, jitter, MaxTime's trim) is
//     the one the policy gives: after an error, [Worker.NextRetry] returns the
//     attempt's end plus the wait; after a value the policy retries, the
//     job is snoozed for the wait.
//   - Snoozes do not count as River attempts, so the worker counts tries
//     in the metadata: expo waits keep growing while a job polls.
//   - MaxTries is checked by the policy after each attempt, and becomes
//     River's MaxAttempts through [InsertOpts] (River's largest, 32767,
//     for a policy without MaxTries or with a larger one; a MaxAttempts
//     you set is kept, as a second limit). River counts every attempt the
//     worker counts as a try, lost ones included, except the snoozes that
//     retry values, so its count never runs out first; it ends the job
//     itself only when the last try is lost: its rescuer discards the
//     job, and the give-up is ReasonMaxTries with [ErrAttemptLost].
//   - MaxTime and MaxTimeStrict count from the first attempt's start,
//     stored in the metadata by the database's clock with the deadline it
//     implies (start + MaxTime). The decision trims a wait that would pass the
//     deadline to end at it (MaxTime), or gives up instead
//     (MaxTimeStrict), and judges each attempt when it ends, as in
//     process: an attempt that a wait of the policy's leads to runs
//     however late River starts it. A deadline that passed while the job
//     waited otherwise (a lost attempt awaiting River's rescue, the op's
//     own river.JobSnooze) ends the job with ReasonMaxTime before the op
//     runs again.
//   - Every give-up (MaxTries, MaxTime, GiveUp, Permanent, a retry
//     condition that does not match, an exhausted strategy, a panic, a
//     budget with no room) returns river.JobCancel with the
//     *backoff.GiveUpError: the job is cancelled, and the reason is in
//     the metadata.
//   - An attempt whose worker died (the process was killed) is rescued by
//     River after its RescueStuckJobsAfter; the next attempt first judges
//     it as failed with [ErrAttemptLost], so a crash counts as a try and
//     cannot exceed MaxTries or MaxTime.
//   - River's JobTimeout (or Worker.Timeout) bounds each attempt, as
//     AttemptTimeout does in process; InsertOpts.ScheduledAt delays the
//     first attempt, as InitialDelay does.
//   - Give-ups that no worker decides reach users as Watcher events
//     only: a Handle.Cancel (or River's JobCancel) of a job that waits or
//     runs, a deleted row, and River's rescuer discarding a job whose last
//     try was lost. No handler runs for them, and nothing is logged.
//
// # Handlers, logs, observers and budgets
//
// The worker runs the policy's attempt step, the one that Retry and the
// Scheduler run, in the process that works the job: for every outcome it
// decides (a retry, the success, every give-up of the list above that no
// one else decides, a lost attempt judged on the next run included), the
// policy's OnBackoff, OnSuccess or OnGiveUp handlers run once, its
// logger (WithLogger) gets python-backoff's records and its observer
// (WithObserver) the observations, in the in-process order. They run
// inside Work, on River's goroutine, before River writes the outcome.
// Their events carry what in-process events carry, except that:
//
//   - Event.ID is River's job ID and Event.Key is empty; a job's name, in
//     log records and observations, is the policy's Name, else the job's
//     kind.
//   - Elapsed counts from the first attempt's start by the database's
//     clock, as the metadata does.
//   - A lost attempt is judged with [ErrAttemptLost] and a zero value; the
//     observer gets its end (with a zero Duration) and not its start,
//     which the process that died saw.
//   - A give-up decided before the op runs (a MaxTime deadline that passed
//     while the job waited otherwise, a budget whose room would come after
//     MaxTime) carries the last attempt's value as stored, and its error
//     as text.
//   - Observation.Lateness is how long after River's scheduled time the
//     attempt started.
//   - An attempt that is no try (it returned river.JobSnooze, or ended
//     because the client stops or the job was cancelled) is observed
//     starting and ending, and is not judged: no handler runs for it.
//
// Handlers run at least once per decision, not exactly once: a process
// that dies between a handler and River's write of the outcome loses that
// outcome, River rescues the job, and its next run judges the attempt
// lost (running OnBackoff or OnGiveUp for it) and, unless the policy gives
// up, runs the op again, whose outcome runs its handlers again. Make
// their effects idempotent, keyed by Event.ID and Event.Tries.
//
// A panic in an OnBackoff handler ends the job with ReasonPanic, as in
// process. A panic in OnSuccess, OnGiveUp, the observer, or an error's
// Error method while logging is contained and the outcome stands: it is
// logged as Retry logs it (a handler's to the policy's logger) and counted
// by [Worker.HandlerPanics], the worker's own Stats.HandlerPanics. An op
// error whose Error method panics (a typed nil) is handed to River as fmt
// prints it, so that River's record of it cannot crash the worker.
//
// A budget (WithBudget) is per process: a *backoff.Budget lives in memory,
// and counts the first attempts and retries of the jobs that this process
// works. A retry that finds no room gives up with ReasonBudget under
// GiveUpWhenEmpty. Under WaitWhenEmpty the retry's due time passes as
// usual; then, instead of blocking a River worker, the job is snoozed for
// the time until the budget may have room (until its window next moves),
// asking again at each run, which River does not count as an attempt;
// when that time would pass MaxTime, the job gives up with ReasonBudget
// before the op runs. The metadata records that the retry is owed, so
// whichever process runs the job next asks its own budget.
//
// What the worker does not run, and what to use instead:
//
//   - Group, and a Scheduler's GroupLimit and GroupLimitFor: a River queue
//     per group, whose QueueConfig.MaxWorkers bounds the attempts each
//     client runs at once; a rate limiter (golang.org/x/time/rate) in the
//     op for a rate.
//   - ErrorOnGiveUp: a give-up always cancels the job, and Handle.Result
//     returns its *backoff.GiveUpError; read Event.Reason to tell a
//     give-up from a success.
//   - InitialDelay and StartJitter: InsertOpts.ScheduledAt, with a random
//     offset of your own for jitter.
//   - AttemptTimeout: River's JobTimeout, or a Timeout method on a struct
//     that embeds *Worker.
//   - A Scheduler's own options (its logger, observer and budget as
//     defaults, Workers, MaxPending) and per-call ones (Key, StartAt,
//     WithClock): the policy's own logger, observer and budget; River's
//     queues and unique jobs (InsertOpts.UniqueOpts); River runs on real
//     time and the database's clock (a Budget keeps its own clock).
//   - Stats: River's job table, and Worker.HandlerPanics.
//
// # Costs and blocking
//
// Each attempt costs River's fetch and River's write of the outcome, plus
// the metadata record in that write (about 200 bytes and the value's
// JSON). River writes outcomes in batches, every 250ms under light load
// or as soon as 100 are waiting; a retry then runs at the first fetch
// after its time: FetchPollInterval (1s by default) for waits up to 5s,
// and River's scheduler (every 5s) for longer ones. A killed attempt is
// rescued after RescueStuckJobsAfter (1h by default), on the rescuer's
// round (every 30s).
//
// Work blocks for as long as the op, and then the policy's handlers,
// logger and observer, run. Insert, InsertTo and
// Handle.Cancel make one round trip to the database. Handle.Result blocks
// until the job ends or its context ends; Handle.Events and WatchTo never
// block the Watcher. A Watcher makes one query per PollInterval for all
// the jobs it follows, and none while it follows none.
package riverbackoff
