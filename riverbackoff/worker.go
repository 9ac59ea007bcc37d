package riverbackoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/internal/backend"
	"github.com/riverqueue/river"
)

// Worker is a River worker that runs an op under a backoff policy: each
// River attempt calls the op once, and the policy's decision, the one
// Retry and the Scheduler use, says what follows.
// Register it with [AddWorker], or with river.AddWorker after [NewWorker].
//
// It embeds river.WorkerDefaults, so the client's JobTimeout bounds each
// attempt (the durable AttemptTimeout); embed *Worker in a struct of your
// own to override Timeout or Middleware for one kind.
type Worker[A river.JobArgs, T any] struct {
	river.WorkerDefaults[A]

	policy *backoff.Policy[T]
	steps  backend.Policy[T]
	op     func(context.Context, *river.Job[A]) (T, error)
	waits  waitStash[A]
	panics atomic.Uint64
}

// NewWorker returns a worker that runs op under policy for jobs whose args
// are A. The op gets River's job (args, attempt, metadata) and a context
// that ends at the client's JobTimeout or when the client stops. T is
// stored as JSON in the job's metadata after every attempt, so it must be
// JSON-encodable and should be small; a value that fails to encode is
// stored as null. The policy's handlers, logger, observer and budget run
// in Work, as the package doc says; a job is named in log records and
// observations by the policy's Name, else by its kind.
func NewWorker[A river.JobArgs, T any](policy *backoff.Policy[T], op func(ctx context.Context, job *river.Job[A]) (T, error)) (*Worker[A, T], error) {
	if policy == nil {
		return nil, errors.New("riverbackoff: NewWorker: policy is nil")
	}
	if op == nil {
		return nil, errors.New("riverbackoff: NewWorker: op is nil")
	}
	w := &Worker[A, T]{policy: policy, op: op}
	w.steps = backend.PolicyOf[T](policy, func() { w.panics.Add(1) })
	return w, nil
}

// HandlerPanics returns how many panics the worker contained without
// changing a job's outcome, since it was made: in the policy's OnSuccess
// and OnGiveUp handlers, its observer, and an error's Error method while
// logging; what a Scheduler counts in Stats.HandlerPanics. It counts this
// process's worker only, and takes no lock.
func (w *Worker[A, T]) HandlerPanics() uint64 { return w.panics.Load() }

// AddWorker registers a [Worker] for jobs whose args are A on workers: the
// durable counterpart of submitting op with policy to a scheduler. It fails
// like NewWorker, or when a worker for A's kind is already registered.
func AddWorker[A river.JobArgs, T any](workers *river.Workers, policy *backoff.Policy[T], op func(ctx context.Context, job *river.Job[A]) (T, error)) error {
	w, err := NewWorker(policy, op)
	if err != nil {
		return err
	}
	return river.AddWorkerSafely(workers, w)
}

// Work runs one attempt and tells River what follows, keeping the job's
// retry state in its metadata under [MetadataKey]:
//
//   - success: nil, and the job completes;
//   - an error to retry: the error, which River records and retries at
//     [Worker.NextRetry];
//   - a value to retry (RetryOnValue): river.JobSnooze with the wait, which
//     River does not count as an attempt, while the worker counts the try;
//   - a give-up: river.JobCancel with the *backoff.GiveUpError, and the job
//     is cancelled; but when River's own MaxAttempts runs out first (one
//     set in the insert options below the policy's MaxTries), the error,
//     and River discards the job (reason max tries).
//
// Attempts that River counted but that left no record (their worker died
// and River rescued the job) are judged first, as failed with
// [ErrAttemptLost]; their wait runs from the rescue. When the policy gives
// up on them (MaxTries, or MaxTime, which may have passed while River
// waited to rescue the job), the job ends before the op runs.
//
// With MaxTime, the job's deadline (the first attempt's start plus
// MaxTime, by the database's clock) is kept in the metadata. The policy's
// waits end by it, as the decision trims them (or, with MaxTimeStrict, gives up
// instead), and the attempt such a wait leads to runs however late River
// starts it, as a late attempt does in process; the decision then judges it.
// The op's own river.JobSnooze is not trimmed: when it ends past the
// deadline, the attempt after it gives up with ReasonMaxTime before the
// op runs.
//
// Every outcome Work decides runs the policy's step as in process: the
// observer around the attempt, the budget, then the OnBackoff handlers
// and the log for a retry, or the OnSuccess or OnGiveUp handlers and the
// log at the end, before Work returns. A retry for which the policy's
// budget (WaitWhenEmpty) had no room is asked for again when it is due:
// while there is none, the job is snoozed for the time until there may
// be, and the op does not run.
//
// An op error after the client began to stop, or after the job was
// cancelled remotely, is handed to River as it is: River makes the job
// available again, or cancels it; the attempt is not counted, and no
// handler runs. An op that returns river.JobSnooze is
// snoozed and the attempt not counted; river.JobCancel is read as
// backoff.Permanent. A panic in the op, or in a predicate of the policy,
// ends the job with ReasonPanic. A job that River's JobRetry brings back
// after it ended runs one more attempt, judged with its counts so far.
func (w *Worker[A, T]) Work(ctx context.Context, job *river.Job[A]) error {
	begun := time.Now()
	at := begun // this attempt's start by the database's clock, when River says
	if job.AttemptedAt != nil {
		at = *job.AttemptedAt
	}
	rec := readRecord(job.Metadata)
	lost := max(job.Attempt-1-rec.attempts(), 0)
	first := rec.Start.IsZero() && lost == 0 // the job's first attempt, run for the first time
	if rec.Start.IsZero() {
		rec.Start = at
		if lost > 0 {
			// The first attempt was lost with its start time: count from
			// the job's creation, which can only end MaxTime sooner.
			rec.Start = job.CreatedAt
		}
	}
	maxTime, _, hasMaxTime := w.policy.MaxTime()
	rec.Deadline = time.Time{}
	if hasMaxTime {
		rec.Deadline = rec.Start.Add(maxTime)
	}
	st := w.steps.Job(uint64(job.ID), job.Kind)
	var zero T
	if lost > 0 {
		rec.Owed = false // a lost attempt ran the retry that the budget owed
	}
	for ; lost > 0; lost-- {
		rec.Tries++
		elapsed := at.Sub(rec.Start)
		j := st.Ended(backend.Attempt[T]{Tries: rec.Tries, Elapsed: elapsed, Prev: rec.Prev, Err: ErrAttemptLost})
		if !j.Retry {
			rec.Skipped++ // this attempt ends before its op runs
			return end(ctx, &rec, j, elapsed, zero, ErrAttemptLost)
		}
		rec.Prev, rec.Owed = j.Wait, j.Owed
		rec.Due = dueAt(rec.Start, elapsed, j.Wait)
		note(&rec, recBackoff, elapsed, j.Wait, backoff.ReasonNone, ErrAttemptLost, nil, zero)
		if lost > 1 {
			continue
		}
		// The lost attempt's end is unknown; River noticed it at the
		// rescue, so its wait runs from there.
		if left := time.Until(lastErrorAt(job.JobRow, at).Add(j.Wait)); left > 0 {
			if err := save(ctx, &rec); err != nil {
				return err
			}
			return river.JobSnooze(left) // not a try: River does not count it either
		}
	}
	if hasMaxTime && rec.Due.After(rec.Deadline) && !at.Before(rec.Deadline) {
		// The wait before this attempt was not the policy's and ended past
		// the deadline: no time is left for the op. The give-up keeps the
		// last attempt's error and value.
		return skip(ctx, st, &rec, backoff.ReasonMaxTime, at.Sub(rec.Start))
	}
	wait, giveUp := st.Begin(rec.Tries+1, first, at.Sub(rec.Start), max(at.Sub(job.ScheduledAt), 0), rec.Owed)
	switch {
	case giveUp:
		return skip(ctx, st, &rec, backoff.ReasonBudget, at.Sub(rec.Start))
	case wait > 0:
		// The budget has no room for the retry yet: wait for it in River,
		// not on this worker. Not a try, and River does not count it.
		rec.Due = dueAt(rec.Start, at.Sub(rec.Start), wait)
		if err := save(ctx, &rec); err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	rec.Owed = false

	called := time.Now()
	v, pe, err := call(ctx, w.op, job)
	took := time.Since(called)
	elapsed := at.Sub(rec.Start) + time.Since(begun)
	if pe == nil && err != nil {
		if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			// The client is stopping, or the job was cancelled remotely:
			// River knows by the context's cause. Not a try.
			st.Returned(rec.Tries+1, elapsed, took, err)
			if serr := save(ctx, &rec); serr != nil {
				return serr
			}
			return errors.Join(forRiver(err), context.Cause(ctx))
		}
		if snooze := (*river.JobSnoozeError)(nil); errors.As(err, &snooze) {
			// The op's own snooze: not a try, and not the policy's wait,
			// so it is not trimmed to the deadline; the next attempt
			// checks it.
			st.Returned(rec.Tries+1, elapsed, took, err)
			rec.Due = dueAt(rec.Start, elapsed, snooze.Duration)
			if serr := save(ctx, &rec); serr != nil {
				return serr
			}
			return err
		}
		if errors.As(err, new(*river.JobCancelError)) {
			err = backoff.Permanent(err)
		}
	}
	rec.Tries++
	a := backend.Attempt[T]{Tries: rec.Tries, Elapsed: elapsed, Took: took, Prev: rec.Prev, Value: v, Err: err,
		// River retries an error only while it has attempts left; a value
		// is retried by a snooze, which takes none.
		Final: err != nil && job.Attempt >= job.MaxAttempts}
	if pe != nil {
		a.Panic = pe
	}
	j := st.Ended(a)
	switch {
	case j.Retry && err == nil:
		// A value to retry: a snooze, which River does not count as an
		// attempt, so the job's own count keeps the waits growing.
		rec.Snoozed++
		rec.Prev, rec.Owed = j.Wait, j.Owed
		rec.Due = dueAt(rec.Start, elapsed, j.Wait)
		note(&rec, recBackoff, elapsed, j.Wait, backoff.ReasonNone, nil, nil, v)
		if serr := save(ctx, &rec); serr != nil {
			return serr
		}
		return river.JobSnooze(j.Wait)
	case j.Retry:
		rec.Prev, rec.Owed = j.Wait, j.Owed
		rec.Due = dueAt(rec.Start, elapsed, j.Wait)
		note(&rec, recBackoff, elapsed, j.Wait, backoff.ReasonNone, err, nil, v)
		if serr := save(ctx, &rec); serr != nil {
			return serr
		}
		w.waits.put(job, called.Add(took+j.Wait))
		return forRiver(err)
	case a.Final && backoff.Reason(j.Reason) == backoff.ReasonMaxTries && !w.policyMaxTries(rec.Tries):
		// River's MaxAttempts ran out before the policy's limits: River
		// discards the job when it gets the error.
		rec.Due = time.Time{}
		note(&rec, recGiveUp, elapsed, 0, backoff.ReasonMaxTries, err, nil, v)
		if serr := save(ctx, &rec); serr != nil {
			return serr
		}
		return forRiver(err)
	}
	return end(ctx, &rec, j, elapsed, v, err)
}

// policyMaxTries reports whether the policy's own MaxTries ends the job
// after tries.
func (w *Worker[A, T]) policyMaxTries(tries int) bool {
	n := w.policy.MaxTries()
	return n > 0 && tries >= n
}

// skip ends the job before its attempt's op runs, for reason, keeping the
// last attempt's error and value. River counted the attempt, so the
// record counts it as skipped.
func skip[T any](ctx context.Context, st backend.Job[T], rec *record, reason backoff.Reason, elapsed time.Duration) error {
	rec.Skipped++
	v, _ := decode[T](rec.Value)
	last := remoteError(rec.Err)
	j := backend.Judgment{Reason: uint8(reason), Err: st.End(uint8(reason), rec.Tries, elapsed, v, last, nil)}
	return end(ctx, rec, j, elapsed, v, last)
}

// end records the job's last event: success, or a give-up that cancels the
// job with the give-up's error.
func end[T any](ctx context.Context, rec *record, j backend.Judgment, elapsed time.Duration, v T, last error) error {
	rec.Due, rec.Owed = time.Time{}, false
	reason := backoff.Reason(j.Reason)
	if reason == backoff.ReasonNone {
		note(rec, recSuccess, elapsed, 0, reason, nil, nil, v)
		return save(ctx, rec)
	}
	note(rec, recGiveUp, elapsed, 0, reason, last, j.Cause, v)
	if serr := save(ctx, rec); serr != nil {
		return serr
	}
	return river.JobCancel(j.Err)
}

// NextRetry returns when River should retry the job after the error Work
// just returned: the end of that attempt plus the policy's wait (strategy,
// cap, jitter, MaxTime trim), as Work decided it, however long the
// handlers and the record's write took after the attempt. With MaxTime it
// is the job's deadline at the latest, give or take the moment between
// River's fetch and Work and any difference between this machine's clock
// and the database's. Called by River's stuck
// job rescuer, for an attempt that never returned, it returns the present:
// the job's next Work judges the lost attempt and waits as the policy says.
func (w *Worker[A, T]) NextRetry(job *river.Job[A]) time.Time {
	if due, ok := w.waits.take(job); ok {
		return due
	}
	return time.Now()
}

// call runs the op, turning a panic into a *backoff.PanicError.
func call[A river.JobArgs, T any](ctx context.Context, op func(context.Context, *river.Job[A]) (T, error), job *river.Job[A]) (v T, pe *backoff.PanicError, err error) {
	defer func() {
		if r := recover(); r != nil {
			pe = &backoff.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	v, err = op(ctx, job)
	return v, nil, err
}

// note makes rec's event the given one.
func note[T any](rec *record, kind string, elapsed, wait time.Duration, reason backoff.Reason, err, cause error, v T) {
	rec.Event, rec.Elapsed, rec.Wait = kind, elapsed, wait
	rec.Reason, rec.Err, rec.Cause = "", "", ""
	if reason != backoff.ReasonNone {
		rec.Reason = reasonText(reason)
	}
	// As fmt prints them: an Error method that panics (a typed nil, say)
	// does not take the worker down.
	if err != nil {
		rec.Err = fmt.Sprint(err)
	}
	if cause != nil {
		rec.Cause = fmt.Sprint(cause)
	}
	rec.Value = nil
	if b, merr := json.Marshal(v); merr == nil {
		rec.Value = b
	}
}

// dueAt returns when a wait that starts elapsed after start ends, on
// start's clock; a wait too long to add saturates.
func dueAt(start time.Time, elapsed, wait time.Duration) time.Time {
	if elapsed > 0 && wait > math.MaxInt64-elapsed {
		return start.Add(math.MaxInt64)
	}
	return start.Add(elapsed + wait)
}

// save has River write rec into the job's metadata with the attempt's
// outcome, in the same statement.
func save(ctx context.Context, rec *record) error {
	if err := river.MetadataSet(ctx, MetadataKey, rec); err != nil {
		return fmt.Errorf("riverbackoff: Work must run inside a River client: %w", err)
	}
	return nil
}
