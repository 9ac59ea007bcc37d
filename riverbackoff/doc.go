// Package riverbackoff runs backoff policies on River, the Postgres job
// queue (github.com/riverqueue/river), so that retry loops outlive the
// process that started them and spread over many processes. It is a
// module of its own, so that pgx and River never enter the dependencies of
// the core package, github.com/backoff-go/backoff.
//
// # Workers
//
// A [Worker] is a River worker that runs an op under a *backoff.Policy.
// Each River attempt calls the op once, and [backoff.Decide], the decision
// function of the in-process scheduler, says what follows, so both
// backends retry alike:
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
//     the one Decide gives: after an error, [Worker.NextRetry] returns the
//     attempt's end plus the wait; after a value the policy retries, the
//     job is snoozed for the wait.
//   - Snoozes do not count as River attempts, so the worker counts tries
//     in the metadata: expo waits keep growing while a job polls.
//   - MaxTries is checked by Decide after each attempt, and becomes
//     River's MaxAttempts through [InsertOpts] (River's largest, 32767,
//     for a policy without MaxTries or with a larger one; a MaxAttempts
//     you set is kept, as a second limit). River counts every attempt the
//     worker counts as a try, lost ones included, except the snoozes that
//     retry values, so its count never runs out first; it ends the job
//     itself only when the last try is lost: its rescuer discards the
//     job, and the give-up is ReasonMaxTries with [ErrAttemptLost].
//   - MaxTime and MaxTimeStrict count from the first attempt's start,
//     stored in the metadata by the database's clock with the deadline it
//     implies (start + MaxTime). Decide trims a wait that would pass the
//     deadline to end at it (MaxTime), or gives up instead
//     (MaxTimeStrict), and judges each attempt when it ends, as in
//     process: an attempt that a wait of the policy's leads to runs
//     however late River starts it. A deadline that passed while the job
//     waited otherwise (a lost attempt awaiting River's rescue, the op's
//     own river.JobSnooze) ends the job with ReasonMaxTime before the op
//     runs again.
//   - Every give-up (MaxTries, MaxTime, GiveUp, Permanent, a retry
//     condition that does not match, an exhausted strategy, a panic)
//     returns river.JobCancel with the *backoff.GiveUpError: the job is
//     cancelled, and the reason is in the metadata.
//   - An attempt whose worker died (the process was killed) is rescued by
//     River after its RescueStuckJobsAfter; the next attempt first judges
//     it as failed with [ErrAttemptLost], so a crash counts as a try and
//     cannot exceed MaxTries or MaxTime.
//   - River's JobTimeout (or Worker.Timeout) bounds each attempt, as
//     AttemptTimeout does in process; InsertOpts.ScheduledAt delays the
//     first attempt, as InitialDelay does.
//
// The policy's handlers (OnBackoff, OnSuccess, OnGiveUp), logger,
// observer, budget, group, ErrorOnGiveUp, InitialDelay, StartJitter and
// AttemptTimeout are not run or read by the worker: the core package does
// not export them. Follow the events through a Watcher instead.
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
// Work blocks for as long as the op runs. Insert, InsertTo and
// Handle.Cancel make one round trip to the database. Handle.Result blocks
// until the job ends or its context ends; Handle.Events and WatchTo never
// block the Watcher. A Watcher makes one query per PollInterval for all
// the jobs it follows, and none while it follows none.
package riverbackoff
