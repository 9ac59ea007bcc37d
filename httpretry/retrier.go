package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/backoff-go/backoff"
)

// retrier is what a Transport and Do share: checked settings and one
// backoff loop, built once. It is immutable, so safe for concurrent use.
type retrier struct {
	statuses      statusSet
	maxRetryAfter time.Duration
	// run is backoff.Wrap of attempt: the options are resolved once, and
	// each call carries its request in the context (see call).
	run func(context.Context) (*http.Response, error)
}

func newRetrier(opts []Option) (*retrier, error) {
	s := defaultSettings()
	for i, o := range opts {
		if o == nil {
			s.fail("option %d is nil", i)
			continue
		}
		o.apply(&s)
	}
	r := &retrier{statuses: s.statuses, maxRetryAfter: s.maxRetryAfter}
	r.run = backoff.Wrap(r.attempt, s.backoffOptions(r)...) //nolint:bodyclose // a function, not a response
	if err := checkWrapped(r.run); err != nil {
		s.errs = append(s.errs, fmt.Errorf("httpretry: Policy: %w", err))
	}
	if len(s.errs) > 0 {
		return nil, errors.Join(s.errs...)
	}
	return r, nil
}

// backoffOptions lists the options of the loop: the defaults, unless the
// user gave a *backoff.Policy, which is complete; then the user's, which
// override the defaults; then the transport's own. Waits from Retry-After
// (the Runtime) are not jittered; the strategy's are.
func (s *settings) backoffOptions(r *retrier) []backoff.Option {
	opts := make([]backoff.Option, 0, len(s.policy)+6)
	if !slices.ContainsFunc(s.policy, isPolicy) {
		opts = append(opts, backoff.MaxTries(DefaultMaxTries), defaultStrategy, backoff.Name("httpretry"))
	}
	opts = append(opts, s.policy...)
	return append(opts,
		backoff.Runtime(r.retryAfter),
		backoff.RetryIf(retryable),
		backoff.OnBackoff(discardResponse),
	)
}

func isPolicy(o backoff.Option) bool {
	_, ok := o.(*backoff.Policy[*http.Response])
	return ok
}

// nilCtxErr is what a Wrap function with good options returns for a nil
// context, found by asking one that has no options at all.
var nilCtxErr = sync.OnceValue(func() string {
	var none context.Context
	_, err := backoff.Wrap(func(context.Context) (struct{}, error) { return struct{}{}, nil })(none)
	if err == nil {
		return ""
	}
	return err.Error()
})

// checkWrapped returns the error of bad options given to backoff.Wrap.
// Wrap reports them from each call rather than at once, and backoff's
// NewPolicy, which would, refuses the per-call WithClock; so the function
// is called with a nil context, which it refuses without running anything:
// with bad options, the options' error comes first.
func checkWrapped(run func(context.Context) (*http.Response, error)) error {
	var none context.Context
	_, err := run(none) //nolint:bodyclose // a nil context gets no response
	if err == nil || err.Error() == nilCtxErr() {
		return nil
	}
	return err
}

// call is one request on its way through the loop. It rides in the
// context that the loop hands to each attempt.
type call struct {
	ctx    context.Context // the loop's context, which carries the call
	req    *http.Request
	send   func(*http.Request) (*http.Response, error)
	rewind bool // the body can be sent again
	tries  int
	// lastErr is the last attempt's error, kept unwrapped: nil when its
	// response is not retried by status.
	lastErr error
}

type callKey struct{}

// retryable reports whether req may be sent more than once.
func retryableRequest(req *http.Request) bool {
	if safe, ok := req.Context().Value(idempotentKey{}).(bool); ok {
		return safe
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	// The same rule as net/http's own replaying of requests: the key's
	// presence counts, even with no value.
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// do sends req with send, retrying as the policy says when req may be
// sent more than once; other requests are sent once, untouched.
func (r *retrier) do(req *http.Request, send func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	// A request without a URL fails before it is sent, the same way each
	// time: send it once, for send's own error.
	if req.URL == nil || !retryableRequest(req) {
		return send(req)
	}
	c := &call{
		req:    req,
		send:   send,
		rewind: req.Body == nil || req.Body == http.NoBody || req.GetBody != nil,
	}
	c.ctx = context.WithValue(req.Context(), callKey{}, c)
	resp, err := r.run(c.ctx)
	return c.result(resp, err)
}

// result turns the loop's outcome into a RoundTripper's: a response, or
// an error, never both. A response the server gave is returned when the
// loop gave up on it, as net/http returns a status it does not like;
// when the caller's context ended, or a handler panicked, it is closed
// and the error returned instead.
func (c *call) result(resp *http.Response, err error) (*http.Response, error) {
	if resp != nil {
		switch {
		case isDiscarded(resp):
			// Drained before a wait that ended the loop (the context, or a
			// budget that had no room after the wait).
		case c.lastErr != nil && (c.ctx.Err() != nil || errors.Is(err, backoff.ReasonPanic)):
			_ = resp.Body.Close()
		default:
			return resp, nil
		}
	}
	if err == nil {
		// backoff.ErrorOnGiveUp(false) hides the error, but a
		// RoundTripper must return a response or an error.
		err = c.lastErr
	}
	if err == nil {
		err = errors.New("httpretry: gave up without a response")
	}
	return nil, err
}

// attempt is the loop's operation: one send of the call in ctx.
func (r *retrier) attempt(ctx context.Context) (*http.Response, error) {
	c, ok := ctx.Value(callKey{}).(*call)
	if !ok {
		return nil, backoff.Permanent(errors.New("httpretry: attempt without a request"))
	}
	c.tries++
	c.lastErr = nil
	req := c.req
	if c.tries > 1 {
		var err error
		if req, err = c.rewound(); err != nil {
			c.lastErr = err
			return nil, backoff.Permanent(err)
		}
	}
	resp, err := c.sendIn(ctx, req)
	if err != nil && resp != nil {
		// Only http.Client.Do returns both, when CheckRedirect refuses a
		// redirect, with the body closed; it would refuse it again.
		c.lastErr = err
		return nil, backoff.Permanent(err)
	}
	if err != nil {
		c.lastErr = err
		if !c.rewind && retryable(err) {
			return nil, backoff.Permanent(fmt.Errorf("%w: %w", ErrBodyNotRewindable, err))
		}
		return nil, err
	}
	if !r.statuses.has(resp.StatusCode) {
		return resp, nil
	}
	se := &StatusError{Response: resp}
	c.lastErr = se
	if !c.rewind {
		return resp, backoff.Permanent(fmt.Errorf("%w: %w", ErrBodyNotRewindable, se))
	}
	return resp, se
}

// rewound is the request for a retry: a shallow copy with a fresh body,
// as net/http makes for its own retries, so the caller's request is never
// modified.
func (c *call) rewound() (*http.Request, error) {
	if c.req.Body == nil || c.req.Body == http.NoBody {
		return c.req, nil
	}
	if c.req.GetBody == nil {
		return nil, ErrBodyNotRewindable
	}
	body, err := c.req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("httpretry: Request.GetBody: %w", err)
	}
	r2 := *c.req
	r2.Body = body
	return &r2, nil
}

// sendIn sends req within the attempt's context actx. Without
// AttemptTimeout that is the request's own context. With it, actx ends as
// soon as the attempt returns, which would cut off the body the caller
// has yet to read; so the request runs on a context of its own that actx
// cancels only until the response headers arrive, and that closing the
// body releases.
func (c *call) sendIn(actx context.Context, req *http.Request) (*http.Response, error) {
	if actx == c.ctx {
		return c.send(req)
	}
	rctx, cancel := context.WithCancel(c.ctx)
	stop := context.AfterFunc(actx, cancel)
	resp, err := c.send(req.WithContext(rctx))
	if err != nil {
		stop()
		cancel()
		return resp, err
	}
	if !stop() {
		// The attempt timed out as the headers arrived: the body is cut off.
		_ = resp.Body.Close()
		cancel()
		return nil, context.Cause(actx)
	}
	if rw, ok := resp.Body.(io.ReadWriteCloser); ok {
		resp.Body = &cancelRWBody{rw, cancel} // keep a 101 Switching Protocols body writable
	} else {
		resp.Body = &cancelBody{resp.Body, cancel}
	}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

type cancelRWBody struct {
	io.ReadWriteCloser
	cancel context.CancelFunc
}

func (b *cancelRWBody) Close() error {
	err := b.ReadWriteCloser.Close()
	b.cancel()
	return err
}

// retryAfter is the loop's Runtime: the server's Retry-After, capped, or
// the strategy's wait when there is none or it cannot be read. An
// HTTP-date is read against the response's Date header, so that a skew
// between the server's clock and ours does not change the wait, and
// against time.Now without one.
func (r *retrier) retryAfter(resp *http.Response, _ error) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	now, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		now = time.Now()
	}
	d, err := backoff.ParseRetryAfter(v, now)
	if err != nil {
		return 0, false
	}
	return min(d, r.maxRetryAfter), true
}

// discardResponse is the last OnBackoff handler: the response will not
// reach the caller, so its body is drained, to let the connection carry
// the next request, and closed. A body longer than maxDrain is closed
// unread past that point, which costs its connection.
func discardResponse(ev backoff.Event[*http.Response]) {
	resp := ev.Value
	if resp == nil || resp.Body == nil || isDiscarded(resp) {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	_ = resp.Body.Close()
	resp.Body = discardedBody{}
}

// discardedBody replaces the body of a discarded response, which the
// caller never gets but handlers may still see.
type discardedBody struct{}

func (discardedBody) Read([]byte) (int, error) {
	return 0, errors.New("httpretry: the body of a retried response was discarded")
}

func (discardedBody) Close() error { return nil }

func isDiscarded(resp *http.Response) bool {
	_, ok := resp.Body.(discardedBody)
	return ok
}
