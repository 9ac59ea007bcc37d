package sched

import (
	"context"
	"sync"
)

// inbox is how any goroutine reaches the owner without waiting for it:
// submissions, wake-ups (Cancel, Trigger), rate changes, context ends,
// stop requests and Sync's are appended under a short lock, and the owner
// is kicked once per batch.
// Nothing here ever blocks, so a Cancel or a context's AfterFunc callback
// returns at once however busy the owner is.
type inbox struct {
	kick chan struct{} // capacity 1: the owner has something to read

	mu     sync.Mutex
	subs   []submission
	wakes  []Job
	rates  []rateChange
	ended  []*ctxGroup
	synced []chan struct{} // Sync's: closed when the owner has drained once more
	closed bool            // no more submissions: Shutdown or Close began
	cancel bool            // Close: end the rest now
	kicked bool            // a kick is pending that the owner has not drained yet
	room   chan struct{}   // closed when the owner takes the submissions in
}

// inboxRoom is how many submissions may wait for the owner to take them
// in: past it, Submit waits for the owner, so that a burst of submissions
// cannot outrun it by more than that (32 bytes each).
const inboxRoom = 8192

// submission is a job on its way to the owner, with the context it was
// submitted under; the record keeps only the context's group.
type submission struct {
	j   Job
	ctx context.Context
}

// rateChange is SetRate's request.
type rateChange struct {
	name string
	rate Rate
}

// mail is what the owner takes from the inbox in one go.
type mail struct {
	subs   []submission
	wakes  []Job
	rates  []rateChange
	ended  []*ctxGroup
	synced []chan struct{}
	closed bool
	cancel bool
}

// notify kicks the owner unless a kick is pending; in.mu is held.
func (in *inbox) notify() {
	if !in.kicked {
		in.kicked = true
		wakeUp(in.kick)
	}
}

// wakeUp sends on a channel of capacity 1 without blocking.
func wakeUp(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// answerSyncs releases the Sync calls of the batch.
func (m *mail) answerSyncs() {
	for _, c := range m.synced {
		close(c)
	}
}

// clear drops the references a spent batch holds.
func (m *mail) clear() {
	m.subs, m.wakes, m.rates, m.ended = spent(m.subs), spent(m.wakes), spent(m.rates), spent(m.ended)
	m.synced = spent(m.synced)
}

// spent empties a list whose items have been handled, for reuse. A list
// longer than 4096 items that was used to less than a quarter of its
// capacity is halved, so that a burst's long list is given back over a
// few batches of quiet.
func spent[S ~[]E, E any](s S) S {
	if c := cap(s); c > 4096 && len(s) < c/4 {
		return make(S, 0, c/2)
	}
	clear(s)
	return s[:0]
}

// submit hands j to the owner and reports true, or reports false when the
// scheduler no longer takes jobs, or returns a channel to wait on when the
// inbox is full.
func (in *inbox) submit(ctx context.Context, j Job) (ok bool, full <-chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.closed:
		return false, nil
	case len(in.subs) >= inboxRoom:
		if in.room == nil {
			in.room = make(chan struct{})
		}
		return false, in.room
	}
	in.subs = append(in.subs, submission{j, ctx})
	in.notify()
	return true, nil
}

// makeRoom wakes the submitters waiting for room; in.mu is held.
func (in *inbox) makeRoom() {
	if in.room != nil {
		close(in.room)
		in.room = nil
	}
}

func (in *inbox) wake(j Job) {
	in.mu.Lock()
	in.wakes = append(in.wakes, j)
	in.notify()
	in.mu.Unlock()
}

// setRate hands a rate change to the owner, or reports false once stop
// was called.
func (in *inbox) setRate(c rateChange) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return false
	}
	in.rates = append(in.rates, c)
	in.notify()
	return true
}

func (in *inbox) sync(c chan struct{}) {
	in.mu.Lock()
	in.synced = append(in.synced, c)
	in.notify()
	in.mu.Unlock()
}

func (in *inbox) contextEnded(g *ctxGroup) {
	in.mu.Lock()
	in.ended = append(in.ended, g)
	in.notify()
	in.mu.Unlock()
}

func (in *inbox) stop(cancel bool) {
	in.mu.Lock()
	in.closed = true
	in.cancel = in.cancel || cancel
	in.makeRoom()
	in.notify()
	in.mu.Unlock()
}

// take swaps the inbox's lists with the owner's spent ones in m, so that
// neither side allocates in the steady state.
func (in *inbox) take(m *mail) {
	in.mu.Lock()
	m.subs, in.subs = in.subs, m.subs[:0]
	m.wakes, in.wakes = in.wakes, m.wakes[:0]
	m.rates, in.rates = in.rates, m.rates[:0]
	m.ended, in.ended = in.ended, m.ended[:0]
	m.synced, in.synced = in.synced, m.synced[:0]
	m.closed, m.cancel = in.closed, in.cancel
	in.kicked = false
	in.makeRoom()
	in.mu.Unlock()
}
