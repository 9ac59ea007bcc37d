package httpretry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
)

// ErrBodyNotRewindable is in the error chain when a request that would be
// retried is not, because its body was sent and cannot be sent again: the
// request has a Body but no GetBody. http.NewRequest sets GetBody for
// bodies from a *bytes.Buffer, *bytes.Reader or *strings.Reader; for
// others, set it to return a fresh copy of the body.
var ErrBodyNotRewindable = errors.New("httpretry: request body cannot be sent again (Request.GetBody is nil)")

// StatusError is the error of an attempt whose response has a status the
// transport retries. Handlers and GiveUp predicates see it: an OnBackoff
// event's Err is one, and backoff.GiveUp can test it with errors.As to
// stop retrying a status.
type StatusError struct {
	// Response is the attempt's response. Read its status and header
	// only: its body belongs to the transport, which drains and closes it
	// before the next attempt, or returns it to the caller.
	Response *http.Response
}

func (e *StatusError) Error() string {
	if e.Response == nil {
		return "httpretry: retryable status"
	}
	status := e.Response.Status
	if status == "" {
		status = strconv.Itoa(e.Response.StatusCode) + " " + http.StatusText(e.Response.StatusCode)
	}
	if req := e.Response.Request; req != nil && req.URL != nil {
		method := req.Method
		if method == "" {
			method = http.MethodGet
		}
		return "httpretry: " + method + " " + req.URL.Redacted() + ": " + status
	}
	return "httpretry: " + status
}

// retryable reports whether an attempt's error may pass if tried again.
// A certificate the client rejects, or a server that speaks plain HTTP to
// an HTTPS request, will fail the same way every time.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return true
	}
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		host      x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &authority), errors.As(err, &host), errors.As(err, &invalid):
		return false
	case errors.Is(err, http.ErrSchemeMismatch):
		return false
	}
	return true
}
