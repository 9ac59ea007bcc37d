// Package sched is the core of backoff's Scheduler: one owner goroutine
// that keeps every waiting job in a timer structure, and a pool of workers
// that run due attempts. It knows nothing of values, policies or events:
// package backoff's job records embed a Base and implement Job, and the
// pool runs them through a function that package backoff gives.
//
// A job is with exactly one of these at a time, which hand it on through
// the structures named in parentheses:
//
//	Submit ──(inbox)──▶ owner ──(ready queue)──▶ worker ──(hand-back list)──▶ owner
//
// The owner's state (timer structure, context groups, concurrency lanes,
// held jobs) lives in the owner value that only its goroutine can reach.
// The inbox and the pool's queues are guarded by locks of their own, and
// are all that other goroutines touch.
package sched

import "context"

// Job is a job record as the core sees it. Implementations embed Base.
type Job interface {
	base() *Base
	// Canceled reports whether the job was stopped on its own (a Cancel),
	// as opposed to its context's end, which the core sees itself.
	Canceled() bool
	// TakeTrigger reports whether a Trigger came for the job since the
	// last call, and forgets it.
	TakeTrigger() bool
	// Group is the job's concurrency group, or "".
	Group() string
	// Deadline is the instant, on the core's clock, after which the job
	// may not start another attempt (its MaxTime), or math.MaxInt64. The
	// owner reads it when a held job's turn comes in a rated group.
	Deadline() int64
	// Context is Base's: the context the job was submitted under.
	Context() context.Context
}

// Where a job is, as the owner sees it.
const (
	stateNew     uint8 = iota // submitted, not yet taken in by the owner
	stateWaiting              // in its context group's heap
	stateReady                // due: in the ready queue or with a worker
	stateHeld                 // due, held back by its concurrency group's limit or rate
)

// Base.gate bits: what the owner gave a due job on its way to a worker.
const (
	gateSlot    uint8 = 1 << iota // one of its group's attempts in flight
	gateToken                     // a token of its group's rate
	gateExpired                   // its turn came past its Deadline: it is to end
)

// Base is the part of a job record that the core reads and writes. Its
// owner-only fields are unexported; the exported ones belong to the job's
// runner, which keeps them here so that the record stays small (a job
// record is the per-job cost of the whole scheduler).
//
// A job belongs to one goroutine at a time: the submitter until the inbox
// takes it, then the owner, then a worker while an attempt runs, then the
// owner again. The inbox, the ready queue and the hand-back list order the
// hand-offs, so no field needs a lock.
type Base struct {
	g     *ctxGroup // set by the owner when it takes the job in
	at    int64     // when the next attempt is due, in ns on the core's clock
	state uint8
	gate  uint8 // gateSlot, gateToken, gateExpired; cleared when it comes back

	// Ended is set by the worker that ended the job.
	Ended bool
	// Flags and Tries are the runner's.
	Flags uint8
	Tries int32
}

func (b *Base) base() *Base { return b }

// Due returns when the next attempt is due, in ns on the core's clock.
func (b *Base) Due() int64 { return b.at }

// SetDue sets when the next attempt is due. Only the job's current
// holder may call it: the submitter, for the first attempt, or the
// worker that ran the last one.
func (b *Base) SetDue(at int64) { b.at = at }

// HoldsSlot reports whether the job holds one of its concurrency group's
// attempts in flight. Only the worker running the job may call it.
func (b *Base) HoldsSlot() bool { return b.gate&gateSlot != 0 }

// Gated reports whether the job's attempt was let through by its group's
// limit or rate: its next attempt must go back to the owner to be let
// through again. Only the worker running the job may call it.
func (b *Base) Gated() bool { return b.gate&(gateSlot|gateToken) != 0 }

// Expired reports whether the job's turn in its rated group came after its
// Deadline: the worker ends it without another attempt. Only the worker
// running the job may call it.
func (b *Base) Expired() bool { return b.gate&gateExpired != 0 }

// Context is the context the job was submitted under, which also ends
// when the scheduler closes. It is set when the owner takes the job in,
// before its first attempt, and never changes; nil before.
func (b *Base) Context() context.Context {
	if b.g == nil {
		return nil
	}
	return b.g.ctx
}
