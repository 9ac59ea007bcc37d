package riverbackoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/backoff-go/backoff"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// MaxAttempts is the MaxAttempts that [InsertOpts] gives a job whose
// policy has no MaxTries: River's largest (its column is a smallint), so
// that the policy, not River's default of 25, decides when the job gives
// up.
const MaxAttempts = math.MaxInt16

// InsertOpts returns a copy of opts (nil is the zero value) whose
// MaxAttempts, when unset, is the policy's MaxTries, or [MaxAttempts] when
// the policy has none (or is nil) or its MaxTries is larger. Use it, with
// the policy of the job kind's [Worker], for jobs inserted with
// client.Insert, InsertTx or InsertMany; [Insert] and [InsertTo] use it
// already.
//
// River counts the attempts that the worker counts as tries, a lost
// (rescued) attempt included, and not the snoozes by which the worker
// retries values, which are tries; so River's count never reaches
// MaxTries before the policy's does, and the two limits agree, except
// that River's stuck job rescuer discards a job whose last try was lost
// instead of leaving it to the worker (the give-up reason is still
// ReasonMaxTries, with ErrAttemptLost). A MaxAttempts you set is a second
// limit beside the policy's: when River's attempts run out first, River
// discards the job and the give-up reason is ReasonMaxTries.
func InsertOpts[T any](policy *backoff.Policy[T], opts *river.InsertOpts) *river.InsertOpts {
	var o river.InsertOpts
	if opts != nil {
		o = *opts
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = MaxAttempts
		if policy != nil {
			if n := policy.MaxTries(); n > 0 && n < MaxAttempts {
				o.MaxAttempts = n
			}
		}
	}
	return &o
}

// Insert inserts a job through the Watcher's client with
// [InsertOpts](policy, opts), and returns a [Handle] to follow it: the
// durable Submit. policy must be the policy of the job kind's [Worker]
// (the one given to AddWorker), or one with the same MaxTries; T is its
// value type. Insert makes one round trip to the database; errors are the
// client's, or a nil policy. With a closed Watcher, the job is inserted
// and its Handle's Result returns ErrClosed. With [Subscribe], the
// Handle's Events miss none of the job's backoff events.
func Insert[T any](ctx context.Context, w *Watcher, policy *backoff.Policy[T], args river.JobArgs, opts *river.InsertOpts, hopts ...HandleOption) (*Handle[T], error) {
	if policy == nil {
		return nil, errors.New("riverbackoff: Insert: policy is nil")
	}
	res, err := w.client.Insert(ctx, args, InsertOpts(policy, opts))
	if err != nil {
		return nil, err
	}
	return watch[T](w, res.Job.ID, true, hopts), nil
}

// HandleOption configures the Handle that Insert or Watch returns.
type HandleOption interface{ subscribe() bool }

type subscribeOption struct{}

func (subscribeOption) subscribe() bool { return true }

// Subscribe makes Insert or Watch create the Handle's events channel at
// once, so that a reader of Handle.Events misses none of the job's backoff
// events, however soon its attempts run. Without it, the backoff events
// that the Watcher reads before the first call of Events are not kept.
func Subscribe() HandleOption { return subscribeOption{} }

// InsertTo is Insert for fan-in, the durable SubmitTo: the job's terminal
// event, and nothing else, goes to results, which many jobs may share;
// Event.ID (the job's ID) tells them apart. It returns the job's ID. See
// [WatchTo] for delivery.
func InsertTo[T any](ctx context.Context, w *Watcher, policy *backoff.Policy[T], args river.JobArgs, opts *river.InsertOpts, results chan<- backoff.Event[T]) (int64, error) {
	if policy == nil {
		return 0, errors.New("riverbackoff: InsertTo: policy is nil")
	}
	if results == nil {
		return 0, errors.New("riverbackoff: InsertTo: results channel is nil")
	}
	res, err := w.client.Insert(ctx, args, InsertOpts(policy, opts))
	if err != nil {
		return 0, err
	}
	return res.Job.ID, watchTo(w, res.Job.ID, results, true)
}

// Watch follows a job already inserted, by this process or another (with
// InsertTx, say, once the transaction committed), and returns its Handle.
// T must be the value type of the job kind's Worker. A job whose row does
// not exist yet is waited for; one whose row is deleted before it ends
// gives up with ReasonCanceled and the cause [ErrJobDeleted]. With
// [Subscribe], its Events miss none of the backoff events the Watcher
// reads.
func Watch[T any](w *Watcher, jobID int64, hopts ...HandleOption) *Handle[T] {
	return watch[T](w, jobID, false, hopts)
}

// watch follows a job; seen says that its row is known to exist.
func watch[T any](w *Watcher, jobID int64, seen bool, hopts []HandleOption) *Handle[T] {
	h := &Handle[T]{id: jobID, w: w, done: make(chan struct{})}
	h.tr.seen = seen
	for _, o := range hopts {
		if o != nil && o.subscribe() {
			h.events = make(chan backoff.Event[T], eventBuffer)
		}
	}
	if !w.add(jobID, h) {
		h.closed()
	}
	w.poke()
	return h
}

// WatchTo follows a job already inserted and sends its terminal event to
// results. A terminal event that results cannot take at once waits, in
// order, with the others for the same channel, on one goroutine per
// channel that has a backlog, until the reader takes it or the Watcher
// closes. It fails only when results is nil or the Watcher is closed.
func WatchTo[T any](w *Watcher, jobID int64, results chan<- backoff.Event[T]) error {
	if results == nil {
		return errors.New("riverbackoff: WatchTo: results channel is nil")
	}
	return watchTo(w, jobID, results, false)
}

func watchTo[T any](w *Watcher, jobID int64, results chan<- backoff.Event[T], seen bool) error {
	f := &fanIn[T]{w: w, out: results}
	f.tr.seen = seen
	if !w.add(jobID, f) {
		return ErrClosed
	}
	w.poke()
	return nil
}

// eventBuffer is the capacity of a Handle's events channel, as in the
// in-process scheduler: one slot is kept for the terminal event.
const eventBuffer = 16

// Handle follows one durable job, like the in-process scheduler's Handle.
// Its methods are safe for concurrent use and never block, except Result,
// which waits for the end, and Cancel, which asks the database.
type Handle[T any] struct {
	id int64
	w  *Watcher
	tr tracker[T]

	mu     sync.Mutex
	final  *backoff.Event[T]
	err    error
	done   chan struct{}
	events chan backoff.Event[T]
}

// ID returns River's ID of the job (Event.ID holds it as a uint64).
func (h *Handle[T]) ID() int64 { return h.id }

// Events returns the job's channel of events: its backoff events, as the
// Watcher's reads of the job's row see them, and its terminal event, after
// which the channel is closed. Backoff events are kept from the first call
// of Events on, or from Insert or Watch with [Subscribe], and dropped if
// the channel is full; the terminal event is always delivered. The channel
// is also closed, without a terminal event, when the Watcher closes first.
func (h *Handle[T]) Events() <-chan backoff.Event[T] {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events == nil {
		h.events = make(chan backoff.Event[T], eventBuffer)
		if h.final != nil {
			h.events <- *h.final
		}
		if isClosed(h.done) {
			close(h.events)
		}
	}
	return h.events
}

// Result waits for the job to end and returns its last value and, on
// give-up, a *backoff.GiveUpError, whose Err holds the last attempt's
// error as text (errors.Is still finds ErrAttemptLost). The policy's
// ErrorOnGiveUp is not seen here. If ctx ends first, Result returns ctx's
// error; if the Watcher closes first, ErrClosed. The job carries on.
func (h *Handle[T]) Result(ctx context.Context) (T, error) {
	select {
	case <-h.done:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.final == nil {
		var zero T
		return zero, h.err
	}
	return h.final.Value, h.err
}

// Cancel cancels the job with River's JobCancel: a job waiting for its
// next attempt is cancelled at once, a running attempt's context is
// cancelled. Either way the job gives up with ReasonCanceled, unless it
// ended first. It makes one round trip to the database.
func (h *Handle[T]) Cancel(ctx context.Context) error {
	_, err := h.w.client.JobCancel(ctx, h.id)
	h.w.poke()
	return err
}

func (h *Handle[T]) observe(row *rivertype.JobRow) bool {
	progress, final, err := h.tr.next(row)
	h.mu.Lock()
	defer h.mu.Unlock()
	if progress != nil && h.events != nil && len(h.events) < cap(h.events)-1 {
		h.events <- *progress
	}
	if final == nil {
		return false
	}
	h.end(final, err)
	return true
}

func (h *Handle[T]) wasSeen() bool { return h.tr.seen }

func (h *Handle[T]) deleted(id int64) {
	ev := h.tr.deleted(id)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.end(&ev, ev.Err)
}

func (h *Handle[T]) closed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if isClosed(h.done) {
		return
	}
	h.err = ErrClosed
	if h.events != nil {
		close(h.events)
	}
	close(h.done)
}

// end records the terminal event; h.mu is held.
func (h *Handle[T]) end(ev *backoff.Event[T], err error) {
	h.final, h.err = ev, err
	if h.events != nil {
		h.events <- *ev
		close(h.events)
	}
	close(h.done)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// fanIn is a WatchTo: the terminal event goes to a shared channel.
type fanIn[T any] struct {
	w   *Watcher
	out chan<- backoff.Event[T]
	tr  tracker[T]
}

func (f *fanIn[T]) observe(row *rivertype.JobRow) bool {
	_, final, _ := f.tr.next(row)
	if final == nil {
		return false
	}
	send(f.w, f.out, *final)
	return true
}

func (f *fanIn[T]) wasSeen() bool { return f.tr.seen }

func (f *fanIn[T]) deleted(id int64) { send(f.w, f.out, f.tr.deleted(id)) }

func (f *fanIn[T]) closed() {}

// outbox is the backlog of one results channel.
type outbox[T any] struct {
	mu       sync.Mutex
	q        []backoff.Event[T]
	flushing bool
}

// send delivers ev to ch at once if it has room and nothing waits before
// it, and otherwise queues it for the channel's flusher. It is called with
// w.mu held, by the Watcher's goroutine.
func send[T any](w *Watcher, ch chan<- backoff.Event[T], ev backoff.Event[T]) {
	ob, _ := w.outs[ch].(*outbox[T])
	if ob == nil {
		ob = &outbox[T]{}
		w.outs[ch] = ob
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if len(ob.q) == 0 {
		select {
		case ch <- ev:
			return
		default:
		}
	}
	ob.q = append(ob.q, ev)
	if !ob.flushing {
		ob.flushing = true
		w.wg.Add(1) // the Watcher's goroutine holds a count: Close cannot be waiting at zero
		go ob.flush(w, ch)
	}
}

// flush sends the backlog in order, then exits; or exits when the Watcher
// closes.
func (ob *outbox[T]) flush(w *Watcher, ch chan<- backoff.Event[T]) {
	defer w.wg.Done()
	for {
		ob.mu.Lock()
		if len(ob.q) == 0 {
			ob.flushing = false
			ob.q = nil
			ob.mu.Unlock()
			return
		}
		ev := ob.q[0]
		ob.mu.Unlock()
		select {
		case ch <- ev:
		case <-w.stop:
			return
		}
		ob.mu.Lock()
		ob.q = ob.q[1:]
		ob.mu.Unlock()
	}
}

// tracker turns a job's rows, read one after another, into events, each
// reported once.
type tracker[T any] struct {
	seen      bool
	lastTries int
	rec       record
}

// next returns the backoff event row shows that was not reported yet, if
// any, and the terminal event with the error Result returns, if the job
// ended.
func (t *tracker[T]) next(row *rivertype.JobRow) (progress, final *backoff.Event[T], err error) {
	t.seen = true
	rec := readRecord(row.Metadata)
	t.rec = rec
	id := uint64(row.ID)
	if rec.Event == recBackoff && rec.Tries > t.lastTries {
		t.lastTries = rec.Tries
		v, _ := decode[T](rec.Value)
		progress = &backoff.Event[T]{Kind: backoff.EventBackoff, ID: id, Tries: rec.Tries,
			Elapsed: rec.Elapsed, Wait: rec.Wait, Value: v, Err: remoteError(rec.Err)}
	}
	switch row.State {
	case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
	default:
		return progress, nil, nil
	}
	// Attempts River counted that the record does not: a lost attempt the
	// job was discarded after, or one cancelled while it ran.
	tries := rec.Tries + max(row.Attempt-rec.attempts(), 0)
	elapsed := rec.Elapsed
	if tries != rec.Tries && row.FinalizedAt != nil {
		start := rec.Start
		if start.IsZero() {
			start = row.CreatedAt // the first attempt left no record: as the worker counts
		}
		elapsed = row.FinalizedAt.Sub(start)
	}
	v, derr := decode[T](rec.Value)
	ev := &backoff.Event[T]{ID: id, Tries: tries, Elapsed: elapsed, Value: v}
	if row.State == rivertype.JobStateCompleted {
		ev.Kind = backoff.EventSuccess
		if derr != nil {
			ev.Err = fmt.Errorf("riverbackoff: job %d succeeded, but its value does not decode as %T: %w", row.ID, v, derr)
		}
		return progress, ev, ev.Err
	}
	ge := &backoff.GiveUpError{Tries: tries, Elapsed: elapsed}
	switch {
	case rec.Event == recGiveUp:
		var rerr error
		ge.Reason, rerr = readReason(rec.Reason)
		ge.Err, ge.Cause = remoteError(rec.Err), remoteError(rec.Cause)
		if rerr != nil {
			ge.Cause = errors.Join(ge.Cause, rerr)
		}
	case row.State == rivertype.JobStateDiscarded:
		// River ran out of attempts on one that the worker never
		// recorded: a lost attempt, rescued on the job's last try.
		ge.Reason, ge.Err = backoff.ReasonMaxTries, ErrAttemptLost
		if n := len(row.Errors); n > 0 {
			ge.Err = fmt.Errorf("%w (River: %s)", ErrAttemptLost, row.Errors[n-1].Error)
		}
	default:
		// Cancelled from outside: JobCancel, or River's UI.
		ge.Reason, ge.Err = backoff.ReasonCanceled, remoteError(rec.Err)
	}
	ev.Kind, ev.Reason, ev.Err = backoff.EventGiveUp, ge.Reason, ge
	return progress, ev, ge
}

// deleted returns the terminal event of a job whose row went away.
func (t *tracker[T]) deleted(id int64) backoff.Event[T] {
	v, _ := decode[T](t.rec.Value)
	ge := &backoff.GiveUpError{Reason: backoff.ReasonCanceled, Err: remoteError(t.rec.Err), Cause: ErrJobDeleted,
		Tries: t.rec.Tries, Elapsed: t.rec.Elapsed}
	return backoff.Event[T]{Kind: backoff.EventGiveUp, ID: uint64(id), Tries: ge.Tries, Elapsed: ge.Elapsed,
		Value: v, Err: ge, Reason: ge.Reason}
}

func decode[T any](raw json.RawMessage) (T, error) {
	var v T
	if len(raw) == 0 {
		return v, nil
	}
	err := json.Unmarshal(raw, &v)
	return v, err
}
