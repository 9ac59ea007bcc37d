package httpretry_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/backoff-go/backoff"

	"github.com/backoff-go/backoff/httpretry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memListener is an in-memory network for a testing/synctest bubble: a
// goroutine blocked on a socket is not durably blocked, and would stop the
// bubble's fake time, but one blocked on a net.Pipe or a channel made in
// the bubble is. Dial and Accept meet on a channel.
type memListener struct {
	conns    chan net.Conn
	done     chan struct{}
	once     sync.Once
	accepted atomic.Int64
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		l.accepted.Add(1)
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

func (l *memListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, net.ErrClosed
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "server.test:80" }

// testServer is an httptest server on a memListener, with a base
// transport that dials it. Call it inside a synctest bubble.
type testServer struct {
	*httptest.Server
	ln       *memListener
	base     *http.Transport
	attempts atomic.Int64
	// closes counts response bodies closed by the client.
	closes atomic.Int64
}

// serve starts h, which gets the attempt's number from 1. The server and
// the client's idle connections close when the test ends; a response body
// left open then keeps its connection's goroutines blocked, and the
// bubble fails the test as deadlocked.
func serve(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *testServer {
	t.Helper()
	s := &testServer{ln: newMemListener()}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, int(s.attempts.Add(1)))
	}))
	s.Listener.Close()
	s.Listener = s.ln
	s.Start()
	s.base = &http.Transport{DialContext: s.ln.DialContext}
	t.Cleanup(func() {
		s.base.CloseIdleConnections()
		s.Close()
	})
	return s
}

// countingBase counts response bodies closed, between the base transport
// and the retrying one.
func (s *testServer) countingBase() http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := s.base.RoundTrip(req)
		if resp != nil {
			resp.Body = &countingBody{resp.Body, &s.closes}
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Close() error {
	b.n.Add(1)
	return b.ReadCloser.Close()
}

// transport builds a retrying transport over s.
func (s *testServer) transport(t *testing.T, opts ...httpretry.Option) *httpretry.Transport {
	t.Helper()
	tr, err := httpretry.New(s.countingBase(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

// get sends a GET through tr with ctx.
func get(ctx context.Context, t *testing.T, tr http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.RoundTrip(req)
}

// readAll reads and closes resp's body.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// recorder collects a request's events.
type recorder struct {
	mu     sync.Mutex
	events []backoff.Event[*http.Response]
}

func (r *recorder) options() httpretry.Option {
	add := func(ev backoff.Event[*http.Response]) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
	}
	return httpretry.Policy(backoff.OnBackoff(add), backoff.OnSuccess(add), backoff.OnGiveUp(add))
}

func (r *recorder) waits() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		if ev.Kind == backoff.EventBackoff {
			out = append(out, ev.Wait.String())
		}
	}
	return out
}

func (r *recorder) last() backoff.Event[*http.Response] {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return backoff.Event[*http.Response]{}
	}
	return r.events[len(r.events)-1]
}

func join(s []string) string { return strings.Join(s, " ") }

// reply writes a response with the given status and header fields; a
// field with an empty value is removed, which for Date keeps net/http
// from adding one.
func reply(w http.ResponseWriter, code int, body string, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			w.Header()[kv[i]] = nil
			continue
		}
		w.Header().Set(kv[i], kv[i+1])
	}
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// sleep stalls a handler for d, or until its client hangs up.
func sleep(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}
