package riverbackoff

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// ErrClosed is returned by Handle.Result when the Watcher was closed before
// the job ended. The job carries on in the database.
var ErrClosed = errors.New("riverbackoff: watcher closed")

// Client is what a [Watcher] needs of a River client: *river.Client[TTx]
// has it, whatever its driver. A client that works no queues (an
// insert-only client) will do.
type Client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// WatcherConfig configures a [Watcher]. The zero value is usable.
type WatcherConfig struct {
	// PollInterval is the time between two reads of the watched jobs' rows:
	// one query for all of them (10,000 per query at most). Default 200ms.
	PollInterval time.Duration
	// Logger receives failed polls, at Warn. Default slog.Default().
	Logger *slog.Logger
}

// Watcher follows jobs in River's job table and delivers their events as
// [backoff.Event] values, to a [Handle] per job or to shared results
// channels, like the in-process scheduler's Submit and SubmitTo.
//
// Events come from the job rows, where the [Worker] records each attempt,
// so a job is followed wherever it runs: in this process, in another, or
// on a client that died and whose job River rescued. A Watcher reads the
// rows of all its jobs with one query every PollInterval, and only while it
// follows some. When its client also works jobs, it subscribes to the
// client's job events as well, and reads the row that each carries at
// once; they only hasten delivery, since River reports only the jobs that
// client worked and drops events when the subscriber falls behind.
//
// Backoff events are reported as the polls see them: when several
// attempts end between two polls, only the latest is reported, and its
// Tries says how many there were. Terminal events are never missed.
//
// Its methods are safe for concurrent use.
type Watcher struct {
	client   Client
	interval time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	jobs    map[int64][]follower
	outs    map[any]any // results channel -> *outbox[T]
	closing bool

	kick   chan struct{}
	stop   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	unsub  func()
}

// follower is a watch on one job: a Handle or a results channel.
type follower interface {
	// observe reports the events that row shows and returns whether the
	// job ended.
	observe(row *rivertype.JobRow) bool
	// wasSeen reports whether observe was called.
	wasSeen() bool
	// deleted ends the watch of a job whose row went away.
	deleted(id int64)
	// closed ends the watch when the Watcher closes.
	closed()
}

// NewWatcher starts a Watcher that reads jobs through client. Close it to
// stop its goroutine.
func NewWatcher(client Client, cfg *WatcherConfig) (*Watcher, error) {
	if client == nil {
		return nil, errors.New("riverbackoff: NewWatcher: client is nil")
	}
	var c WatcherConfig
	if cfg != nil {
		c = *cfg
	}
	if c.PollInterval < 0 {
		return nil, errors.New("riverbackoff: NewWatcher: PollInterval must not be negative")
	}
	if c.PollInterval == 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{
		client:   client,
		interval: c.PollInterval,
		log:      c.Logger,
		jobs:     make(map[int64][]follower),
		outs:     make(map[any]any),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		cancel:   cancel,
	}
	var sub <-chan *river.Event
	sub, w.unsub = subscribe(client)
	w.wg.Add(1)
	go w.loop(ctx, sub)
	return w, nil
}

// subscribe subscribes to client's job events, when it has them. River
// panics when asked for a subscription by a client that works no queues;
// such a client gets none, and its Watcher polls.
func subscribe(client Client) (ch <-chan *river.Event, unsub func()) {
	s, ok := client.(interface {
		Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	})
	if !ok {
		return nil, func() {}
	}
	defer func() {
		if recover() != nil {
			ch, unsub = nil, func() {}
		}
	}()
	return s.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled,
		river.EventKindJobFailed, river.EventKindJobSnoozed)
}

// Close stops the Watcher and returns once its goroutines have exited.
// Handles of jobs that had not ended get ErrClosed from Result, and their
// Events channels are closed; terminal events still waiting for room in a
// results channel are discarded. The jobs carry on in the database.
func (w *Watcher) Close() {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.closing = true
	jobs := w.jobs
	w.jobs = nil
	w.mu.Unlock()
	w.unsub()
	close(w.stop)
	w.cancel()
	w.wg.Wait()
	for _, fs := range jobs {
		for _, f := range fs {
			f.closed()
		}
	}
}

// add follows job id with f, and reports false when the Watcher is closed.
func (w *Watcher) add(id int64, f follower) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return false
	}
	w.jobs[id] = append(w.jobs[id], f)
	return true
}

// poke asks for a poll now.
func (w *Watcher) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Watcher) loop(ctx context.Context, sub <-chan *river.Event) {
	defer w.wg.Done()
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.poll(ctx)
		case <-w.kick:
			w.poll(ctx)
		case ev, ok := <-sub:
			if !ok {
				sub = nil
				continue
			}
			if ev.Job != nil {
				w.deliver([]*rivertype.JobRow{ev.Job}, nil)
			}
		}
	}
}

// pollChunk is the most IDs one query asks for (River's limit).
const pollChunk = 10_000

// poll reads the rows of every followed job.
func (w *Watcher) poll(ctx context.Context) {
	w.mu.Lock()
	ids := make([]int64, 0, len(w.jobs))
	for id := range w.jobs {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, pollChunk) {
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := w.client.JobList(qctx, river.NewJobListParams().IDs(chunk...).First(len(chunk)))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("riverbackoff: reading watched jobs failed", slog.Any("error", err))
			}
			return
		}
		w.deliver(res.Jobs, chunk)
	}
}

// deliver hands rows to their followers. asked, when not nil, holds the
// IDs the rows were read for: a followed job among them that has no row
// was deleted, once its row had been seen (before, it may be in a
// transaction not yet committed).
func (w *Watcher) deliver(rows []*rivertype.JobRow, asked []int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, row := range rows {
		fs := w.jobs[row.ID]
		if len(fs) == 0 {
			continue
		}
		live := fs[:0]
		for _, f := range fs {
			if !f.observe(row) {
				live = append(live, f)
			}
		}
		w.setFollowers(row.ID, live)
	}
	if asked == nil {
		return
	}
	found := make(map[int64]bool, len(rows))
	for _, row := range rows {
		found[row.ID] = true
	}
	for _, id := range asked {
		if found[id] {
			continue
		}
		fs := w.jobs[id]
		live := fs[:0]
		for _, f := range fs {
			if f.wasSeen() {
				f.deleted(id)
			} else {
				live = append(live, f)
			}
		}
		w.setFollowers(id, live)
	}
}

func (w *Watcher) setFollowers(id int64, fs []follower) {
	if w.jobs == nil {
		return
	}
	if len(fs) == 0 {
		delete(w.jobs, id)
		return
	}
	w.jobs[id] = fs
}
