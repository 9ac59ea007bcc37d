package backoff

import (
	"sync"
	"sync/atomic"

	"github.com/backoff-go/backoff/internal/fifo"
)

// A results channel given to SubmitTo is shared by many jobs and may not
// be read for a while. The owner goroutine sends every terminal event, as
// it takes the ended job back, so the backlogs' lock is shared by the
// owner and the flushers alone, never by the workers. A terminal event
// that does not fit is never dropped and never blocks the owner: it waits
// in the channel's backlog, and one flusher goroutine per backlogged
// channel (not per job) sends the backlog in order as the reader takes
// it. While a channel has a backlog, new terminal events queue behind it.
//
// Shutdown waits for backlogs to drain until its context ends. Close, and
// Shutdown once its context has ended, discard what is still undelivered;
// Stats counts it (Undelivered while waiting, Discarded after). Once
// Close or Shutdown has returned, the outbox is sealed: nothing is sent on
// a results channel again, and the terminal events of jobs that end
// later are discarded and counted, so that their owner may close the
// channels.

// outbox keeps the backlogs of a scheduler's results channels.
type outbox struct {
	stats *counters

	// seal is held for reading while an event is sent without blocking,
	// and for writing to seal the outbox.
	seal   sync.RWMutex
	sealed bool

	mu       sync.Mutex
	backlogs map[any]any // results channel → its *backlog[T]
	n        atomic.Int32
	flushers sync.WaitGroup

	discard     chan struct{} // closed when backlogs are dropped
	discardOnce sync.Once
}

type backlog[T any] struct {
	ch chan<- Event[T]
	q  fifo.Queue[Event[T]]
}

func (o *outbox) init(stats *counters) {
	o.stats = stats
	o.backlogs = make(map[any]any)
	o.discard = make(chan struct{})
}

// deliver sends a terminal event to a results channel without blocking.
// Called by the owner (job.retire).
func deliver[T any](o *outbox, ch chan<- Event[T], ev Event[T]) {
	o.seal.RLock()
	defer o.seal.RUnlock()
	if o.sealed {
		o.stats.discarded.Add(1)
		return
	}
	if o.n.Load() == 0 {
		select {
		case ch <- ev:
			return
		default:
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.backlogs[ch].(*backlog[T]); ok {
		b.q.Push(ev)
		o.stats.undelivered.Add(1)
		return
	}
	select {
	case ch <- ev:
		return
	default:
	}
	select {
	case <-o.discard: // Close: no new backlog
		o.stats.discarded.Add(1)
		return
	default:
	}
	b := &backlog[T]{ch: ch}
	b.q.Push(ev)
	o.backlogs[ch] = b
	o.n.Add(1)
	o.stats.undelivered.Add(1)
	o.flushers.Go(func() { b.flush(o) })
}

// flush sends the backlog until it is empty or the outbox discards it.
// It takes the backlog's front a batch at a time and sends the batch with
// the lock released: while a reader lags, the owner takes the lock to
// queue each job's event, and a flusher taking it twice per event (or
// holding it while it sends) would make the owner wait for it.
func (b *backlog[T]) flush(o *outbox) {
	var batch []Event[T]
	for {
		o.mu.Lock()
		if b.q.Len() == 0 {
			delete(o.backlogs, b.ch)
			o.n.Add(-1)
			o.mu.Unlock()
			return
		}
		if batch == nil {
			batch = make([]Event[T], 0, flushBatch)
		}
		for b.q.Len() > 0 && len(batch) < flushBatch {
			batch = append(batch, b.q.Pop())
		}
		o.mu.Unlock()
		for i, ev := range batch {
			select {
			case b.ch <- ev:
				o.stats.undelivered.Add(-1)
			case <-o.discard:
				o.mu.Lock()
				n := int64(len(batch)-i) + int64(b.q.Len())
				b.q.Clear()
				delete(o.backlogs, b.ch)
				o.n.Add(-1)
				o.stats.undelivered.Add(-n)
				o.stats.discarded.Add(uint64(n))
				o.mu.Unlock()
				return
			}
		}
		clear(batch)
		batch = batch[:0]
	}
}

// flushBatch is the most events a flusher takes from its backlog at once.
const flushBatch = 64

// dropBacklogs discards what waits in backlogs, now and from now on.
func (o *outbox) dropBacklogs() { o.discardOnce.Do(func() { close(o.discard) }) }

// drained returns a channel closed once every backlog is sent or
// dropped. Call it only when no job can end any more.
func (o *outbox) drained() <-chan struct{} {
	c := make(chan struct{})
	go func() {
		o.flushers.Wait()
		close(c)
	}()
	return c
}

// close seals the outbox: it returns when nothing will ever be sent on a
// results channel again.
func (o *outbox) close() {
	o.seal.Lock()
	o.sealed = true
	o.seal.Unlock()
	o.dropBacklogs()
	o.flushers.Wait()
}
