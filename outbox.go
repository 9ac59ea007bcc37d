package backoff

// A results channel given to SubmitTo is shared by many jobs and may not be
// read for a while. A terminal event that does not fit is never dropped
// and never blocks a worker: it waits in the channel's backlog, and one
// flusher goroutine per backlogged channel (not per job) sends the backlog
// in order as the reader takes it. While a channel has a backlog, new
// terminal events queue behind it.
//
// Shutdown waits for backlogs to drain until its context ends. Close, and
// Shutdown once its context has ended, discard what is still undelivered;
// Stats counts it (Undelivered while waiting, Discarded after).

type backlog[T any] struct {
	ch   chan<- Event[T]
	q    []Event[T]
	head int // q[:head] is sent; the slice is reused, not re-sliced, so appends rarely reallocate
}

// deliver sends a terminal event to a results channel without blocking.
func deliver[T any](s *Scheduler, ch chan<- Event[T], ev Event[T]) {
	if s.backlogs.Load() == 0 {
		select {
		case ch <- ev:
			return
		default:
		}
	}
	s.boxMu.Lock()
	defer s.boxMu.Unlock()
	if b, ok := s.outbox[ch].(*backlog[T]); ok {
		b.q = append(b.q, ev)
		s.stats.undelivered.Add(1)
		return
	}
	select {
	case ch <- ev:
		return
	default:
	}
	b := &backlog[T]{ch: ch, q: []Event[T]{ev}}
	s.outbox[ch] = b
	s.backlogs.Add(1)
	s.stats.undelivered.Add(1)
	s.flushers.Go(func() { b.flush(s) })
}

// flush sends the backlog until it is empty or the scheduler discards it.
func (b *backlog[T]) flush(s *Scheduler) {
	for {
		s.boxMu.Lock()
		if b.head == len(b.q) {
			delete(s.outbox, b.ch)
			s.backlogs.Add(-1)
			s.boxMu.Unlock()
			return
		}
		ev := b.q[b.head]
		s.boxMu.Unlock()
		select {
		case b.ch <- ev:
			s.boxMu.Lock()
			b.q[b.head] = Event[T]{}
			b.head++
			if b.head == len(b.q) || b.head > cap(b.q)/2 {
				b.q = b.q[:copy(b.q, b.q[b.head:])]
				clear(b.q[len(b.q) : b.head+len(b.q)])
				b.head = 0
			}
			s.stats.undelivered.Add(-1)
			s.boxMu.Unlock()
		case <-s.discard:
			s.boxMu.Lock()
			n := int64(len(b.q) - b.head)
			b.q, b.head = nil, 0
			delete(s.outbox, b.ch)
			s.backlogs.Add(-1)
			s.stats.undelivered.Add(-n)
			s.stats.discarded.Add(uint64(n))
			s.boxMu.Unlock()
			return
		}
	}
}
