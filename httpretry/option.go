package httpretry

import (
	"context"
	"fmt"
	"time"

	"github.com/backoff-go/backoff"
)

// The defaults a [Transport] and [Do] use for what no option sets.
const (
	// DefaultMaxRetryAfter caps a server's Retry-After. A minute keeps a
	// caller's request alive through a typical rate-limit window while a
	// server that asks for hours (by mistake or malice) cannot park it.
	DefaultMaxRetryAfter = time.Minute

	// DefaultMaxTries is the number of attempts, the first included: one
	// request and up to three retries.
	DefaultMaxTries = 4

	// maxDrain is how much of a discarded response body is read so that its
	// connection can be reused; past it, closing the connection is cheaper
	// than reading on.
	maxDrain = 64 << 10
)

// defaultStrategy waits 1s, 2s, 4s, ... up to 30s, fully jittered, when
// the server gives no Retry-After.
var defaultStrategy = backoff.Expo{Max: 30 * time.Second}

// Option configures a [Transport] or a call of [Do]: which statuses are
// retried ([Statuses]), how long a Retry-After may make it wait
// ([MaxRetryAfter]), and the retry policy itself ([Policy]). Options are
// checked before anything is sent; a bad one is an error that names it.
type Option interface {
	apply(s *settings)
}

type optionFunc func(s *settings)

func (f optionFunc) apply(s *settings) { f(s) }

// settings is what the options say, before it is checked.
type settings struct {
	statuses      statusSet
	maxRetryAfter time.Duration
	policy        []backoff.Option
	errs          []error
}

func defaultSettings() settings {
	var s settings
	for _, code := range []int{429, 502, 503, 504} {
		s.statuses.add(code)
	}
	s.maxRetryAfter = DefaultMaxRetryAfter
	return s
}

func (s *settings) fail(format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf("httpretry: "+format, args...))
}

// Statuses sets the response statuses that are retried, replacing the
// default set: 429 Too Many Requests, 502 Bad Gateway, 503 Service
// Unavailable and 504 Gateway Timeout. 500 Internal Server Error is not
// in it, because it more often reports a bug than a passing fault; add it
// with Statuses(429, 500, 502, 503, 504). Statuses() retries no status,
// only transport errors. Each code must be from 400 to 599: retrying a
// success (a 202 still being processed, say) is a value predicate's job,
// backoff.RetryOnValue given through [Policy].
func Statuses(codes ...int) Option {
	return optionFunc(func(s *settings) {
		s.statuses = statusSet{}
		for _, code := range codes {
			if code < 400 || code > 599 {
				s.fail("Statuses: %d is not an error status (400 to 599)", code)
				continue
			}
			s.statuses.add(code)
		}
	})
}

// MaxRetryAfter caps the wait a server asks for with Retry-After; the
// default is [DefaultMaxRetryAfter]. A longer Retry-After is cut to d, so
// the next attempt comes d after the response: it is never obeyed as
// given, which is how clients come to report "retrying in 484289h". d must
// be > 0. backoff.MaxWait, given through [Policy], caps every wait, the
// strategy's included.
func MaxRetryAfter(d time.Duration) Option {
	return optionFunc(func(s *settings) {
		if d <= 0 {
			s.fail("MaxRetryAfter must be > 0, got %v", d)
			return
		}
		s.maxRetryAfter = d
	})
}

// Policy passes options of the backoff package to the retry loop, which
// override the defaults ([DefaultMaxTries] attempts, waits of
// backoff.Expo{Max: 30 * time.Second} with full jitter, the name
// "httpretry" in log records). Every backoff option applies: limits
// (MaxTries, MaxTime, MaxWait, AttemptTimeout), strategies and jitters,
// handlers typed on *http.Response (OnBackoff, OnSuccess, OnGiveUp),
// WithLogger, WithObserver, WithBudget, WithClock, Name, and a
// *backoff.Policy[*http.Response], which replaces the defaults: the other
// options apply on top of it, wherever they stand. Several Policy options
// add up. A Group in a Policy is ignored; Key, Group, NonBlocking and
// Subscribe are refused, as backoff.Retry refuses them.
//
// Three kinds of option combine with the transport's own rules rather
// than replace them. RetryOn, RetryOnType and RetryIf add errors to retry
// to the transport errors and statuses it retries; to stop retrying one
// of those, use backoff.GiveUp, which sees a [*StatusError] for a status.
// A backoff.Runtime option is replaced by the Retry-After handling. A
// handler must not read or close the response body: the transport drains
// and closes a discarded response after the OnBackoff handlers ran.
//
// Server-given waits are not jittered; when the server gives none, the
// strategy's waits are jittered as without Retry-After handling (full
// jitter, or none for backoff.Decorrelated). Giving a jitter option
// explicitly applies it to every wait, Retry-After included, as in the
// backoff package.
//
// Waits run on the clock given with backoff.WithClock, but an HTTP-date
// Retry-After in a response without a Date header is read against
// time.Now: the backoff package does not hand its clock to the code that
// reads the header. testing/synctest fakes both alike.
func Policy(opts ...backoff.Option) Option {
	return optionFunc(func(s *settings) { s.policy = append(s.policy, opts...) })
}

type idempotentKey struct{}

// Idempotent returns a copy of ctx that says whether requests made with it
// may be sent more than once: true makes any method retryable (a POST the
// server deduplicates, say), false keeps even a GET from being retried. It
// overrides the method and the Idempotency-Key header. It costs one context
// allocation; the transport reads it once per request.
func Idempotent(ctx context.Context, safe bool) context.Context {
	return context.WithValue(ctx, idempotentKey{}, safe)
}

// statusSet holds the retried statuses from 400 to 599, one bit each.
type statusSet [4]uint64

func (s *statusSet) add(code int) {
	i := code - 400
	s[i/64] |= 1 << (i % 64)
}

func (s *statusSet) has(code int) bool {
	i := code - 400
	if i < 0 || i >= 200 {
		return false
	}
	return s[i/64]&(1<<(i%64)) != 0
}
