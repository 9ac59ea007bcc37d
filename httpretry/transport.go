package httpretry

import (
	"errors"
	"net/http"
	"sync"
)

// Transport is an [http.RoundTripper] that retries requests through a
// base RoundTripper, for use as an [http.Client]'s Transport. It retries a
// request that may be sent more than once (see [New]) on a transport
// error or a retryable status, honouring Retry-After, and otherwise sends
// it once, untouched.
//
// The zero value retries with the defaults through [http.DefaultTransport].
// A Transport is safe for concurrent use by any number of goroutines, and
// must not be copied after first use.
type Transport struct {
	base http.RoundTripper

	once sync.Once
	r    *retrier
	err  error
}

// New returns a Transport that makes each attempt with base
// ([http.DefaultTransport] when nil), with opts applied over the defaults:
// statuses 429, 502, 503 and 504 ([Statuses]); Retry-After capped at
// [DefaultMaxRetryAfter] ([MaxRetryAfter]); [DefaultMaxTries] attempts and
// fully jittered waits of 1s, 2s, 4s, ... up to 30s when the server gives
// no Retry-After ([Policy]).
//
// A request is retried when it may be sent more than once: a context from
// [Idempotent] says so, and without one, its method is GET, HEAD, OPTIONS,
// TRACE, PUT or DELETE, or it has an Idempotency-Key or X-Idempotency-Key
// header, the rule net/http uses for its own retries. Other requests, such
// as a plain POST, are sent once through base.
//
// New checks every option, those given through Policy included, and
// returns an error naming each bad one; it sends nothing.
func New(base http.RoundTripper, opts ...Option) (*Transport, error) {
	r, err := newRetrier(opts)
	if err != nil {
		return nil, err
	}
	t := &Transport{base: base, r: r}
	t.once.Do(func() {})
	return t, nil
}

// RoundTrip sends req, retrying it as the Transport's policy says, and
// returns the first response that is not retried, or the last one when
// the policy gives up on a retryable status, with its body intact and a
// nil error, as net/http returns a status it does not judge. When every
// attempt failed with an error, the error is a *backoff.GiveUpError that
// wraps the last one and the reason; errors.Is and errors.As see through
// it.
//
// RoundTrip blocks during the waits between attempts. When req's context
// ends, during an attempt or a wait, it returns at once with an error that
// wraps the context's error, and closes any response it holds. A
// context deadline is a limit: when the next wait would pass it, RoundTrip
// returns the last response (or error) without waiting.
//
// Cost: a request that is not retried costs a few map lookups over base;
// one that may be costs about a microsecond and three small allocations
// more, plus, for each retry, draining up to 64 KiB of the discarded body
// and, for a request body, a call of req.GetBody. req is never modified: a
// retry sends a shallow copy with a fresh body.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t == nil {
		closeRequestBody(req)
		return nil, errors.New("httpretry: RoundTrip on a nil *Transport")
	}
	if req == nil {
		return nil, errors.New("httpretry: RoundTrip: request is nil")
	}
	t.once.Do(func() { t.r, t.err = newRetrier(nil) })
	if t.err != nil {
		closeRequestBody(req)
		return nil, t.err
	}
	return t.r.do(req, t.baseTransport().RoundTrip)
}

// CloseIdleConnections closes the idle connections of the base
// RoundTripper, when it has such a method, so that
// [http.Client.CloseIdleConnections] reaches them. It does not block.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.baseTransport().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *Transport) baseTransport() http.RoundTripper {
	if t.base == nil {
		return http.DefaultTransport
	}
	return t.base
}

// closeRequestBody keeps the RoundTripper's promise to close the request
// body even on errors.
func closeRequestBody(req *http.Request) {
	if req != nil && req.Body != nil {
		_ = req.Body.Close()
	}
}
