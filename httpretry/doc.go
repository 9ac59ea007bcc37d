// Package httpretry retries HTTP requests with the policies of package
// backoff: a [Transport] for an [http.Client], and [Do] for one request.
//
//	tr, err := httpretry.New(http.DefaultTransport,
//		httpretry.MaxRetryAfter(30*time.Second),
//		httpretry.Policy(
//			backoff.MaxTries(5),
//			backoff.OnBackoff(func(ev backoff.Event[*http.Response]) {
//				log.Printf("retrying in %v: %v", ev.Wait, ev.Err)
//			}),
//		),
//	)
//	if err != nil {
//		return err
//	}
//	client := &http.Client{Transport: tr}
//	resp, err := client.Get("https://example.com/") // retried on 429, 502, 503, 504 and transport errors
//	if err != nil {
//		return err
//	}
//	defer resp.Body.Close()
//
// What is retried: requests that may be sent twice (GET, HEAD, OPTIONS,
// TRACE, PUT, DELETE, a request with an Idempotency-Key header, or one whose
// context says so with [Idempotent]), after a transport error or a status
// in [Statuses]. The caller's context ending is never retried: it ends the
// request at once, during an attempt or a wait.
//
// How long it waits: the server's Retry-After, in seconds or as an
// HTTP-date read against the response's Date header, is honoured as given,
// without jitter, up to a cap ([MaxRetryAfter], a minute by default);
// without one, the policy's strategy waits, jittered.
//
// What the caller gets: the first response that is not retried; when the
// policy gives up on a retryable status, the last response with its body
// intact, as net/http would return it; otherwise an error. Request bodies
// are sent again through Request.GetBody, and a body that cannot be is
// not retried ([ErrBodyNotRewindable]). The body of every response that is
// retried is drained (up to 64 KiB) and closed, so its connection is
// reused.
//
// Everything else is package backoff's, given through [Policy]: limits,
// strategies, handlers typed on *http.Response, logging, observers, a
// shared retry budget and the clock.
package httpretry
