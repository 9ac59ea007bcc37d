package backoff

import "time"

// progress is where a job stands after an attempt, as decide sees it.
type progress struct {
	Tries   int           // attempts made, the one just finished included
	Elapsed time.Duration // since the first attempt started, measured after this one
	Prev    time.Duration // the wait before this attempt; 0 after the first
	// Left is the time until the job context's deadline, when HasDeadline.
	Left        time.Duration
	HasDeadline bool
}

// outcome is what an attempt returned.
type outcome[T any] struct {
	Value T
	Err   error
}

// decision is what to do after an attempt: succeed, retry after Wait, or
// give up for Reason.
type decision struct {
	Retry  bool
	Wait   time.Duration // when Retry: after strategy, cap, jitter and trim; never negative
	Reason Reason        // when giving up; ReasonNone on success
}

// Done reports whether the job ended, by success or give-up.
func (d decision) Done() bool { return !d.Retry }

// decide is the retry decision, the one function that the blocking API, the
// scheduler and durable backends all use, so they behave the same. It is
// pure apart from the randomness of jitter, and it does not read a clock.
//
// For a failed attempt it asks, in this order: Permanent, the retry
// conditions, the GiveUp predicates, MaxTries, MaxTime; then it computes the
// wait: strategy (or Runtime) capped by MaxWait, jitter (not of a Runtime
// wait, unless a jitter option was given), trimmed to
// MaxTime's time left (or, with MaxTimeStrict, give up when the wait would
// pass it), and gives up with ReasonContext when the wait would reach the
// context's deadline. User predicates run here: a panic in one propagates
// to the caller. A nil *Policy decides as the zero Policy does.
func decide[T any](p *Policy[T], s progress, o outcome[T]) decision {
	if p == nil {
		return decideZero(s, o)
	}
	if o.Err == nil && (p.valuePred == nil || !p.valuePred(o.Value)) {
		return decision{}
	}
	if o.Err != nil {
		if isPermanent(o.Err) {
			return decision{Reason: ReasonPermanent}
		}
		if !p.retryable(o.Err) {
			return decision{Reason: ReasonNotRetryable}
		}
		for _, g := range p.cfg.giveUp {
			if g(o.Err) {
				return decision{Reason: ReasonGiveUp}
			}
		}
	}
	if p.cfg.maxTries > 0 && s.Tries >= p.cfg.maxTries {
		return decision{Reason: ReasonMaxTries}
	}
	if p.cfg.hasMaxTime && s.Elapsed >= p.cfg.maxTime {
		return decision{Reason: ReasonMaxTime}
	}
	wait, ok := time.Duration(0), false
	if p.runtime != nil {
		wait, ok = p.runtime(o.Value, o.Err)
	}
	// A server-given wait is not jittered unless the user asked for it.
	jitter := p.jitter
	if ok && !p.cfg.jitterSet {
		jitter = nil
	}
	if !ok {
		strategy := p.strategy
		if strategy == nil { // a zero Policy, not made by NewPolicy
			strategy = Expo{}
		}
		if wait, ok = strategy.Delay(s.Tries, s.Prev); !ok {
			return decision{Reason: ReasonExhausted}
		}
	}
	wait = max(wait, 0)
	if p.cfg.maxWait > 0 {
		wait = min(wait, p.cfg.maxWait)
	}
	if jitter != nil {
		wait = max(jitter(wait), 0)
	}
	if p.cfg.hasMaxTime {
		left := p.cfg.maxTime - max(s.Elapsed, 0)
		if wait > left {
			if p.cfg.strict {
				return decision{Reason: ReasonMaxTime}
			}
			wait = left
		}
	}
	if s.HasDeadline && wait >= s.Left {
		return decision{Reason: ReasonContext}
	}
	return decision{Retry: true, Wait: wait}
}

// decideZero is decide for a nil *Policy: the zero Policy's defaults,
// without jitter. Apart, so that decide's frame, on every worker's stack
// after every attempt, does not hold a whole Policy.
//
//go:noinline
func decideZero[T any](s progress, o outcome[T]) decision {
	var zero Policy[T]
	return decide(&zero, s, o)
}

func (p *Policy[T]) retryable(err error) bool {
	if len(p.cfg.retryIf) == 0 {
		return true
	}
	for _, r := range p.cfg.retryIf {
		if r(err) {
			return true
		}
	}
	return false
}
