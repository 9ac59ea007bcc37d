package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	retry "github.com/avast/retry-go/v4"
	"github.com/backoff-go/backoff"
	cenk "github.com/cenkalti/backoff/v5"
)

// The modes, in table order.
var allModes = []string{"cenkalti", "retrygo", "timer", "sleep", "afterfunc", "before-handle", "ours-handle", "before-fanin", "ours-fanin"}

var errFail = errors.New("transient failure")

// jobState is the 16 bytes of per-job state every mode's op closes over.
type jobState struct {
	last  int64  // end of the previous attempt, ns since epoch
	idx   uint32 // job index, for the lateness slot
	tries uint32
}

// harness is what one child process shares between its jobs.
type harness struct {
	k       int
	wait    time.Duration
	epoch   time.Time
	samples []int64      // K slots per job (off-heap), nil when lateness is not recorded
	first   atomic.Int64 // first attempts made
}

func (h *harness) now() int64 { return int64(time.Since(h.epoch)) }

// attempt is the op body of every mode: it records the lateness of every
// retry, and fails K times before it succeeds.
func (h *harness) attempt(st *jobState) error {
	now := h.now()
	st.tries++
	if st.tries == 1 {
		h.first.Add(1)
	} else if h.samples != nil {
		lat := now - (st.last + int64(h.wait))
		if lat < 0 {
			lat = 0
		}
		h.samples[int(st.idx)*h.k+int(st.tries)-2] = lat
	}
	if int(st.tries) > h.k {
		return nil
	}
	st.last = h.now()
	return errFail
}

// launcher starts job i: the mode's retry loop around h.attempt. gate, if
// not nil, holds goroutine modes before their first attempt; at, if not
// zero, is when the afterfunc mode makes its first attempt. done is called
// once the job ended.
type launcher interface {
	launch(st *jobState, gate <-chan struct{}, at time.Time)
}

type goMode struct {
	h      *harness
	ctx    context.Context
	kind   string
	parked *atomic.Int64
	done   func(error)
}

func (m *goMode) launch(st *jobState, gate <-chan struct{}, _ time.Time) {
	h, ctx, done := m.h, m.ctx, m.done
	switch m.kind {
	case "cenkalti":
		go func() {
			if gate != nil {
				m.parked.Add(1)
				<-gate
			}
			_, err := cenk.Retry(ctx, func() (struct{}, error) { return struct{}{}, h.attempt(st) },
				cenk.WithBackOff(cenk.NewConstantBackOff(h.wait)), cenk.WithMaxTries(uint(h.k+1)))
			done(err)
		}()
	case "retrygo":
		go func() {
			if gate != nil {
				m.parked.Add(1)
				<-gate
			}
			err := retry.Do(func() error { return h.attempt(st) },
				retry.Attempts(uint(h.k+1)), retry.Delay(h.wait), retry.DelayType(retry.FixedDelay),
				retry.LastErrorOnly(true), retry.Context(ctx))
			done(err)
		}()
	case "timer":
		go func() {
			if gate != nil {
				m.parked.Add(1)
				<-gate
			}
			var t *time.Timer
			for {
				err := h.attempt(st)
				if err == nil {
					break
				}
				if t == nil {
					t = time.NewTimer(h.wait)
				} else {
					t.Reset(h.wait)
				}
				select {
				case <-t.C:
				case <-ctx.Done():
					done(ctx.Err())
					return
				}
			}
			done(nil)
		}()
	case "sleep":
		go func() {
			if gate != nil {
				m.parked.Add(1)
				<-gate
			}
			for h.attempt(st) != nil {
				time.Sleep(h.wait)
			}
			done(nil)
		}()
	}
}

// afterMode is the time.AfterFunc chain: no goroutine between attempts;
// each failed attempt arms a new AfterFunc for the next one.
type afterMode struct {
	h    *harness
	ctx  context.Context
	done func(error)
}

func (m *afterMode) launch(st *jobState, _ <-chan struct{}, at time.Time) {
	h, ctx, done := m.h, m.ctx, m.done
	var step func()
	step = func() {
		if h.attempt(st) == nil {
			done(nil)
			return
		}
		if ctx.Err() != nil {
			done(ctx.Err())
			return
		}
		time.AfterFunc(h.wait, step)
	}
	if at.IsZero() {
		step() // first attempt inline, on the submitting goroutine
		return
	}
	time.AfterFunc(time.Until(at), step)
}

// oursMode submits to a backoff.Scheduler.
type oursMode struct {
	h       *harness
	ctx     context.Context
	s       *backoff.Scheduler
	pol     *backoff.Policy[struct{}]
	fanin   bool
	results chan backoff.Event[struct{}]
	handles []*backoff.Handle[struct{}]
	errs    atomic.Int64
}

func (m *oursMode) launch(st *jobState, gate <-chan struct{}, _ time.Time) {
	h := m.h
	op := func(context.Context) (struct{}, error) {
		if gate != nil && st.tries == 0 {
			<-gate
		}
		return struct{}{}, h.attempt(st)
	}
	if m.fanin {
		if _, err := backoff.SubmitTo(m.ctx, m.s, op, m.results, m.pol); err != nil {
			m.errs.Add(1)
		}
		return
	}
	hd, err := backoff.Submit(m.ctx, m.s, op, m.pol)
	if err != nil {
		m.errs.Add(1)
		return
	}
	m.handles[st.idx] = hd
}
