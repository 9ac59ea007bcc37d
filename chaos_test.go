package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/backoff-go/backoff"
)

// The chaos suite. Jobs whose ops fail, panic, block until their context
// ends or return after it ended; handlers that panic; consumers that read
// eagerly, slowly, half way or never; Handle.Cancel, Scheduler.Cancel and
// context cancels at random moments; Close or Shutdown in the middle of a
// burst, with submissions racing it. A run is planned up front from a
// seeded generator, so the plan is reproducible even where the
// interleaving is not; the invariants are checked on what the ops, the
// handlers and the consumers saw, and they must hold for any interleaving.

// opKind is what a job's op does on each attempt.
type opKind uint8

const (
	opSucceed   opKind = iota // fails tries-1 times, then succeeds
	opMaxTries                // always fails, under MaxTries(tries)
	opChatty                  // opMaxTries with MaxTries(20) and no wait: many backoff events
	opPanic                   // fails tries-1 times, then panics
	opPermanent               // fails tries-1 times, then returns a Permanent error
	opBlock                   // blocks until its context ends, returns ctx.Err()
	opLate                    // waits for its context to end, dawdles, then succeeds
	opStubborn                // ignores its context: dawdles, then fails, under MaxTries(tries)
	opTimeout                 // blocks until its attempt times out (AttemptTimeout), under MaxTries(tries)
	numOpKinds
)

var opKindNames = [numOpKinds]string{"succeed", "max-tries", "chatty", "panic", "permanent", "block", "late", "stubborn", "timeout"}

// sinkKind is how a job's events are consumed.
type sinkKind uint8

const (
	sinkResult      sinkKind = iota // Submit; only Result, after the run
	sinkEvents                      // Submit; Events read to the end
	sinkEventsSlow                  // Submit; Events read with a pause per event
	sinkEventsHalf                  // Submit; one event read, then abandoned
	sinkEventsNever                 // Submit; Events called, not read before the run ends
	sinkFanIn                       // SubmitTo one of the shared results channels
	numSinks
)

var sinkNames = [numSinks]string{"result", "events", "events-slow", "events-half", "events-never", "fan-in"}

// readerMode is how a shared results channel is read.
type readerMode uint8

const (
	readEager readerMode = iota
	readSlow
	readHalf // stops after halfWay events
	readNever
)

const halfWay = 5

// ctxKind is the context a job is submitted under.
type ctxKind uint8

const (
	ctxRoot     ctxKind = iota // the test's context, shared by many jobs
	ctxShared                  // one of a few shared contexts, some cancelled during the run
	ctxOwn                     // the job's own, maybe cancelled at a planned moment, maybe before Submit
	ctxDeadline                // the job's own, with a deadline
	numCtxKinds
)

var ctxKindNames = [numCtxKinds]string{"root", "shared", "own", "deadline"}

type stopMode uint8

const (
	stopCloseMid    stopMode = iota // Close in the middle of the submission burst
	stopShutdownMid                 // Shutdown with a short ctx in the middle of the burst, then Close
	stopCloseQuiet                  // Close long after every job could have ended on its own
)

type chaosConfig struct {
	jobs, workers, submitters int
	seed1, seed2              uint64
	stop                      stopMode
	real                      bool // the real clock, outside a bubble
	// groupLimit caps each of nGroups concurrency groups (GroupLimit);
	// maxPending is MaxPending; groupRate holds each group to that many
	// attempts a second, in bursts of chaosBurst (GroupRate). Zero: not
	// used.
	groupLimit, maxPending int
	groupRate              float64
}

const chaosBurst = 4

const nGroups = 4

func (cfg chaosConfig) options() []backoff.SchedulerOption {
	opts := []backoff.SchedulerOption{backoff.Workers(cfg.workers)}
	if cfg.groupLimit > 0 {
		opts = append(opts, backoff.GroupLimit(cfg.groupLimit))
	}
	if cfg.maxPending > 0 {
		opts = append(opts, backoff.MaxPending(cfg.maxPending))
	}
	if cfg.groupRate > 0 {
		opts = append(opts, backoff.GroupRate(cfg.groupRate, chaosBurst))
	}
	return opts
}

type actionKind uint8

const (
	actCancel       actionKind = iota // Handle.Cancel
	actCancelKey                      // Scheduler.Cancel(key)
	actCancelCtx                      // the job's own context
	actCancelShared                   // a shared context
	actTrigger                        // Scheduler.Trigger(key): no effect on the outcome, only on timing
	numActions
)

var actionNames = [numActions]string{"Handle.Cancel", "Scheduler.Cancel", "own ctx cancel", "shared ctx cancel", "Scheduler.Trigger"}

// chaosAction is a stop planned at a moment: at, on the fake clock, or
// once after jobs have been submitted, on the real one.
type chaosAction struct {
	at     time.Duration
	after  int
	kind   actionKind
	job    int
	shared int
}

const (
	opPanicValue      = "chaos: op panic"
	backoffPanicValue = "chaos: OnBackoff panic"
	endPanicValue     = "chaos: terminal handler panic"
)

// chaosJob is one planned submission and what became of it.
type chaosJob struct {
	// The plan; read-only during the run.
	idx            int
	key            string
	kind           opKind
	tries          int
	sink           sinkKind
	fanIn          int
	ctxKind        ctxKind
	shared         int
	keyed          bool
	group          int // its concurrency group, or -1
	nonBlocking    bool
	wait           time.Duration // Constant's interval; 0 means NoWait
	initialDelay   time.Duration
	noJitter       bool
	backoffPanicAt int // an OnBackoff handler panics after this attempt; 0: never
	successPanic   bool
	giveUpPanic    bool
	submitAt       time.Duration
	deadline       time.Duration // for ctxDeadline, from the submission
	ctx            context.Context
	cancel         context.CancelFunc // the own context's

	// Written by its submitter, read after the run.
	accepted    bool
	submitErr   error
	id          uint64
	ctxDone     context.CancelFunc // the deadline context's
	readerDone  chan struct{}
	events      []backoff.Event[int] // the Handle's events, as read
	listened    bool                 // Events was called
	h           atomic.Pointer[backoff.Handle[int]]
	hearingFrom atomic.Bool // Events has returned: backoff events from now on are published

	// Stops, set before the stop is made, so that whoever sees the stop
	// sees the flag.
	cancelIssued atomic.Int32
	cancelDone   atomic.Bool // a Cancel of this job has returned
	ctxStopped   atomic.Bool

	// What the ops and handlers saw.
	calls     atomic.Int32
	running   atomic.Int32
	backoffs  atomic.Int32 // backoff events published
	heard     atomic.Int32 // backoff events published after Events returned
	terminals atomic.Int32
	ended     atomic.Bool
	final     backoff.Event[int] // written by the one terminal handler call
	allowed   stops              // the stops that may explain the end, as the terminal handler saw them
}

// stops says which stops had been made when a job ended.
type stops struct{ canceled, context, closed bool }

func (s stops) some() bool { return s.canceled || s.context || s.closed }

type fanInChan struct {
	ch   chan backoff.Event[int]
	mode readerMode
	got  []backoff.Event[int]
	done chan struct{}
}

type chaosRun struct {
	t      *testing.T
	cfg    chaosConfig
	s      *backoff.Scheduler
	root   context.Context
	jobs   []*chaosJob
	fanIns []*fanInChan

	sharedCtx     []context.Context
	sharedCancel  []context.CancelFunc
	sharedStopped []atomic.Bool

	actions    []chaosAction
	stuck      int           // blocking jobs that only Close ends
	closeAt    time.Duration // fake clock: when the Close or Shutdown is made
	closeAfter int           // real clock: after how many submissions
	shutdownIn time.Duration // stopShutdownMid: the Shutdown's ctx timeout
	closeFrom  time.Duration // fake clock: no job may end with ReasonClosed before this
	start      time.Time
	closeBegun atomic.Bool

	inflight, peak atomic.Int32
	groupInflight  [nGroups]atomic.Int32
	groupPeak      [nGroups]atomic.Int32
	endPanics      atomic.Int64 // OnSuccess and OnGiveUp panics that ran
	actionsDone    [numActions]atomic.Int32
	actionsSkipped [numActions]atomic.Int32

	mu          sync.Mutex
	violations  []string
	nViolation  int
	groupStarts [nGroups][]time.Duration // with groupRate: when attempts started
}

// failf records a broken invariant. It is called from ops, handlers and
// readers; only the first few are kept, so that a broken run stays legible.
func (run *chaosRun) failf(format string, args ...any) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.nViolation++
	if len(run.violations) < 20 {
		run.violations = append(run.violations, fmt.Sprintf(format, args...))
	}
}

func (run *chaosRun) report() {
	run.t.Helper()
	run.mu.Lock()
	defer run.mu.Unlock()
	for _, v := range run.violations {
		run.t.Error(v)
	}
	if run.nViolation > len(run.violations) {
		run.t.Errorf("... and %d more violations", run.nViolation-len(run.violations))
	}
}

// pause is a short dawdle: fake time in a bubble, a yield on the real clock.
func (run *chaosRun) pause(d time.Duration) {
	if run.cfg.real {
		runtime.Gosched()
		return
	}
	time.Sleep(d)
}

func (run *chaosRun) sleepUntil(at time.Duration) {
	if d := at - time.Since(run.start); d > 0 {
		time.Sleep(d)
	}
}

// closing reports whether Close, or a Shutdown whose ctx has ended, may
// have ended jobs by now.
func (run *chaosRun) closing() bool {
	if run.cfg.real {
		return run.closeBegun.Load()
	}
	return time.Since(run.start) >= run.closeFrom
}

// newChaosRun draws the whole run from the seed: jobs, stops and the close.
func newChaosRun(t *testing.T, cfg chaosConfig) *chaosRun {
	t.Logf("seed: rand.NewPCG(%d, %d); %d jobs, %d workers", cfg.seed1, cfg.seed2, cfg.jobs, cfg.workers)
	r := rand.New(rand.NewPCG(cfg.seed1, cfg.seed2))
	run := &chaosRun{t: t, cfg: cfg, root: t.Context()}
	// Different buffers: an unbuffered channel backlogs at once.
	for i, m := range []readerMode{readEager, readSlow, readHalf, readNever} {
		run.fanIns = append(run.fanIns, &fanInChan{
			ch: make(chan backoff.Event[int], []int{0, 4, 2, 8}[i]), mode: m, done: make(chan struct{})})
	}
	const nShared = 8
	run.sharedStopped = make([]atomic.Bool, nShared)
	for k := range nShared {
		ctx, cancel := context.WithCancel(run.root)
		run.sharedCtx = append(run.sharedCtx, ctx)
		run.sharedCancel = append(run.sharedCancel, cancel)
		if k%2 == 0 {
			run.actions = append(run.actions, chaosAction{
				at:    200*time.Millisecond + randDur(r, time.Second),
				after: cfg.jobs/5 + r.IntN(cfg.jobs*4/5),
				kind:  actCancelShared, shared: k})
		}
	}
	for i := range cfg.jobs {
		run.jobs = append(run.jobs, run.planJob(r, i))
	}
	sort.SliceStable(run.actions, func(a, b int) bool {
		if cfg.real {
			return run.actions[a].after < run.actions[b].after
		}
		return run.actions[a].at < run.actions[b].at
	})
	last := run.jobs[len(run.jobs)-1].submitAt
	switch cfg.stop {
	case stopCloseMid:
		run.closeAt = last/3 + randDur(r, last/3)
		run.closeFrom = run.closeAt
	case stopShutdownMid:
		run.closeAt = last/3 + randDur(r, last/3)
		run.shutdownIn = 100*time.Millisecond + randDur(r, 200*time.Millisecond)
		run.closeFrom = run.closeAt + run.shutdownIn
	case stopCloseQuiet:
		run.closeAt = 10 * time.Minute
		run.closeFrom = run.closeAt
	}
	run.closeAfter = cfg.jobs/2 + r.IntN(cfg.jobs/3)
	return run
}

// planJob draws one job. Proportions are rough; what matters is that
// every kind of fault shows up in every run.
func (run *chaosRun) planJob(r *rand.Rand, i int) *chaosJob {
	cfg := run.cfg
	j := &chaosJob{idx: i, key: fmt.Sprintf("chaos-%d", i)}
	// Bursts of 50 submissions at one instant.
	j.submitAt = time.Duration(i/50) * 50 * time.Millisecond
	j.tries = 1 + r.IntN(3)
	switch p := r.IntN(100); {
	case p < 25:
		j.kind = opSucceed
	case p < 38:
		j.kind = opMaxTries
	case p < 41:
		j.kind, j.tries = opChatty, 20
	case p < 50:
		j.kind = opPanic
	case p < 57:
		j.kind = opPermanent
	case p < 67:
		j.kind = opBlock
	case p < 74:
		j.kind = opLate
	case p < 86:
		j.kind = opStubborn
	default:
		j.kind = opTimeout
	}
	switch p := r.IntN(100); {
	case p < 50:
		j.sink, j.fanIn = sinkFanIn, r.IntN(len(run.fanIns))
	default:
		j.sink = sinkKind(r.IntN(int(sinkFanIn)))
	}
	j.keyed = r.IntN(100) < 30
	j.group = -1
	if cfg.groupLimit > 0 && r.IntN(100) < 40 {
		j.group = r.IntN(nGroups)
	}
	j.nonBlocking = r.IntN(100) < 20
	switch p := r.IntN(100); {
	case p < 45:
		j.ctxKind = ctxRoot
	case p < 65:
		j.ctxKind, j.shared = ctxShared, r.IntN(len(run.sharedCtx))
	case p < 90:
		j.ctxKind = ctxOwn
	default:
		j.ctxKind = ctxDeadline
	}
	// A blocking op holds a worker until its context ends. Most get a
	// context that surely ends; a few are left for Close to end, but never
	// so many that they hold every worker until then.
	blocks := j.kind == opBlock || j.kind == opLate
	if blocks && j.ctxKind != ctxDeadline {
		switch {
		case cfg.stop != stopCloseQuiet && run.stuck < cfg.workers/2:
			// Not in a group: a group whose slots it held would hold all
			// its jobs, and with MaxPending, the submissions, until Close.
			run.stuck++
			j.group = -1
		case cfg.real:
			// Stops on the real clock follow the submissions, which
			// MaxPending may hold up until jobs end: a deadline ends it
			// whatever happens.
			j.ctxKind = ctxDeadline
		default:
			j.ctxKind = ctxOwn
		}
	}
	j.deadline = 10*time.Millisecond + randDur(r, 150*time.Millisecond)
	if cfg.real {
		j.deadline = 100*time.Microsecond + randDur(r, 3*time.Millisecond)
	}
	if j.ctxKind == ctxOwn {
		j.ctx, j.cancel = context.WithCancel(run.root)
		switch {
		case blocks:
			// Soon: it holds a worker until then.
			at := j.submitAt + randDur(r, 60*time.Millisecond)
			run.actions = append(run.actions, chaosAction{at: at, after: i + r.IntN(50), kind: actCancelCtx, job: i})
		case r.IntN(100) < 60:
			// From a little before the submission (refused) to well after.
			at := max(j.submitAt-20*time.Millisecond+randDur(r, 320*time.Millisecond), 0)
			run.actions = append(run.actions, chaosAction{at: at, after: max(i-20+r.IntN(220), 0), kind: actCancelCtx, job: i})
		}
	}
	if (j.sink != sinkFanIn || j.keyed) && r.IntN(100) < 15 {
		kind := actCancel
		if j.keyed && (j.sink == sinkFanIn || r.IntN(2) == 0) {
			kind = actCancelKey
		}
		run.actions = append(run.actions, chaosAction{
			at: j.submitAt + randDur(r, 100*time.Millisecond), after: i + r.IntN(100), kind: kind, job: i})
	}
	switch {
	case j.kind == opChatty || r.IntN(10) == 0:
		j.wait = 0
	case cfg.real:
		j.wait = time.Microsecond
	default:
		j.wait = time.Duration(1+r.IntN(20)) * 10 * time.Millisecond
	}
	j.noJitter = r.IntN(3) == 0
	if r.IntN(10) == 0 && !cfg.real {
		j.initialDelay = randDur(r, 50*time.Millisecond)
	}
	if j.keyed && r.IntN(100) < 20 {
		run.actions = append(run.actions, chaosAction{
			at: j.submitAt + randDur(r, 100*time.Millisecond), after: i + r.IntN(100), kind: actTrigger, job: i})
	}
	if r.IntN(100) < 8 {
		j.backoffPanicAt = 1 + r.IntN(2)
	}
	j.successPanic = r.IntN(100) < 10
	j.giveUpPanic = r.IntN(100) < 10
	return j
}

// natural is how the job ends when nothing stops it: the reason and the
// number of attempts; ok is false for a job that only a stop ends.
func (j *chaosJob) natural() (r backoff.Reason, tries int, ok bool) {
	switch j.kind {
	case opSucceed:
		r = backoff.ReasonNone
	case opMaxTries, opChatty, opStubborn, opTimeout:
		r = backoff.ReasonMaxTries
	case opPanic:
		r = backoff.ReasonPanic
	case opPermanent:
		r = backoff.ReasonPermanent
	default:
		return 0, 0, false
	}
	tries = j.tries
	if j.backoffPanicAt > 0 && j.backoffPanicAt < tries {
		// OnBackoff runs after each failed attempt but the last.
		r, tries = backoff.ReasonPanic, j.backoffPanicAt
	}
	return r, tries, true
}

func (j *chaosJob) options(run *chaosRun) []backoff.Option {
	opts := []backoff.Option{backoff.NoWait{}}
	if j.wait > 0 {
		opts[0] = backoff.Constant{Interval: j.wait}
	}
	if j.noJitter {
		opts = append(opts, backoff.NoJitter)
	}
	if j.initialDelay > 0 {
		opts = append(opts, backoff.InitialDelay(j.initialDelay))
	}
	switch j.kind {
	case opMaxTries, opChatty, opStubborn:
		opts = append(opts, backoff.MaxTries(j.tries))
	case opTimeout:
		d := 10 * time.Millisecond
		if run.cfg.real {
			d = 200 * time.Microsecond
		}
		opts = append(opts, backoff.MaxTries(j.tries), backoff.AttemptTimeout(d))
	}
	if j.keyed {
		opts = append(opts, backoff.Key(j.key))
	}
	if j.group >= 0 {
		opts = append(opts, backoff.Group(fmt.Sprint("group-", j.group)))
	}
	if j.nonBlocking {
		opts = append(opts, backoff.NonBlocking())
	}
	// The recorders come first: the handlers after them panic.
	opts = append(opts, backoff.OnBackoff(func(ev backoff.Event[int]) {
		if ev.Tries == j.backoffPanicAt {
			return // the next handler panics: this event is not published
		}
		j.backoffs.Add(1)
		if j.hearingFrom.Load() {
			j.heard.Add(1)
		}
	}))
	if j.backoffPanicAt > 0 {
		opts = append(opts, backoff.OnBackoff(func(ev backoff.Event[int]) {
			if ev.Tries == j.backoffPanicAt {
				panic(backoffPanicValue)
			}
		}))
	}
	onEnd := func(ev backoff.Event[int]) { run.ended(j, ev) }
	opts = append(opts, backoff.OnSuccess(onEnd), backoff.OnGiveUp(onEnd))
	endPanic := func(backoff.Event[int]) {
		run.endPanics.Add(1)
		panic(endPanicValue)
	}
	if j.successPanic {
		opts = append(opts, backoff.OnSuccess(endPanic))
	}
	if j.giveUpPanic {
		opts = append(opts, backoff.OnGiveUp(endPanic))
	}
	return opts
}

// ended is the terminal handler: it records the end and which stops
// could explain it at that moment.
func (run *chaosRun) ended(j *chaosJob, ev backoff.Event[int]) {
	if n := j.terminals.Add(1); n != 1 {
		run.failf("job %d: terminal handler called %d times (event %+v)", j.idx, n, ev)
		return
	}
	shared := j.ctxKind == ctxShared && run.sharedStopped[j.shared].Load()
	j.allowed = stops{
		canceled: j.cancelIssued.Load() > 0,
		context:  j.ctxKind == ctxDeadline || j.ctxStopped.Load() || shared,
		closed:   run.closing(),
	}
	j.final = ev
	j.ended.Store(true)
}

func (j *chaosJob) op(run *chaosRun) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		n := int(j.calls.Add(1))
		run.enter(ctx, j, n)
		defer run.leave(j, n)
		switch j.kind {
		case opSucceed:
			if n < j.tries {
				return j.idx, errFail
			}
			return j.idx, nil
		case opPanic:
			if n < j.tries {
				return j.idx, errFail
			}
			panic(opPanicValue)
		case opPermanent:
			if n < j.tries {
				return j.idx, errFail
			}
			return j.idx, backoff.Permanent(errFail)
		case opBlock, opTimeout:
			<-ctx.Done()
			return j.idx, ctx.Err()
		case opLate:
			<-ctx.Done()
			run.pause(10 * time.Millisecond)
			return j.idx, nil
		case opStubborn:
			run.pause(5 * time.Millisecond)
			return j.idx, errFail
		default: // opMaxTries, opChatty
			return j.idx, errFail
		}
	}
}

// enter checks, as an attempt starts, the invariants that only the op can
// see: its job has not ended, no other attempt of it runs, the worker
// limit holds, and a Cancel that returned has reached its context.
func (run *chaosRun) enter(ctx context.Context, j *chaosJob, n int) {
	if j.ended.Load() {
		run.failf("job %d: attempt %d started after the job ended (%+v)", j.idx, n, j.final)
	}
	if r := j.running.Add(1); r != 1 {
		run.failf("job %d: attempt %d started while %d others ran", j.idx, n, r-1)
	}
	cur := run.inflight.Add(1)
	for p := run.peak.Load(); cur > p && !run.peak.CompareAndSwap(p, cur); p = run.peak.Load() {
	}
	if cur > int32(run.cfg.workers) {
		run.failf("%d attempts in flight, Workers(%d)", cur, run.cfg.workers)
	}
	if g := j.group; g >= 0 {
		cur := run.groupInflight[g].Add(1)
		for p := run.groupPeak[g].Load(); cur > p && !run.groupPeak[g].CompareAndSwap(p, cur); p = run.groupPeak[g].Load() {
		}
		if run.cfg.groupLimit > 0 && cur > int32(run.cfg.groupLimit) {
			run.failf("%d attempts of group %d in flight, GroupLimit(%d)", cur, g, run.cfg.groupLimit)
		}
		if run.cfg.groupRate > 0 {
			run.mu.Lock()
			run.groupStarts[g] = append(run.groupStarts[g], time.Since(run.start))
			run.mu.Unlock()
		}
	}
	// An AttemptTimeout context hears of its parent's end a moment later.
	if j.cancelDone.Load() && j.kind != opTimeout && ctx.Err() == nil {
		run.failf("job %d: attempt %d started after Cancel returned, with a live context", j.idx, n)
	}
}

func (run *chaosRun) leave(j *chaosJob, n int) {
	run.inflight.Add(-1)
	if j.group >= 0 {
		run.groupInflight[j.group].Add(-1)
	}
	j.running.Add(-1)
	if j.ended.Load() {
		run.failf("job %d: ended while its attempt %d ran", j.idx, n)
	}
}

// submit submits one job, and starts the reader of its Handle's events.
func (run *chaosRun) submit(j *chaosJob) {
	ctx := run.root
	switch j.ctxKind {
	case ctxShared:
		ctx = run.sharedCtx[j.shared]
	case ctxOwn:
		ctx = j.ctx
	case ctxDeadline:
		ctx, j.ctxDone = context.WithTimeout(run.root, j.deadline)
	}
	op, opts := j.op(run), j.options(run)
	if j.sink == sinkFanIn {
		j.id, j.submitErr = backoff.SubmitTo(ctx, run.s, op, run.fanIns[j.fanIn].ch, opts...)
		j.accepted = j.submitErr == nil
		return
	}
	h, err := backoff.Submit(ctx, run.s, op, opts...)
	j.submitErr, j.accepted = err, err == nil
	if err != nil {
		return
	}
	j.id = h.ID()
	j.h.Store(h)
	if j.sink == sinkResult {
		return
	}
	evs := h.Events()
	j.hearingFrom.Store(true)
	j.listened = true
	if j.sink == sinkEventsNever {
		return
	}
	j.readerDone = make(chan struct{})
	go func() {
		defer close(j.readerDone)
		for ev := range evs {
			j.events = append(j.events, ev)
			if j.sink == sinkEventsHalf {
				return
			}
			if j.sink == sinkEventsSlow {
				run.pause(15 * time.Millisecond)
			}
		}
	}()
}

// do makes one planned stop.
func (run *chaosRun) do(a chaosAction) {
	switch a.kind {
	case actCancel:
		j := run.jobs[a.job]
		h := j.h.Load()
		if h == nil { // not submitted yet, or refused
			run.actionsSkipped[a.kind].Add(1)
			return
		}
		j.cancelIssued.Add(1)
		h.Cancel()
		j.cancelDone.Store(true)
	case actCancelKey:
		j := run.jobs[a.job]
		j.cancelIssued.Add(1)
		if !run.s.Cancel(j.key) {
			// No live job had the key: nothing was stopped.
			j.cancelIssued.Add(-1)
			run.actionsSkipped[a.kind].Add(1)
			return
		}
		j.cancelDone.Store(true)
	case actCancelCtx:
		j := run.jobs[a.job]
		j.ctxStopped.Store(true)
		j.cancel()
	case actCancelShared:
		run.sharedStopped[a.shared].Store(true)
		run.sharedCancel[a.shared]()
	case actTrigger:
		if !run.s.Trigger(run.jobs[a.job].key) {
			run.actionsSkipped[a.kind].Add(1)
			return
		}
	}
	run.actionsDone[a.kind].Add(1)
}

func (run *chaosRun) startReaders() {
	for _, f := range run.fanIns {
		if f.mode == readNever {
			close(f.done)
			continue
		}
		go func() {
			defer close(f.done)
			for ev := range f.ch {
				f.got = append(f.got, ev)
				if f.mode == readHalf && len(f.got) == halfWay {
					return
				}
				if f.mode == readSlow {
					run.pause(5 * time.Millisecond)
				}
			}
		}()
	}
}

// closeMid makes the planned Close or Shutdown (fake clock).
func (run *chaosRun) closeMid() {
	run.sleepUntil(run.closeAt)
	run.closeBegun.Store(true)
	if run.cfg.stop != stopShutdownMid {
		if err := run.s.Close(); err != nil {
			run.failf("Close: %v", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(run.root, run.shutdownIn)
	defer cancel()
	// Jobs that only Close ends and a channel nobody reads keep it from
	// finishing: it gives up when ctx ends, without waiting for any op.
	err := run.s.Shutdown(ctx)
	if at := time.Since(run.start); !errors.Is(err, context.DeadlineExceeded) || at != run.closeFrom {
		run.failf("Shutdown returned %v at %v, want %v at %v", err, at, context.DeadlineExceeded, run.closeFrom)
	}
}

// finish collects what the consumers have not read, once the scheduler
// has closed: nothing is sent after Close returns.
func (run *chaosRun) finish() {
	for _, j := range run.jobs {
		if j.ctxDone != nil {
			j.ctxDone()
		}
		if j.cancel != nil {
			j.cancel()
		}
	}
	for _, cancel := range run.sharedCancel {
		cancel()
	}
	for _, f := range run.fanIns {
		close(f.ch)
		<-f.done
		for ev := range f.ch {
			f.got = append(f.got, ev)
		}
	}
	for _, j := range run.jobs {
		if j.readerDone != nil {
			<-j.readerDone
		}
		if h := j.h.Load(); h != nil && j.listened && j.ended.Load() {
			for ev := range h.Events() {
				j.events = append(j.events, ev)
			}
		}
	}
}

// runFake runs a plan in a synctest bubble.
func runFake(t *testing.T, cfg chaosConfig) {
	synctest.Test(t, func(t *testing.T) {
		base := bubbleGoroutines()
		run := newChaosRun(t, cfg)
		run.s = newSched(t, cfg.options()...)
		defer run.s.Close()
		if got := bubbleGoroutines(); got != base+1 {
			t.Errorf("goroutines after NewScheduler: %d, want %d + the owner (workers start with the first due job)", got, base)
		}
		run.start = time.Now()
		run.startReaders()
		var wg sync.WaitGroup
		for g := range cfg.submitters {
			wg.Go(func() {
				for i := g; i < len(run.jobs); i += cfg.submitters {
					run.sleepUntil(run.jobs[i].submitAt)
					run.submit(run.jobs[i])
				}
			})
		}
		wg.Go(func() {
			for _, a := range run.actions {
				run.sleepUntil(a.at)
				run.do(a)
			}
		})
		wg.Go(run.closeMid)
		wg.Wait()
		if err := run.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		run.finish()
		synctest.Wait()
		if got := bubbleGoroutines(); got != base {
			t.Errorf("goroutines after Close: %d, want %d as before NewScheduler", got, base)
		}
		run.verify()
	})
}

// verify checks the invariants on everything the run recorded, and logs
// what was injected.
func (run *chaosRun) verify() {
	t := run.t
	t.Helper()
	st := run.s.Stats()
	var (
		accepted, fanInAccepted int
		rejected                = map[string]int{}
		reasons                 = map[backoff.Reason]int{}
		calls                   uint64
		kinds                   [numOpKinds]int
		sinks                   [numSinks]int
		ctxs                    [numCtxKinds]int
		backoffPanics           int
		endPanicsPlanned        int
		listenedBackoffs        int
		heard, received         int
		handleEnds              int
	)
	byID := map[uint64]*chaosJob{}
	for _, j := range run.jobs {
		kinds[j.kind]++
		sinks[j.sink]++
		ctxs[j.ctxKind]++
		if j.successPanic || j.giveUpPanic {
			endPanicsPlanned++
		}
		if !j.accepted {
			rejected[run.refusal(j)]++
			if c, n := j.calls.Load(), j.terminals.Load(); c != 0 || n != 0 {
				run.failf("job %d was refused (%v) but ran %d attempts and ended %d times", j.idx, j.submitErr, c, n)
			}
			continue
		}
		accepted++
		if j.sink == sinkFanIn {
			fanInAccepted++
		}
		if other := byID[j.id]; other != nil {
			run.failf("jobs %d and %d share ID %d", other.idx, j.idx, j.id)
		}
		byID[j.id] = j
		calls += uint64(j.calls.Load())
		if n := j.terminals.Load(); n != 1 {
			run.failf("job %d (%s): %d terminal handler calls after Close, want 1", j.idx, opKindNames[j.kind], n)
			continue
		}
		reasons[j.final.Reason]++
		if j.final.Reason == backoff.ReasonPanic && run.checkPanic(j) == backoffPanicValue {
			backoffPanics++
		}
		run.checkEnd(j)
		if j.sink != sinkFanIn && run.checkHandle(j) {
			handleEnds++
		}
		if j.listened {
			listenedBackoffs += int(j.backoffs.Load())
			heard += int(j.heard.Load())
			for _, ev := range j.events {
				if ev.Kind == backoff.EventBackoff {
					received++
				}
			}
		}
	}
	delivered := run.checkFanIn(byID)

	// Invariant 1: every accepted job ended once; a Handle always has its end, a
	// fan-in end was delivered or discarded.
	if uint64(delivered)+st.Discarded != uint64(fanInAccepted) {
		t.Errorf("fan-in: %d terminal events delivered + %d discarded != %d jobs accepted", delivered, st.Discarded, fanInAccepted)
	}
	if total := uint64(handleEnds+delivered) + st.Discarded; total != uint64(accepted) {
		t.Errorf("%d Handle ends + %d fan-in ends delivered + %d discarded != %d jobs accepted", handleEnds, delivered, st.Discarded, accepted)
	}
	if st.Submitted != uint64(accepted) || st.Succeeded+st.GaveUp != uint64(accepted) {
		t.Errorf("stats: submitted %d, succeeded %d + gave up %d; %d accepted", st.Submitted, st.Succeeded, st.GaveUp, accepted)
	}
	if st.Succeeded != uint64(reasons[backoff.ReasonNone]) {
		t.Errorf("stats: %d succeeded, the handlers saw %d", st.Succeeded, reasons[backoff.ReasonNone])
	}
	for r := range st.GaveUpBy {
		if r := backoff.Reason(r); r != backoff.ReasonNone && st.GaveUpBy[r] != uint64(reasons[r]) {
			t.Errorf("stats: %d gave up with %v, the handlers saw %d", st.GaveUpBy[r], r, reasons[r])
		}
	}
	if st.Attempts != calls {
		t.Errorf("stats: %d attempts, the ops ran %d", st.Attempts, calls)
	}
	if st.HandlerPanics != uint64(run.endPanics.Load()) {
		t.Errorf("stats: %d handler panics, %d terminal handlers panicked", st.HandlerPanics, run.endPanics.Load())
	}
	if st.Pending != 0 || st.Waiting != 0 || st.Ready != 0 || st.Running != 0 || st.Undelivered != 0 || st.Held != 0 || st.RateHeld != 0 {
		t.Errorf("stats after Close: %+v", st)
	}
	if full := uint64(rejected["ErrPendingFull"]); st.Rejected != full {
		t.Errorf("stats: %d rejected, %d NonBlocking submissions refused at MaxPending", st.Rejected, full)
	}
	// Backoff events of a Handle with a listener are read or dropped: at
	// least those published after Events returned, at most all of them.
	if got := received + int(st.DroppedEvents); got < heard || got > listenedBackoffs {
		t.Errorf("backoff events: %d read + %d dropped, want between %d (published after Events) and %d (published)",
			received, st.DroppedEvents, heard, listenedBackoffs)
	}
	// Invariant 4: the worker limit.
	if p := run.peak.Load(); p > int32(run.cfg.workers) || p < 2 {
		t.Errorf("peak attempts in flight %d, Workers(%d)", p, run.cfg.workers)
	}
	run.report()

	var b strings.Builder
	fmt.Fprintf(&b, "%d jobs: %d accepted (%d fan-in), refused %v\n", len(run.jobs), accepted, fanInAccepted, rejected)
	fmt.Fprintf(&b, "ops: %s\n", countsOf(opKindNames[:], kinds[:]))
	fmt.Fprintf(&b, "consumers: %s; fan-in readers eager, slow, half way (%d), never\n", countsOf(sinkNames[:], sinks[:]), halfWay)
	fmt.Fprintf(&b, "contexts: %s\n", countsOf(ctxKindNames[:], ctxs[:]))
	fmt.Fprintf(&b, "stops made (skipped: job not live): ")
	for k := range numActions {
		fmt.Fprintf(&b, "%s %d (%d), ", actionNames[k], run.actionsDone[k].Load(), run.actionsSkipped[k].Load())
	}
	if run.cfg.real {
		fmt.Fprintf(&b, "Close after %d submissions\n", run.closeAfter)
	} else {
		fmt.Fprintf(&b, "%s at %v\n", []string{"Close", "Shutdown", "Close"}[run.cfg.stop], run.closeAt)
	}
	fmt.Fprintf(&b, "handler panics: OnBackoff %d ended jobs; OnSuccess/OnGiveUp %d ran (%d jobs armed)\n",
		backoffPanics, run.endPanics.Load(), endPanicsPlanned)
	fmt.Fprintf(&b, "ends: ")
	for r := range backoff.ReasonPanic + 1 {
		fmt.Fprintf(&b, "%s %d, ", r.String(), reasons[r])
	}
	fmt.Fprintf(&b, "\nattempts %d, peak in flight %d/%d, fan-in delivered %d + discarded %d, backoff events read %d + dropped %d",
		calls, run.peak.Load(), run.cfg.workers, delivered, st.Discarded, received, st.DroppedEvents)
	if run.cfg.groupLimit > 0 {
		fmt.Fprintf(&b, "\nGroupLimit(%d): peaks in flight per group", run.cfg.groupLimit)
		top := int32(0)
		for g := range nGroups {
			fmt.Fprintf(&b, " %d", run.groupPeak[g].Load())
			top = max(top, run.groupPeak[g].Load())
		}
		// Not every group: one may starve behind a blocking op
		// (TestChunkRestDoesNotWaitForBlockingOp). On the real clock,
		// attempts of one group rarely overlap enough to reach it.
		want := int32(run.cfg.groupLimit)
		if run.cfg.real {
			want = 1
		}
		if top < want {
			t.Errorf("peak attempts in flight of any group %d, want %d: the limit was not exercised", top, want)
		}
	}
	if run.cfg.maxPending > 0 {
		fmt.Fprintf(&b, "; MaxPending(%d)", run.cfg.maxPending)
	}
	if run.cfg.groupRate > 0 {
		fmt.Fprintf(&b, "\nGroupRate(%v, %d): attempts per group", run.cfg.groupRate, chaosBurst)
		for g := range nGroups {
			fmt.Fprintf(&b, " %d", len(run.groupStarts[g]))
			// A token is taken only with a worker free to start its attempt,
			// so the tokens bound the starts in any window, busy or not.
			checkRate(t, run.groupStarts[g], run.cfg.groupRate, chaosBurst,
				time.Nanosecond, 10*time.Millisecond, 100*time.Millisecond, time.Second)
		}
	}
	t.Log(b.String())
	run.checkCoverage(reasons, rejected, st)
}

// checkCoverage makes sure the run injected what it is meant to: a plan
// that stopped exercising a fault would pass for the wrong reason.
func (run *chaosRun) checkCoverage(reasons map[backoff.Reason]int, rejected map[string]int, st backoff.Stats) {
	t := run.t
	t.Helper()
	for _, r := range []backoff.Reason{backoff.ReasonNone, backoff.ReasonMaxTries, backoff.ReasonPermanent,
		backoff.ReasonContext, backoff.ReasonCanceled, backoff.ReasonPanic} {
		if reasons[r] == 0 {
			t.Errorf("no job ended with %v", r)
		}
	}
	switch run.cfg.stop {
	case stopCloseQuiet:
		if reasons[backoff.ReasonClosed] != 0 || rejected["ErrClosed"] != 0 {
			t.Errorf("Close came after every job could end, yet %d ended with ReasonClosed and %d were refused",
				reasons[backoff.ReasonClosed], rejected["ErrClosed"])
		}
	default:
		if reasons[backoff.ReasonClosed] == 0 || rejected["ErrClosed"] == 0 {
			t.Errorf("mid-burst close: %d ended with ReasonClosed, %d refused with ErrClosed; want some of each",
				reasons[backoff.ReasonClosed], rejected["ErrClosed"])
		}
	}
	if st.Discarded == 0 || st.HandlerPanics == 0 {
		t.Errorf("nothing discarded (%d) or no handler panics (%d)", st.Discarded, st.HandlerPanics)
	}
}

func countsOf(names []string, counts []int) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, counts[i])
	}
	return strings.Join(parts, ", ")
}

// refusal names why a submission was refused; an unexpected error is a
// violation.
func (run *chaosRun) refusal(j *chaosJob) string {
	switch err := j.submitErr; {
	case errors.Is(err, backoff.ErrClosed):
		return "ErrClosed"
	case errors.Is(err, backoff.ErrPendingFull) && j.nonBlocking && run.cfg.maxPending > 0:
		return "ErrPendingFull"
	case errors.Is(err, context.Canceled) && (j.ctxKind == ctxOwn || j.ctxKind == ctxShared):
		return "ctx canceled"
	case errors.Is(err, context.DeadlineExceeded) && j.ctxKind == ctxDeadline:
		return "ctx deadline"
	default:
		run.failf("job %d: unexpected Submit error %v", j.idx, err)
		return "unexpected"
	}
}

// checkEnd checks that a job's terminal event is one its op, its handlers
// or the stops made by then explain, with the attempts its op counted.
func (run *chaosRun) checkEnd(j *chaosJob) {
	ev := j.final
	calls := int(j.calls.Load())
	if ev.ID != j.id || ev.Tries != calls || !ev.Terminal() || (ev.Kind == backoff.EventSuccess) != (ev.Reason == backoff.ReasonNone) {
		run.failf("job %d: terminal event %+v; ID %d, %d attempts ran", j.idx, ev, j.id, calls)
		return
	}
	if ev.Kind == backoff.EventGiveUp {
		var ge *backoff.GiveUpError
		if !errors.As(ev.Err, &ge) || ge.Reason != ev.Reason || ge.Tries != ev.Tries || !errors.Is(ev.Err, ev.Reason) {
			run.failf("job %d: give-up error %v for %+v", j.idx, ev.Err, ev)
		}
	}
	r, tries, ok := j.natural()
	by := j.allowed
	switch {
	case ok && ev.Reason == r && ev.Tries == tries:
	case ev.Reason == backoff.ReasonNone && j.kind == opLate && ev.Tries == 1 && by.some():
		// It returned after its context ended, with no error.
	case ev.Reason == backoff.ReasonCanceled && by.canceled,
		ev.Reason == backoff.ReasonContext && by.context,
		ev.Reason == backoff.ReasonClosed && by.closed:
		if ok && ev.Tries > tries {
			run.failf("job %d (%s): stopped with %v after %d attempts, more than the %d it can make", j.idx, opKindNames[j.kind], ev.Reason, ev.Tries, tries)
		}
	default:
		run.failf("job %d (%s, tries %d, OnBackoff panic at %d): ended with %v after %d attempts; natural end %v after %d (%v), stops made by then %+v",
			j.idx, opKindNames[j.kind], j.tries, j.backoffPanicAt, ev.Reason, ev.Tries, r, tries, ok, by)
	}
}

// checkPanic checks a ReasonPanic give-up's panic value and returns it.
func (run *chaosRun) checkPanic(j *chaosJob) any {
	var pe *backoff.PanicError
	if !errors.As(j.final.Err, &pe) || len(pe.Stack) == 0 {
		run.failf("job %d: ReasonPanic without a *PanicError: %v", j.idx, j.final.Err)
		return nil
	}
	return pe.Value
}

// checkHandle checks a Handle's Result and the events its reader got,
// and reports whether Result gave the job's end.
func (run *chaosRun) checkHandle(j *chaosJob) bool {
	h := j.h.Load()
	ended, cancel := context.WithCancel(run.root)
	cancel() // the job has ended: Result must not wait
	v, err := h.Result(ended)
	switch {
	case j.final.Reason == backoff.ReasonNone && (err != nil || v != j.idx):
		run.failf("job %d: Result %v, %v after success", j.idx, v, err)
		return false
	case j.final.Reason != backoff.ReasonNone && (!errors.Is(err, j.final.Reason) || !errors.Is(err, j.final.Err)):
		run.failf("job %d: Result error %v, terminal event %+v", j.idx, err, j.final)
		return false
	}
	if !j.listened {
		return true
	}
	evs := j.events
	if len(evs) == 0 || !sameEnd(evs[len(evs)-1], j.final) {
		run.failf("job %d (%s): Events got %+v, want the terminal event %+v last", j.idx, sinkNames[j.sink], evs, j.final)
		return false
	}
	for i, ev := range evs[:len(evs)-1] {
		if ev.Kind != backoff.EventBackoff || ev.ID != j.id || ev.Tries > j.final.Tries || i > 0 && ev.Tries <= evs[i-1].Tries {
			run.failf("job %d: event %d of %d out of place: %+v", j.idx, i, len(evs), ev)
		}
	}
	return true
}

// checkFanIn checks every event read from the shared channels and returns
// how many there were.
func (run *chaosRun) checkFanIn(byID map[uint64]*chaosJob) int {
	seen := map[uint64]bool{}
	n := 0
	for c, f := range run.fanIns {
		for _, ev := range f.got {
			j := byID[ev.ID]
			switch {
			case j == nil || j.sink != sinkFanIn || j.fanIn != c:
				run.failf("channel %d got an event of no job accepted for it: %+v", c, ev)
			case seen[ev.ID]:
				run.failf("job %d: two terminal events on channel %d", j.idx, c)
			case !sameEnd(ev, j.final):
				run.failf("job %d: channel got %+v, the terminal handler %+v", j.idx, ev, j.final)
			}
			seen[ev.ID] = true
			n++
		}
	}
	return n
}

func sameEnd(a, b backoff.Event[int]) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Reason == b.Reason && a.Tries == b.Tries && a.Key == b.Key && a.Value == b.Value
}

// TestChaos runs the planned chaos in a synctest bubble: fake time, so
// waits, dawdles and deadlines cost nothing, and a stuck job shows up as a
// deadlock instead of a timeout.
func TestChaos(t *testing.T) {
	for _, c := range []struct {
		name                   string
		stop                   stopMode
		seed                   uint64
		groupLimit, maxPending int
		groupRate              float64
	}{
		{"close-mid-burst", stopCloseMid, 1, 0, 0, 0},
		{"shutdown-mid-burst", stopShutdownMid, 2, 0, 0, 0},
		{"close-after-quiet", stopCloseQuiet, 3, 0, 0, 0},
		// The same with concurrency groups and a cap on pending jobs.
		{"close-mid-burst/limits", stopCloseMid, 4, 2, 300, 0},
		{"shutdown-mid-burst/limits", stopShutdownMid, 5, 2, 300, 0},
		{"close-after-quiet/limits", stopCloseQuiet, 6, 2, 300, 0},
		// And with each group held to a rate as well.
		{"close-mid-burst/rates", stopCloseMid, 7, 2, 300, 100},
		{"shutdown-mid-burst/rates", stopShutdownMid, 8, 2, 300, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			runFake(t, chaosConfig{jobs: 4000, workers: 8, submitters: 4,
				seed1: c.seed, seed2: 2, stop: c.stop, groupLimit: c.groupLimit, maxPending: c.maxPending, groupRate: c.groupRate})
		})
	}
}

// TestChaosRealClock is the one run on the real clock, for -race: no
// bubble, waits of zero or a microsecond, consumers that yield instead of
// sleeping, and stops made as the submissions progress. It waits only on
// channels; the deadline is a guard against a hang, not a wait.
func TestChaosRealClock(t *testing.T) {
	cfg := chaosConfig{jobs: 10000, workers: 8, submitters: 4, seed1: 7, seed2: 8, stop: stopCloseMid, real: true,
		groupLimit: 3, maxPending: 1000}
	run := newChaosRun(t, cfg)
	// Closed below, not deferred: after a hang, Close would hang too.
	run.s = newSched(t, cfg.options()...)
	guard, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run.startReaders()
	progress := make(chan int, cfg.jobs)
	var wg sync.WaitGroup
	for g := range cfg.submitters {
		wg.Go(func() {
			for i := g; i < len(run.jobs); i += cfg.submitters {
				run.submit(run.jobs[i])
				progress <- i
			}
		})
	}
	wg.Go(func() {
		next := 0
		for n := 1; n <= cfg.jobs; n++ {
			select {
			case <-progress:
			case <-guard.Done():
				return
			}
			for ; next < len(run.actions) && run.actions[next].after <= n; next++ {
				run.do(run.actions[next])
			}
			if n == run.closeAfter {
				// Close while the submitters carry on.
				wg.Go(func() {
					run.closeBegun.Store(true)
					if err := run.s.Close(); err != nil {
						run.failf("Close: %v", err)
					}
				})
			}
		}
		for _, a := range run.actions[next:] {
			run.do(a)
		}
	})
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-guard.Done():
		buf := make([]byte, 1<<20)
		t.Fatalf("the run did not finish in a minute; stats %+v\n%s", run.s.Stats(), buf[:runtime.Stack(buf, true)])
	}
	if err := run.s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	run.finish()
	run.verify()
}

// randDur draws a duration in [0, d).
func randDur(r *rand.Rand, d time.Duration) time.Duration { return time.Duration(r.Int64N(int64(d))) }

// TestChaosMemory checks that ended jobs leave nothing behind: a round of
// jobs of every kind on a warmed-up scheduler must not grow the live heap,
// and a closed scheduler must give back all it took. A leak of a job
// record per job (well over 100 bytes) would pass the slack many times.
func TestChaosMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20_000
		const slack = n * 24 // bytes; a leak of 100 B per job is 4x this
		// The runtime keeps the descriptors of exited goroutines: a
		// scheduler run first makes the baseline hold those of its
		// goroutines too.
		throwaway := newSched(t, backoff.Workers(8))
		memoryRound(t, throwaway, 64, -1)
		if err := throwaway.Close(); err != nil {
			t.Fatal(err)
		}
		before := liveHeap()
		warm, after := func() (uint64, uint64) {
			s := newSched(t, backoff.Workers(8))
			defer s.Close()
			// The first round grows the scheduler's queues, maps and the
			// test context's children to this load; the second must reuse them.
			memoryRound(t, s, n, 0)
			warm := liveHeap()
			memoryRound(t, s, n, 1)
			after := liveHeap()
			if st := s.Stats(); st.Submitted != 2*n || st.Succeeded+st.GaveUp != 2*n || st.Pending != 0 {
				t.Errorf("stats %+v", st)
			}
			return warm, after
		}()
		closed := liveHeap()
		t.Logf("%d jobs a round; live heap before NewScheduler %d B, after round 1 %d B, after round 2 %d B, after Close %d B",
			n, before, warm, after, closed)
		if grew := int64(after) - int64(warm); grew > slack {
			t.Errorf("the second round of %d jobs grew the live heap by %d B (%.1f B a job), slack %d B", n, grew, float64(grew)/n, slack)
		}
		if kept := int64(closed) - int64(before); kept > slack {
			t.Errorf("a closed scheduler keeps %d B (%.1f B a job), slack %d B", kept, float64(kept)/n, slack)
		}
	})
}

// liveHeap is the heap in use once garbage is collected; the second GC
// frees what the first only unlinked (sync.Pool victims).
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// memoryRound runs n jobs in batches. A batch at a time keeps the peak
// load, and with it the capacity that the scheduler's queues and maps
// keep for the next burst, the same in every round: what grows from one
// round to the next is then what the jobs left behind.
func memoryRound(t *testing.T, s *backoff.Scheduler, n, round int) {
	t.Helper()
	const batch = 1000
	for first := 0; first < n; first += batch {
		memoryBatch(t, s, first, min(first+batch, n), round)
	}
}

// memoryBatch runs jobs first to end-1, an eighth of each kind, to their
// ends, and drops every reference to them.
func memoryBatch(t *testing.T, s *backoff.Scheduler, first, end, round int) {
	t.Helper()
	fast := backoff.Constant{Interval: time.Millisecond}
	hour, err := backoff.NewPolicy[int](backoff.Constant{Interval: time.Hour}, backoff.MaxTries(2))
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan backoff.Event[int], 64)
	fanIn := 0
	var handles []*backoff.Handle[int]
	var toCancel []*backoff.Handle[int]
	// Few contexts: each ended context starts a goroutine, and the runtime
	// keeps a goroutine's descriptor for good, which would blur the count.
	var ctxs []context.Context
	var cancels []context.CancelFunc
	var keys []string
	for i := first; i < end; i++ {
		var h *backoff.Handle[int]
		var err error
		switch i % 8 {
		case 0: // succeeds on the second try
			tries := 0
			h, err = backoff.Submit(t.Context(), s, func(context.Context) (int, error) {
				if tries++; tries < 2 {
					return 0, errFail
				}
				return i, nil
			}, fast, backoff.NoJitter)
		case 1: // fan-in, gives up after two tries
			_, err = backoff.SubmitTo(t.Context(), s, failing, res, fast, backoff.MaxTries(2))
			fanIn++
		case 2: // the op panics
			h, err = backoff.Submit(t.Context(), s, func(context.Context) (int, error) { panic("boom") })
		case 3: // cancelled while it waits an hour
			h, err = backoff.Submit(t.Context(), s, failing, hour)
			if err == nil {
				toCancel = append(toCancel, h)
			}
		case 4: // its context, shared with a few others, is cancelled while it waits
			if len(ctxs) == 0 || i%256 == 4 {
				ctx, cancel := context.WithCancel(t.Context())
				ctxs = append(ctxs, ctx)
				cancels = append(cancels, cancel)
			}
			h, err = backoff.Submit(ctxs[len(ctxs)-1], s, failing, hour)
		case 5: // fan-in, cancelled by key while it waits
			key := fmt.Sprintf("mem-%d-%d", round, i)
			keys = append(keys, key)
			_, err = backoff.SubmitTo(t.Context(), s, failing, res, hour, backoff.Key(key))
			fanIn++
		case 6: // its OnBackoff handler panics
			h, err = backoff.Submit(t.Context(), s, failing, fast,
				backoff.OnBackoff(func(backoff.Event[int]) { panic("handler") }))
		case 7: // its OnSuccess handler panics; it has a listener
			h, err = backoff.Submit(t.Context(), s, succeed,
				backoff.OnSuccess(func(backoff.Event[int]) { panic("handler") }))
			if err == nil {
				h.Events()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if h != nil {
			handles = append(handles, h)
		}
	}
	synctest.Wait()
	for _, h := range toCancel {
		h.Cancel()
	}
	for _, cancel := range cancels {
		cancel()
	}
	for _, key := range keys {
		if !s.Cancel(key) {
			t.Fatalf("key %s not live", key)
		}
	}
	for _, h := range handles {
		if _, err := h.Result(t.Context()); err != nil && !errors.As(err, new(*backoff.GiveUpError)) {
			t.Fatal(err)
		}
		for range h.Events() {
		}
	}
	for range fanIn {
		<-res
	}
	synctest.Wait()
}

// TestIdleWorkersKeepNoEndedJobs is a regression test. It was: once a job has ended and its
// Handle is dropped, nothing of it may stay reachable from a scheduler
// that goes on living. A worker keeps the chunk of jobs it last ran in its
// buffer past the slice's length (work resets the buffer with buf[:0] and
// never clears it), so up to 64 ended jobs per worker, with their Handles,
// events, values and panic stacks, stay alive until the worker happens to
// overwrite those slots; after a burst, an idle scheduler with 8 workers
// held about 1.4 MB of them in TestChaosMemory.
func TestIdleWorkersKeepNoEndedJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 1000
		s := newSched(t, backoff.Workers(4))
		defer s.Close()
		weaks := make([]weak.Pointer[backoff.Handle[int]], 0, n)
		func() {
			hs := make([]*backoff.Handle[int], 0, n)
			for range n {
				h, err := backoff.Submit(t.Context(), s, succeed)
				if err != nil {
					t.Fatal(err)
				}
				hs = append(hs, h)
				weaks = append(weaks, weak.Make(h))
			}
			for _, h := range hs {
				if _, err := h.Result(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		}()
		synctest.Wait()
		if kept := reachable(weaks); kept != 0 {
			t.Errorf("%d of %d ended jobs whose Handles were dropped are still reachable from the idle scheduler", kept, n)
		}
	})
}

// TestHandleCancelNeverBlocksDuringShutdown is a regression test. It was: Handle methods "never
// block, except Result". Cancel always sends the job to the owner
// (Scheduler.wake), which returns only once the owner has taken it or has
// exited. While Shutdown waits for a results channel's reader, every job
// has ended and the owner no longer takes wake-ups, but it has not exited
// either: the wake-up buffer (64) fills and the 65th Cancel blocks until
// the reader catches up. If the reader is the goroutine that cancels,
// Shutdown never returns.
func TestHandleCancelNeverBlocksDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		res := make(chan backoff.Event[int]) // not read until the end: a backlog
		if _, err := backoff.SubmitTo(t.Context(), s, succeed, res); err != nil {
			t.Fatal(err)
		}
		var hs []*backoff.Handle[int]
		for range 100 {
			h, err := backoff.Submit(t.Context(), s, succeed)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Result(t.Context()); err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		shutdown := make(chan error)
		go func() { shutdown <- s.Shutdown(t.Context()) }()
		synctest.Wait()
		var canceled atomic.Int32
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, h := range hs {
				h.Cancel() // the job has ended: nothing to do
				canceled.Add(1)
			}
		}()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Errorf("Handle.Cancel of an ended job blocked while Shutdown waits for a reader, after %d calls", canceled.Load())
		}
		<-res
		if err := <-shutdown; err != nil {
			t.Error(err)
		}
		<-done
	})
}

// TestChunkDoesNotHoldRunJobBehindSlowOp is a regression test. It was: a worker takes due jobs in
// chunks and hands the chunk back to the owner only when every attempt
// of it has returned. A job whose attempt ran first in a chunk thus waits
// for the slow op after it: its next attempt does not run when its wait
// ends, a Cancel does not end it, and it does not retire, even though a
// worker is idle. The chunk's untouched rest goes back to the queue
// (work's putBack), but what already ran does not. Here the retry due at
// 2s and a Cancel at 2.5s both wait for a one-minute op.
func TestChunkDoesNotHoldRunJobBehindSlowOp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(2))
		defer s.Close()
		start := time.Now()
		// Both workers are busy until 1s; meanwhile fall due, in this
		// order, the fast job, the slow one and two fillers, so that the
		// first worker free takes the chunk [fast, slow].
		for range 2 {
			mustSubmit(t, s, func(context.Context) (int, error) { time.Sleep(time.Second); return 0, nil })
		}
		var tries atomic.Int32
		fast := mustSubmit(t, s, func(context.Context) (int, error) {
			tries.Add(1)
			return 0, errFail
		}, backoff.InitialDelay(time.Second-2*time.Millisecond), backoff.Constant{Interval: time.Second}, backoff.NoJitter)
		mustSubmit(t, s, func(context.Context) (int, error) { time.Sleep(time.Minute); return 0, nil },
			backoff.InitialDelay(time.Second-time.Millisecond))
		for range 2 {
			mustSubmit(t, s, succeed, backoff.InitialDelay(time.Second-time.Millisecond/2))
		}
		time.Sleep(2500 * time.Millisecond)
		if n := tries.Load(); n != 2 {
			t.Errorf("at 2.5s the fast job has made %d attempts, want 2 (at 1s and 2s)", n)
		}
		fast.Cancel()
		expectResult(t, fast, 0, backoff.ReasonCanceled, int(tries.Load()))
		if d := time.Since(start); d != 2500*time.Millisecond {
			t.Errorf("a Cancel at 2.5s took effect at %v", d)
		}
	})
}

// TestChunkRestDoesNotWaitForBlockingOp is a regression test. It was: the other half of the
// chunk problem. The untouched rest of a chunk goes back to the queue for
// idle workers only after the op being run returns (work checks after
// each attempt), so jobs taken in a chunk behind an op that blocks wait
// for it however many workers are idle: here a job due at 1s waits a
// minute with a worker free. With GroupLimit, jobs stuck this way keep
// their group's slots: in TestChaosRealClock a whole group ran nothing
// until Close, its three slots held by jobs stuck behind an op that only
// Close ended.
func TestChunkRestDoesNotWaitForBlockingOp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(2))
		defer s.Close()
		start := time.Now()
		// Both workers are busy until 1s; meanwhile fall due, in this
		// order, the blocking op, the job behind it and two fillers, so
		// that the first worker free takes the chunk [blocking, behind].
		for range 2 {
			mustSubmit(t, s, func(context.Context) (int, error) { time.Sleep(time.Second); return 0, nil })
		}
		mustSubmit(t, s, func(context.Context) (int, error) { time.Sleep(time.Minute); return 0, nil },
			backoff.InitialDelay(time.Second-2*time.Millisecond))
		var ranAt atomic.Int64
		behind := mustSubmit(t, s, func(context.Context) (int, error) {
			ranAt.Store(int64(time.Since(start)))
			return 0, nil
		}, backoff.InitialDelay(time.Second-time.Millisecond))
		for range 2 {
			mustSubmit(t, s, succeed, backoff.InitialDelay(time.Second-time.Millisecond/2))
		}
		expectResult(t, behind, 0, backoff.ReasonNone, 1)
		if at := time.Duration(ranAt.Load()); at != time.Second {
			t.Errorf("a job due at %v ran at %v, behind a one-minute op, with a worker idle", time.Second-time.Millisecond, at)
		}
	})
}
