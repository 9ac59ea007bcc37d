package backoff_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// MaxPending bounds the jobs a scheduler holds: past it a NonBlocking
// submit fails fast, a blocking one waits for a job to end, for its ctx,
// or for the scheduler to stop.
func TestMaxPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.MaxPending(2))
		defer s.Close()
		slow := []backoff.Option{backoff.Constant{Interval: time.Minute}, backoff.NoJitter, backoff.MaxTries(2)}
		res := make(chan backoff.Event[int], 10)
		for range 2 {
			if _, err := backoff.SubmitTo(t.Context(), s, failing, res, slow...); err != nil {
				t.Fatal(err)
			}
		}
		_, err := backoff.SubmitTo(t.Context(), s, failing, res, append(slow, backoff.NonBlocking())...)
		if !errors.Is(err, backoff.ErrPendingFull) {
			t.Fatalf("NonBlocking past MaxPending: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := backoff.Submit(ctx, s, failing, slow...); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("blocking Submit past MaxPending, ctx ended: %v", err)
		}
		// A blocking submit gets in when a job ends: the first two end a
		// minute after they started.
		start := time.Now()
		h, err := backoff.Submit(t.Context(), s, succeed)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Minute-time.Second {
			t.Fatalf("blocked Submit got in after %v, want when the first jobs ended", d)
		}
		if _, err := h.Result(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The other first job ends at the same instant, maybe after this
		// one: a job's MaxPending slot is free before its end is seen.
		synctest.Wait()
		st := s.Stats()
		if st.Rejected != 1 || st.Submitted != 3 || st.GaveUpBy[backoff.ReasonMaxTries] != 2 || st.Succeeded != 1 {
			t.Fatalf("stats = %+v", st)
		}
		// At the cap again, a blocked submit fails with ErrClosed once the
		// scheduler begins to stop.
		for range 2 {
			if _, err := backoff.SubmitTo(t.Context(), s, failing, res, slow...); err != nil {
				t.Fatal(err)
			}
		}
		blocked := make(chan error)
		go func() {
			_, err := backoff.Submit(t.Context(), s, succeed)
			blocked <- err
		}()
		synctest.Wait()
		go s.Close()
		if err := <-blocked; !errors.Is(err, backoff.ErrClosed) {
			t.Fatalf("blocked Submit during Close: %v", err)
		}
	})
}

// A burst of one group cannot take every worker: with GroupLimit(1), the
// other group's jobs run beside it, and no group ever has more attempts
// in flight than its limit.
func TestGroupLimitFairness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(4), backoff.GroupLimit(1), backoff.GroupLimitFor("b", 2))
		defer s.Close()
		var mu sync.Mutex
		running, peak := map[string]int{}, map[string]int{}
		var order []string
		op := func(group string) func(context.Context) (int, error) {
			return func(context.Context) (int, error) {
				mu.Lock()
				running[group]++
				peak[group] = max(peak[group], running[group])
				order = append(order, group)
				mu.Unlock()
				time.Sleep(time.Second)
				mu.Lock()
				running[group]--
				mu.Unlock()
				return 1, nil
			}
		}
		res := make(chan backoff.Event[int], 64)
		n := 0
		for _, g := range []string{"a", "b", "free"} {
			for range 10 {
				opts := []backoff.Option{}
				if g != "free" {
					opts = append(opts, backoff.Group(g))
				}
				if _, err := backoff.SubmitTo(t.Context(), s, op(g), res, opts...); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		synctest.Wait()
		if st := s.Stats(); st.Held != 9+8 {
			t.Fatalf("held = %d, want 17 (9 of a, 8 of b)", st.Held)
		}
		for range n {
			if ev := <-res; ev.Kind != backoff.EventSuccess {
				t.Fatalf("event %+v", ev)
			}
		}
		if peak["a"] != 1 || peak["b"] != 2 {
			t.Fatalf("peak in flight: %v, want a 1, b 2", peak)
		}
		// Group a got a worker in the first round, not after b and free.
		if i := slices.Index(order, "a"); i < 0 || i > 3 {
			t.Fatalf("order of attempts %v: a waited behind the others", order)
		}
		if st := s.Stats(); st.Held != 0 || st.Succeeded != uint64(n) {
			t.Fatalf("stats after = %+v", st)
		}
	})
}

// A job held by its group's limit still stops at once: Cancel, its
// context's end and Close all end it without waiting for its turn.
func TestGroupLimitHeldJobsStopAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupLimit(1))
		release := make(chan struct{})
		var calls atomic.Int32
		blocker := func(ctx context.Context) (int, error) {
			calls.Add(1)
			select {
			case <-release:
				return 1, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		first, err := backoff.Submit(t.Context(), s, blocker, backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		canceled, err := backoff.Submit(t.Context(), s, blocker, backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		ctxEnded, err := backoff.Submit(ctx, s, blocker, backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		closed, err := backoff.Submit(t.Context(), s, blocker, backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := s.Stats(); st.Held != 3 || calls.Load() != 1 {
			t.Fatalf("held = %d, calls = %d; want 3 held behind one running", st.Held, calls.Load())
		}
		canceled.Cancel()
		_, err = canceled.Result(t.Context())
		giveUp(t, err, backoff.ReasonCanceled)
		cancel()
		_, err = ctxEnded.Result(t.Context())
		giveUp(t, err, backoff.ReasonContext)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err = closed.Result(t.Context())
		giveUp(t, err, backoff.ReasonClosed)
		_, err = first.Result(t.Context())
		giveUp(t, err, backoff.ReasonClosed)
		close(release)
		if calls.Load() != 1 {
			t.Fatalf("%d calls: a held job ran its op", calls.Load())
		}
	})
}

func TestGroupLimitBadInput(t *testing.T) {
	for _, tc := range []struct {
		opt  backoff.SchedulerOption
		want string
	}{
		{backoff.GroupLimit(0), "backoff: GroupLimit must be >= 1"},
		{backoff.GroupLimitFor("x", 0), `backoff: GroupLimitFor("x") must be >= 1`},
		{backoff.GroupLimitFor("", 1), "backoff: GroupLimitFor: name is empty"},
		{backoff.MaxPending(0), "backoff: MaxPending must be >= 1"},
	} {
		if _, err := backoff.NewScheduler(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if _, err := backoff.NewPolicy[int](backoff.Group("")); err == nil || !strings.Contains(err.Error(), "backoff: Group: name is empty") {
		t.Errorf("Group(\"\"): %v", err)
	}
}

// An op that ignores its context holds a worker past its AttemptTimeout:
// the scheduler counts it while it runs and logs it once; an op that
// honours its context is not counted.
func TestOverdueAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := newRecHandler(slog.LevelWarn)
		s := newSched(t, backoff.WithLogger(slog.New(logs)))
		defer s.Close()
		deaf, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			time.Sleep(time.Minute)
			return 1, nil
		}, backoff.AttemptTimeout(10*time.Second), backoff.Name("deaf"))
		if err != nil {
			t.Fatal(err)
		}
		polite, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		}, backoff.AttemptTimeout(10*time.Second), backoff.MaxTries(1))
		if err != nil {
			t.Fatal(err)
		}
		// The grace is the timeout, at most a second.
		time.Sleep(10*time.Second + 900*time.Millisecond)
		if st := s.Stats(); st.Overdue != 0 {
			t.Fatalf("overdue = %d within the grace", st.Overdue)
		}
		time.Sleep(200 * time.Millisecond)
		if st := s.Stats(); st.Overdue != 1 || st.OverdueTotal != 1 || st.Running != 1 {
			t.Fatalf("stats = %+v, want the deaf op overdue and running", st)
		}
		if _, err := polite.Result(t.Context()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("polite: %v", err)
		}
		if _, err := deaf.Result(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Overdue != 0 || st.OverdueTotal != 1 {
			t.Fatalf("after: %+v", st)
		}
		var overdue []slog.Record
		for _, r := range logs.records() {
			if strings.Contains(r.Message, "running past its timeout") {
				overdue = append(overdue, r)
			}
		}
		if len(overdue) != 1 || recAttrs(overdue[0])["name"] != "deaf" {
			t.Fatalf("logged %v, want one overdue warning, for the deaf op", logs.lines())
		}
	})
}
