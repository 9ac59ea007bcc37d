package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	retry "github.com/avast/retry-go/v4"
	"github.com/backoff-go/backoff"
	cenk "github.com/cenkalti/backoff/v5"
)

// The modes, in table order. The first five are the peers.
var allModes = []string{"cenkalti", "retrygo", "timer", "sleep", "afterfunc",
	"before-handle", "ours-handle", "ours-handle-key", "ours-handle-sub",
	"before-fanin", "ours-fanin", "ours-fanin-key", "harness"}

// ioModes are the modes of the io scenario, where N is the worker count.
var ioModes = []string{"pool", "sem", "unbounded", "ours-fanin"}

// applies reports whether a mode runs in a scenario: the harness alone only
// where memory is measured; the keyed and subscribed paths where the
// submission path matters (not at light load); io has its own modes.
func applies(mode, scenario string) bool {
	switch {
	case scenario == "io":
		return slices.Contains(ioModes, mode)
	case mode == "harness":
		return scenario == "hold"
	case mode == "ours-handle-key", mode == "ours-handle-sub", mode == "ours-fanin-key":
		return scenario != "steady"
	}
	return slices.Contains(allModes, mode)
}

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
	release int64        // the instant of a timer release, ns since epoch; 0 for none
	slots   int          // lateness samples per job: K, and one more with a timer release
	samples []int64      // slots per job (off-heap), nil when lateness is not recorded
	first   atomic.Int64 // first attempts made
}

func (h *harness) now() int64 { return int64(time.Since(h.epoch)) }

// attempt is the op body of every mode: it records the lateness of every
// retry (and of the first attempt, after a timer release), and fails K
// times before it succeeds.
func (h *harness) attempt(st *jobState) error {
	now := h.now()
	st.tries++
	switch {
	case h.samples == nil:
	case st.tries > 1:
		h.samples[int(st.idx)*h.slots+h.slots-h.k+int(st.tries)-2] = max(now-(st.last+int64(h.wait)), 0)
	case h.release != 0:
		h.samples[int(st.idx)*h.slots] = max(now-h.release, 0)
	}
	if st.tries == 1 {
		h.first.Add(1)
	}
	if int(st.tries) > h.k {
		return nil
	}
	st.last = h.now()
	return errFail
}

// op is the op ours submits for job st, and what the harness mode keeps
// of it: with gate, its first attempt waits on the gate.
func (h *harness) op(st *jobState, gate <-chan struct{}) func(context.Context) (struct{}, error) {
	return func(context.Context) (struct{}, error) {
		if gate != nil && st.tries == 0 {
			<-gate
		}
		return struct{}{}, h.attempt(st)
	}
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

func (m *goMode) launch(st *jobState, gate <-chan struct{}, at time.Time) {
	h, ctx, done := m.h, m.ctx, m.done
	wait := func() { // the release: a gate, or an instant
		switch {
		case gate != nil:
			m.parked.Add(1)
			<-gate
		case !at.IsZero():
			m.parked.Add(1)
			time.Sleep(time.Until(at))
		}
	}
	switch m.kind {
	case "cenkalti":
		go func() {
			wait()
			_, err := cenk.Retry(ctx, func() (struct{}, error) { return struct{}{}, h.attempt(st) },
				cenk.WithBackOff(cenk.NewConstantBackOff(h.wait)), cenk.WithMaxTries(uint(h.k+1)))
			done(err)
		}()
	case "retrygo":
		go func() {
			wait()
			err := retry.Do(func() error { return h.attempt(st) },
				retry.Attempts(uint(h.k+1)), retry.Delay(h.wait), retry.DelayType(retry.FixedDelay),
				retry.LastErrorOnly(true), retry.Context(ctx))
			done(err)
		}()
	case "timer":
		go func() {
			wait()
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
			wait()
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

// oursMode submits to a backoff.Scheduler, on one path: fan-in or a
// Handle, with a key of 8 bytes or not, subscribed or not.
type oursMode struct {
	h          *harness
	ctx        context.Context
	s          *backoff.Scheduler
	pol        *backoff.Policy[struct{}]
	fanin, key bool
	subscribe  bool
	results    chan backoff.Event[struct{}]
	handles    []*backoff.Handle[struct{}]
	opts       []backoff.Option // the submitter's; its last slots change per job
	errs       atomic.Int64
}

// oursModeOf reads a mode's name: ours-{fanin,handle}[-key|-sub].
func oursModeOf(mode string) (fanin, key, subscribe, ok bool) {
	base, variant, _ := strings.Cut(strings.TrimPrefix(mode, "ours-"), "-")
	if !strings.HasPrefix(mode, "ours-") || (base != "fanin" && base != "handle") {
		return false, false, false, false
	}
	return base == "fanin", variant == "key", variant == "sub", true
}

// launch submits job st. With at, its first attempt is due then
// (StartAt); with gate, its op waits on the gate first.
func (m *oursMode) launch(st *jobState, gate <-chan struct{}, at time.Time) {
	op := m.h.op(st, gate)
	opts := append(m.opts[:0], m.pol)
	if m.key {
		opts = append(opts, backoff.Key(hexKey(st.idx)))
	}
	if m.subscribe {
		opts = append(opts, subscribe())
	}
	if !at.IsZero() {
		opts = append(opts, startAt(at))
	}
	m.opts = opts
	if m.fanin {
		if _, err := backoff.SubmitTo(m.ctx, m.s, op, m.results, opts...); err != nil {
			m.errs.Add(1)
		}
		return
	}
	hd, err := backoff.Submit(m.ctx, m.s, op, opts...)
	if err != nil {
		m.errs.Add(1)
		return
	}
	m.handles[st.idx] = hd
}

// hexKey is a job's key: its index in 8 hex digits, one allocation.
func hexKey(i uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for k := 7; k >= 0; k-- {
		b[k] = digits[i&0xf]
		i >>= 4
	}
	return string(b[:])
}

// harnessMode makes what every mode's job has of the harness, the state
// and the op closure, and keeps it, submitting nothing: its live bytes
// per job are the harness's share of every mode's.
type harnessMode struct {
	h   *harness
	ops []func(context.Context) (struct{}, error)
}

func (m *harnessMode) launch(st *jobState, gate <-chan struct{}, _ time.Time) {
	m.ops[st.idx] = m.h.op(st, gate)
	st.tries = 1 // as if its first attempt ran
	m.h.first.Add(1)
}
