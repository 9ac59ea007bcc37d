package backoff

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"
)

// Option configures a retry: which outcomes are retried, how long to wait,
// when to give up and whom to tell. Options are accepted by [Retry], [Wrap],
// [Attempts], [Submit], [SubmitTo] and [NewPolicy]. Strategies ([Expo],
// [Constant], ...) and jitters ([FullJitter], ...) are options themselves.
//
// Options are checked before anything runs: a bad value is an error that
// names it, returned by the call that received it. Their order never
// matters, except that of two options setting the same thing the last
// wins.
type Option interface {
	apply(c *config)
}

// optionFunc adapts a function to [Option].
type optionFunc func(c *config)

func (f optionFunc) apply(c *config) { f(c) }

// config collects what options say before it is checked against a value
// type and frozen into a Policy.
type config struct {
	strategy  Strategy
	runtime   any // func(T, error) (time.Duration, bool)
	jitter    Jitter
	jitterSet bool

	maxTries       int
	maxTime        time.Duration
	hasMaxTime     bool
	strict         bool
	maxWait        time.Duration
	retryIf        []func(error) bool
	valuePred      any // func(T) bool
	giveUp         []func(error) bool
	onBackoff      []any // func(Event[T])
	onSuccess      []any
	onGiveUp       []any
	quietGiveUp    bool
	startJitter    time.Duration
	attemptTimeout time.Duration
	logger         *slog.Logger
	observer       Observer
	budget         budgetUse
	// A policy's Group, Name and InitialDelay, which its jobs get unless
	// their call says otherwise.
	group        string
	name         string
	initialDelay time.Duration

	// job is what the call's own options say. A Policy built from options
	// takes Group, Name and InitialDelay from here.
	job jobOpts

	errs []error
}

// jobOpts are one call's own settings.
type jobOpts struct {
	key         string
	hasKey      bool
	nonBlocking bool
	subscribe   bool
	clock       clock.Clock
	hasClock    bool

	group        string
	hasGroup     bool
	name         string
	hasName      bool
	initialDelay time.Duration
	hasDelay     bool
	startAt      time.Time
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("backoff: "+format, args...))
}

func (c *config) duration(name string, d time.Duration) time.Duration {
	if d < 0 {
		c.fail("%s must not be negative, got %v", name, d)
	}
	return d
}

// setStrategy records the wait strategy; the last one given wins.
func (c *config) setStrategy(s Strategy) {
	// Checked here, not when the policy is built: a bad strategy that a
	// later one replaces is still a mistake to report.
	if v, ok := s.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	c.strategy = s
	c.runtime = nil
}

// setJitter records the jitter; the last one given wins.
func (c *config) setJitter(j Jitter) {
	c.jitter = j
	c.jitterSet = true
}

// The options of one job or call. Each is a small value of its own type,
// so that resolve can read them without calling anything: a Submit with a
// Policy and a Key allocates nothing for its options.
type (
	keyOption   string
	nameOption  string
	groupOption string
	delayOption time.Duration
	startOption struct{ t time.Time }
	flagOption  uint8
)

const (
	nonBlockingFlag flagOption = iota
	subscribeFlag
)

func (o keyOption) apply(c *config)   { c.job.set(o) }
func (o nameOption) apply(c *config)  { c.job.set(o) }
func (o flagOption) apply(c *config)  { c.job.set(o) }
func (o delayOption) apply(c *config) { c.job.set(o); c.duration("InitialDelay", time.Duration(o)) }
func (o startOption) apply(c *config) {
	if o.t.IsZero() {
		c.fail("StartAt: time is zero")
	}
	c.job.set(o)
}
func (o groupOption) apply(c *config) {
	if o == "" {
		c.fail("Group: name is empty")
	}
	c.job.set(o)
}

// set records a per-job option and reports whether o is one; a bad value
// is recorded as it is and reported by the option's apply.
func (j *jobOpts) set(o Option) bool {
	switch o := o.(type) {
	case keyOption:
		j.key, j.hasKey = string(o), true
	case nameOption:
		j.name, j.hasName = string(o), true
	case groupOption:
		j.group, j.hasGroup = string(o), true
	case delayOption:
		j.initialDelay, j.hasDelay = time.Duration(o), true
	case startOption:
		j.startAt = o.t
	case flagOption:
		switch o {
		case nonBlockingFlag:
			j.nonBlocking = true
		case subscribeFlag:
			j.subscribe = true
		}
	case clockOption:
		j.clock, j.hasClock = o.c, true
	default:
		return false
	}
	return true
}

// The job's Group, Name and InitialDelay: the call's, else the policy's.
func (j *jobOpts) groupOf(p *config) string {
	if j.hasGroup {
		return j.group
	}
	return p.group
}

func (j *jobOpts) nameOf(p *config) string {
	if j.hasName {
		return j.name
	}
	return p.name
}

func (j *jobOpts) delayOf(p *config) time.Duration {
	if j.hasDelay {
		return j.initialDelay
	}
	return p.initialDelay
}

// hasNames reports whether the job has a group or a name of its own.
func (j *jobOpts) hasNames() bool { return j.hasGroup || j.hasName }

// forLoop checks that a call that runs its loop on the caller's goroutine
// (Retry, Wrap, Attempts) got no scheduler-only option.
func (j *jobOpts) forLoop(fn string) error {
	var opt string
	switch {
	case j.hasKey:
		opt = "Key"
	case j.nonBlocking:
		opt = "NonBlocking"
	case j.subscribe:
		opt = "Subscribe"
	case j.hasGroup:
		opt = "Group"
	default:
		return nil
	}
	return fmt.Errorf("backoff: %s: %s is for scheduled jobs: give it to Submit or SubmitTo", fn, opt)
}

// valid reports whether the per-job options hold no bad value.
func (j *jobOpts) valid() bool {
	return j.initialDelay >= 0 && (!j.hasGroup || j.group != "") && (!j.hasClock || j.clock != nil) &&
		(j.startAt.IsZero() || !j.hasDelay)
}

// check reports per-job options that are fine alone but not together.
func (j *jobOpts) check(c *config) {
	if !j.startAt.IsZero() && j.hasDelay {
		c.fail("StartAt and InitialDelay both set when the first attempt runs: give one")
	}
}

// Key gives a scheduled job a key: while the job lives, a second job with
// the same key is refused with ErrDuplicateKey, and Scheduler.Cancel and
// Scheduler.Trigger find it by key. Events carry the key. Only Submit and
// SubmitTo take it.
//
// Cost, on top of the job's: a slot in the scheduler's key table, a
// pointer and 4 bytes of the key's hash, with no copy of the key's text.
// While keys are added the table is between 7/12 and 7/8 full (about 17
// bytes a key); as they are removed it shrinks only below 1/8 full, so a
// table that held many more keys than it does now costs up to about 96
// bytes a key. The table's 128 shards take about 28 KB once keys have
// reached them all, kept until the scheduler is gone. For a SubmitTo
// job, a 72-byte side record, allocated with the job record. Submit,
// Cancel and Trigger take one of the 128 shards' locks, chosen by the
// key's hash, for one lookup; a submission that fills its shard rebuilds
// that shard.
func Key(key string) Option { return keyOption(key) }

// NonBlocking makes Submit and SubmitTo fail at once with ErrPendingFull
// when the scheduler holds MaxPending jobs, instead of waiting for one to
// end. Only Submit and SubmitTo take it.
func NonBlocking() Option { return nonBlockingFlag }

// Subscribe makes Submit create the Handle's events channel at once, so
// that a reader of Handle.Events misses none of the job's backoff events,
// however soon its first attempt runs. Without it the channel is made by
// the first call of Events, and backoff events before that call are not
// kept. Only Submit takes it.
//
// It costs the channel's buffer from Submit on, 16 events: about 1.5 KB
// more per job for small values, where a pending Handle job is about
// 230 bytes. Subscribe the jobs someone reads.
func Subscribe() Option { return subscribeFlag }

// Name names the operation in log records and observations, like
// python-backoff's target name. Beside a *Policy it names this call's job
// without copying the policy.
func Name(name string) Option { return nameOption(name) }

// InitialDelay waits d before the first attempt. It does not count towards
// MaxTime. Beside a *Policy it sets this call's delay without copying the
// policy.
func InitialDelay(d time.Duration) Option { return delayOption(d) }

// StartAt makes the first attempt wait until t, read on the scheduler's
// clock (or Retry's, with WithClock); a t that has passed starts it at
// once. It replaces the policy's InitialDelay for this call, and like it
// does not count towards MaxTime; StartJitter still applies. Giving it
// with InitialDelay is an error, and so is giving it to NewPolicy: it is
// one call's.
//
// Jobs given one instant are released together and in the order they
// were submitted, at a cost of O(1) each: StartAt is the way to release a
// burst at a set time, where an InitialDelay computed per job spreads
// the jobs over slightly different instants.
func StartAt(t time.Time) Option { return startOption{t} }
