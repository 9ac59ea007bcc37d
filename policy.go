package backoff

import (
	"errors"
	"log/slog"
	"math"
	"reflect"
	"time"

	"github.com/benbjohnson/clock"
)

// Policy is a checked, frozen set of options for jobs whose op returns T.
// Build it once with [NewPolicy] and pass it as an option: a Policy given
// with no other options, or only with the per-job ones (Key, Group, Name,
// InitialDelay, NonBlocking, Subscribe), costs no work per call, which
// matters when a service submits many jobs. Other options given beside it
// apply on top of it, wherever they stand, in a derived policy made for
// that call: that costs a copy of the policy and a check of every option.
// A Policy is safe for concurrent use.
type Policy[T any] struct {
	// cfg holds what needs no type: limits, delays, logger, observer.
	cfg config

	// The typed, checked and defaulted parts.
	strategy  Strategy
	runtime   func(T, error) (time.Duration, bool)
	jitter    Jitter
	valuePred func(T) bool
	onBackoff []func(Event[T])
	onSuccess []func(Event[T])
	onGiveUp  []func(Event[T])
}

// apply replays the options the policy was built from, for a call whose
// op returns another type than T: the options are checked again against
// that type.
func (p *Policy[T]) apply(c *config) {
	if p == nil {
		c.fail("nil *Policy[%s] (did NewPolicy fail?)", typeName[T]())
		return
	}
	c.adopt(&p.cfg)
}

// adopt makes c a copy of a policy's settings, keeping c's errors and its
// call's own options.
func (c *config) adopt(p *config) {
	errs, job := c.errs, c.job
	*c = *p
	c.errs, c.job = errs, job
	// Share no slices with the policy: later options append.
	c.retryIf = clip(c.retryIf)
	c.giveUp = clip(c.giveUp)
	c.onBackoff, c.onSuccess, c.onGiveUp = clip(c.onBackoff), clip(c.onSuccess), clip(c.onGiveUp)
}

func clip[S ~[]E, E any](s S) S { return s[:len(s):len(s)] }

// MaxTries returns the policy's MaxTries, or 0 when tries are unlimited.
// Backends that keep their own attempt limit (River's MaxAttempts) read it.
func (p *Policy[T]) MaxTries() int {
	if p == nil {
		return 0
	}
	return p.cfg.maxTries
}

// MaxTime returns the policy's MaxTime and whether it is strict
// (MaxTimeStrict); ok is false when the policy has none. A durable backend
// stores the deadline it implies with the job.
func (p *Policy[T]) MaxTime() (d time.Duration, strict, ok bool) {
	if p == nil {
		return 0, false, false
	}
	return p.cfg.maxTime, p.cfg.strict, p.cfg.hasMaxTime
}

// NewPolicy checks opts against the value type T and freezes them. The
// error names every bad option. The options of one call (Key, NonBlocking,
// Subscribe, WithClock) are rejected: give them to the call.
func NewPolicy[T any](opts ...Option) (*Policy[T], error) {
	var c config
	for _, o := range opts {
		if o == nil {
			c.fail("nil Option")
			continue
		}
		o.apply(&c)
	}
	switch {
	case c.job.hasKey:
		c.fail("Key is per job: give it to Submit, not NewPolicy")
	case c.job.nonBlocking:
		c.fail("NonBlocking is per call: give it to Submit, not NewPolicy")
	case c.job.subscribe:
		c.fail("Subscribe is per call: give it to Submit, not NewPolicy")
	case !c.job.startAt.IsZero():
		c.fail("StartAt is per call: give it to Submit or Retry, not NewPolicy")
	case c.job.clock != nil:
		c.fail("WithClock is not part of a Policy: give it to Retry or NewScheduler")
	}
	return build[T](&c)
}

// resolve turns a call's options into a policy and the call's own
// settings. A *Policy[T] given with nothing but per-job options is used
// as it is, without allocating; policy options beside it make a derived
// copy.
func resolve[T any](opts []Option) (*Policy[T], jobOpts, error) {
	var (
		base     *Policy[T]
		policies int
		job      jobOpts
	)
	derive := false
	for _, o := range opts {
		if p, ok := o.(*Policy[T]); ok {
			base = p
			policies++
		} else if !job.set(o) {
			derive = true
		}
	}
	if base != nil && base.strategy != nil && policies == 1 && !derive && job.valid() {
		return base, job, nil
	}
	var c config
	if policies > 1 {
		c.fail("%d *Policy options given: give one, and the options to add beside it", policies)
	}
	if policies == 1 {
		base.apply(&c) // a nil one fails; a zero one means the defaults
	}
	for _, o := range opts {
		switch o.(type) {
		case nil:
			c.fail("nil Option")
		case *Policy[T]:
		default:
			o.apply(&c)
		}
	}
	p, err := build[T](&c)
	return p, c.job, err
}

func build[T any](c *config) (*Policy[T], error) {
	c.job.check(c)
	p := &Policy[T]{cfg: *c}
	p.cfg.errs = nil
	p.cfg.group, p.cfg.name, p.cfg.initialDelay = c.job.groupOf(c), c.job.nameOf(c), c.job.delayOf(c)
	p.cfg.job = jobOpts{} // the rest is the call's
	p.strategy = c.strategy
	if p.strategy == nil {
		p.strategy = Expo{}
	}
	if c.runtime != nil {
		f, ok := c.runtime.(func(T, error) (time.Duration, bool))
		if !ok {
			c.fail("Runtime: wait function %s does not match the op's value type %s", reflect.TypeOf(c.runtime), typeName[T]())
		}
		p.runtime = f
	}
	switch {
	case c.jitterSet:
		p.jitter = c.jitter
	default:
		if _, ok := p.strategy.(interface{ selfJittered() }); !ok {
			p.jitter = FullJitter
		}
	}
	if c.valuePred != nil {
		f, ok := c.valuePred.(func(T) bool)
		if !ok {
			c.fail("RetryOnValue: predicate %s does not match the op's value type %s", reflect.TypeOf(c.valuePred), typeName[T]())
		}
		p.valuePred = f
	}
	p.onBackoff = handlers[T](c, "OnBackoff", c.onBackoff)
	p.onSuccess = handlers[T](c, "OnSuccess", c.onSuccess)
	p.onGiveUp = handlers[T](c, "OnGiveUp", c.onGiveUp)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return p, nil
}

func handlers[T any](c *config, name string, hs []any) []func(Event[T]) {
	out := make([]func(Event[T]), 0, len(hs))
	for _, h := range hs {
		f, ok := h.(func(Event[T]))
		if !ok {
			c.fail("%s: handler %s does not match the op's value type %s", name, reflect.TypeOf(h), typeName[T]())
			continue
		}
		out = append(out, f)
	}
	return out
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

// MaxTries gives up after n attempts, the first included: MaxTries(1) means
// one call and no retry. n must be at least 1. Without it, tries are unlimited.
func MaxTries(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.fail("MaxTries must be >= 1, got %d", n)
		}
		c.maxTries = n
	})
}

// MaxTime gives up once d has passed since the first attempt started,
// checked after each attempt. The last wait is trimmed to the time left, so
// one final attempt runs at about the limit. MaxTime(0) means exactly one
// attempt; d must not be negative.
func MaxTime(d time.Duration) Option {
	return optionFunc(func(c *config) {
		c.maxTime, c.hasMaxTime, c.strict = c.duration("MaxTime", d), true, false
	})
}

// MaxTimeStrict is MaxTime, except that the job gives up as soon as the next
// wait would end past d, instead of trimming that wait (tenacity's
// stop_before_delay).
func MaxTimeStrict(d time.Duration) Option {
	return optionFunc(func(c *config) {
		c.maxTime, c.hasMaxTime, c.strict = c.duration("MaxTimeStrict", d), true, true
	})
}

// MaxWait caps every wait the strategy or a Runtime function gives, before
// jitter. Use it to bound server-given waits.
func MaxWait(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if c.duration("MaxWait", d) == 0 {
			c.fail("MaxWait must be > 0")
		}
		c.maxWait = d
	})
}

// RetryOn retries only errors that match one of targets with errors.Is
// (python-backoff's exception tuple). Several RetryOn, RetryOnType and
// RetryIf options combine: an error is retried when any of them matches.
// Without any of them, every error is retried.
func RetryOn(targets ...error) Option {
	return optionFunc(func(c *config) {
		if len(targets) == 0 {
			c.fail("RetryOn needs at least one target error")
		}
		for i, t := range targets {
			if t == nil {
				c.fail("RetryOn: target %d is nil", i)
			}
		}
		ts := append([]error(nil), targets...)
		c.retryIf = append(c.retryIf, func(err error) bool {
			for _, t := range ts {
				if errors.Is(err, t) {
					return true
				}
			}
			return false
		})
	})
}

// RetryOnType retries errors that errors.As can turn into E.
func RetryOnType[E error]() Option {
	return optionFunc(func(c *config) {
		c.retryIf = append(c.retryIf, func(err error) bool {
			var target E
			return errors.As(err, &target)
		})
	})
}

// RetryIf retries errors for which retry returns true.
func RetryIf(retry func(err error) bool) Option {
	return optionFunc(func(c *config) {
		if retry == nil {
			c.fail("RetryIf: predicate is nil")
		}
		c.retryIf = append(c.retryIf, retry)
	})
}

// RetryOnValue retries an attempt that returned no error when retry(value)
// is true: python-backoff's on_predicate, for polling. Errors still retry
// under the error conditions (README, Semantics: "Error and value
// conditions"). T must be the op's value type; a mismatch is an error from
// the call.
func RetryOnValue[T any](retry func(value T) bool) Option {
	return optionFunc(func(c *config) {
		if retry == nil {
			c.fail("RetryOnValue: predicate is nil")
		}
		c.valuePred = retry
	})
}

// GiveUp ends the job when giveUp(err) is true for a failed attempt's error.
// It is asked before MaxTries and MaxTime, as in python-backoff.
func GiveUp(giveUp func(err error) bool) Option {
	return optionFunc(func(c *config) {
		if giveUp == nil {
			c.fail("GiveUp: predicate is nil")
		}
		c.giveUp = append(c.giveUp, giveUp)
	})
}

// OnBackoff runs h after each failed attempt that will be retried, before the
// wait. Several handlers run in the order given. A panic in h ends the job
// with ReasonPanic.
func OnBackoff[T any](h func(Event[T])) Option {
	return handlerOption("OnBackoff", h, func(c *config) *[]any { return &c.onBackoff })
}

// OnSuccess runs h when the job succeeds. A panic in h is logged and
// counted; the job still succeeds.
func OnSuccess[T any](h func(Event[T])) Option {
	return handlerOption("OnSuccess", h, func(c *config) *[]any { return &c.onSuccess })
}

// OnGiveUp runs h when the job gives up, for every reason. A panic in h is
// logged and counted; the job's outcome is unchanged.
func OnGiveUp[T any](h func(Event[T])) Option {
	return handlerOption("OnGiveUp", h, func(c *config) *[]any { return &c.onGiveUp })
}

func handlerOption[T any](name string, h func(Event[T]), list func(*config) *[]any) Option {
	return optionFunc(func(c *config) {
		if h == nil {
			c.fail("%s: handler is nil", name)
			return
		}
		l := list(c)
		*l = append(*l, h)
	})
}

// ErrorOnGiveUp with false makes Retry, a Wrap function and Handle.Result
// return the last value and a nil error when the job gives up, like
// python-backoff's raise_on_giveup=False. Events still carry the reason.
// It applies to every reason, strategy exhaustion included.
func ErrorOnGiveUp(on bool) Option {
	return optionFunc(func(c *config) { c.quietGiveUp = !on })
}

// StartJitter waits a random time in [0, d) before the first attempt, so
// that many jobs submitted together do not fire in lockstep. It adds to
// InitialDelay and does not count towards MaxTime.
func StartJitter(d time.Duration) Option {
	return optionFunc(func(c *config) { c.startJitter = c.duration("StartJitter", d) })
}

// AttemptTimeout bounds each attempt: the op's context ends d after the
// attempt starts, measured on the injected clock. Creating that context,
// and in a scheduler the timer that notices an op running past it
// (Stats.Overdue), costs a few allocations per attempt; without this
// option there are none.
func AttemptTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if c.duration("AttemptTimeout", d) == 0 {
			c.fail("AttemptTimeout must be > 0")
		}
		c.attemptTimeout = d
	})
}

// Runtime takes each wait from the failed attempt itself: f gets its value
// and error (python-backoff's runtime, e.g. a Retry-After header) and
// returns the wait, or false to use the strategy's wait. A wait f gives
// is honoured as given, not jittered, unless a jitter option is given
// (README, Semantics: "Server-given waits"); the strategy's waits are
// jittered as usual. MaxWait caps both. A strategy given after Runtime
// replaces it; one given before it is its fallback. T must be the op's
// value type.
func Runtime[T any](f func(value T, err error) (time.Duration, bool)) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.fail("Runtime: function is nil")
		}
		c.runtime = f
	})
}

// SharedOption is an option that both a job and a scheduler take.
type SharedOption interface {
	Option
	SchedulerOption
}

type loggerOption struct{ l *slog.Logger }

func (o loggerOption) apply(c *config)           { c.logger = o.l }
func (o loggerOption) applySched(c *schedConfig) { c.logger = o.l }

// WithLogger logs python-backoff's messages to l: "Backing off" at Info
// before each wait and "Giving up" at Error. Without it nothing is logged.
// Given to a scheduler, it is the default for its jobs and also receives
// the scheduler's own records (handler panics, slow attempts).
func WithLogger(l *slog.Logger) SharedOption { return loggerOption{l} }

type observerOption struct{ o Observer }

func (o observerOption) apply(c *config)           { c.observer = o.o }
func (o observerOption) applySched(c *schedConfig) { c.observer = o.o }

// WithObserver reports every attempt, wait and outcome to o, for metrics.
func WithObserver(o Observer) SharedOption { return observerOption{o} }

type clockOption struct{ c clock.Clock }

func (o clockOption) apply(c *config) {
	if o.c == nil {
		c.fail("WithClock: clock is nil")
	}
	c.job.set(o)
}

func (o clockOption) applySched(c *schedConfig) {
	if o.c == nil {
		c.fail("WithClock: clock is nil")
	}
	c.clock = o.c
}

// WithClock runs waits, MaxTime and attempt timeouts on c instead of the
// real clock (clock.New()). Context deadlines stay on real time: with a
// clock.Mock outside a testing/synctest bubble the two differ. Known bugs of
// clock.Mock that this package avoids: it never Resets an undrained timer
// and never relies on Reset(0) firing. A scheduler's jobs use the
// scheduler's clock; giving WithClock to Submit is an error.
func WithClock(c clock.Clock) SharedOption { return clockOption{c} }

// saturatingAdd adds two non-negative durations without overflow.
func saturatingAdd(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
