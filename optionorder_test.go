package backoff_test

// Option order never matters: a job's own options apply wherever they
// stand, and a policy option beside a *Policy applies on top of it, in a
// policy derived for that call; the job's own options never copy it.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

func mustPolicy[T any](t *testing.T, opts ...backoff.Option) *backoff.Policy[T] {
	t.Helper()
	p, err := backoff.NewPolicy[T](opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNonBlockingBeforeAPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.MaxPending(1))
		defer s.Close()
		pol := mustPolicy[int](t, backoff.Constant{Interval: time.Hour})
		mustSubmit(t, s, failing, pol)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := backoff.Submit(ctx, s, failing, backoff.NonBlocking(), pol); !errors.Is(err, backoff.ErrPendingFull) {
			t.Fatalf("NonBlocking before the Policy, at MaxPending: %v; want ErrPendingFull at once", err)
		}
	})
}

func TestGroupBeforeAPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.Workers(8), backoff.GroupLimitFor("db", 1))
		defer s.Close()
		pol := mustPolicy[int](t, backoff.MaxTries(1))
		var mu sync.Mutex
		running, peak := 0, 0
		op := func(context.Context) (int, error) {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Second)
			mu.Lock()
			running--
			mu.Unlock()
			return 1, nil
		}
		var hs []*backoff.Handle[int]
		for range 8 {
			hs = append(hs, mustSubmit(t, s, op, backoff.Group("db"), pol))
		}
		for _, h := range hs {
			expectResult(t, h, 1, backoff.ReasonNone, 0)
		}
		if peak != 1 {
			t.Fatalf("%d attempts of group db ran at once under GroupLimitFor(db, 1)", peak)
		}
	})
}

func TestPolicyOptionBeforeAPolicy(t *testing.T) {
	pol := mustPolicy[int](t, backoff.NoWait{}, backoff.MaxTries(10))
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		calls := 0
		_, err := r.run(t.Context(), func(context.Context) (int, error) { calls++; return 0, errFail }, backoff.MaxTries(3), pol)
		rtWantGiveUp(t, err, backoff.ReasonMaxTries, 3)
		if calls != 3 {
			t.Fatalf("%d calls, want the 3 of MaxTries(3) given before the Policy", calls)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		h := mustSubmit(t, s, failing, backoff.MaxTries(3), pol)
		expectResult(t, h, 0, backoff.ReasonMaxTries, 3)
		// The Policy itself is unchanged.
		expectResult(t, mustSubmit(t, s, failing, pol), 0, backoff.ReasonMaxTries, 10)
	})
}

func TestTwoPoliciesAreAnError(t *testing.T) {
	a, b := mustPolicy[int](t, backoff.MaxTries(2)), mustPolicy[int](t, backoff.MaxTries(3))
	if _, err := backoff.Retry(t.Context(), succeed, a, b); err == nil || !strings.Contains(err.Error(), "Policy") {
		t.Fatalf("two Policies: %v", err)
	}
}

// A job's Name, Group and InitialDelay beside a *Policy are the job's,
// and the policy's own stay the policy's for other jobs.
func TestPerJobOptionsBesideAPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &namesObserver{}
		s := newSched(t, backoff.WithObserver(obs), backoff.GroupLimitFor("mine", 1))
		defer s.Close()
		pol := mustPolicy[int](t, backoff.Name("policy's"), backoff.InitialDelay(time.Second), backoff.MaxTries(1))
		start := time.Now()
		var at []time.Duration
		op := func(context.Context) (int, error) { at = append(at, time.Since(start)); return 1, nil }
		expectResult(t, mustSubmit(t, s, op, pol, backoff.Name("job's"), backoff.InitialDelay(time.Minute), backoff.Group("mine")), 1, backoff.ReasonNone, 0)
		expectResult(t, mustSubmit(t, s, op, pol), 1, backoff.ReasonNone, 0)
		checkTimes(t, at, time.Minute, time.Minute+time.Second)
		if got := strings.Join(obs.names(), ","); got != "job's,policy's" {
			t.Fatalf("names in observations: %s", got)
		}
	})
}

type namesObserver struct {
	mu   sync.Mutex
	seen []string
}

func (o *namesObserver) Observe(ob backoff.Observation) {
	if ob.Kind == backoff.ObserveSuccess {
		o.mu.Lock()
		o.seen = append(o.seen, ob.Name)
		o.mu.Unlock()
	}
}

func (o *namesObserver) names() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

// Retry, Wrap and Attempts refuse the options only a Scheduler takes, and
// ignore a Group that is part of a Policy.
func TestLoopsRefuseSchedulerOptions(t *testing.T) {
	for name, o := range map[string]backoff.Option{"Key": backoff.Key("k"), "NonBlocking": backoff.NonBlocking(),
		"Group": backoff.Group("g"), "Subscribe": backoff.Subscribe()} {
		rtEach(t, func(t *testing.T, r rtRunner[int]) {
			calls := 0
			_, err := r.run(t.Context(), func(context.Context) (int, error) { calls++; return 1, nil }, o)
			if err == nil || !strings.Contains(err.Error(), name) || calls != 0 {
				t.Fatalf("%s: %v after %d calls", name, err, calls)
			}
		})
	}
	grouped := mustPolicy[int](t, backoff.Group("g"))
	rtEach(t, func(t *testing.T, r rtRunner[int]) {
		if v, err := r.run(t.Context(), succeed, grouped); v != 1 || err != nil {
			t.Fatalf("a Policy with a Group: %v, %v", v, err)
		}
	})
}

func TestSubscribeIsForSubmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		defer s.Close()
		if _, err := backoff.SubmitTo(t.Context(), s, succeed, make(chan backoff.Event[int], 1), backoff.Subscribe()); err == nil ||
			!strings.Contains(err.Error(), "Subscribe") {
			t.Fatalf("SubmitTo with Subscribe: %v", err)
		}
	})
}

// A job's own options beside a *Policy allocate no copy of it: a keyed
// SubmitTo costs its record and its side record, where a policy option
// beside the Policy costs a derived policy. (The options themselves are
// made beforehand: Key, whose value is a string, allocates as it is made.)
func TestPerJobOptionsDoNotCopyThePolicy(t *testing.T) {
	s := newSched(t)
	defer s.Close()
	pol := mustPolicy[int](t, backoff.Constant{Interval: time.Hour})
	res := make(chan backoff.Event[int], 1)
	keys := make([]backoff.Option, 2000)
	for i := range keys {
		keys[i] = backoff.Key(fmt.Sprint("k", i))
	}
	i := 0
	submit := func(opts ...backoff.Option) func() {
		opts = append(opts, nil)
		return func() {
			opts[len(opts)-1] = keys[i]
			i++
			if _, err := backoff.SubmitTo(t.Context(), s, failing, res, opts...); err != nil {
				t.Fatal(err)
			}
		}
	}
	plain := testing.AllocsPerRun(500, submit(pol))
	named := testing.AllocsPerRun(500, submit(pol, backoff.Name("n"), backoff.Group("g")))
	derived := testing.AllocsPerRun(500, submit(pol, backoff.MaxTries(3)))
	if plain > 2 || named > 2 || derived <= plain {
		t.Fatalf("allocations per keyed SubmitTo: %.1f with a Policy, %.1f with a Name and a Group too, %.1f with MaxTries too; "+
			"want at most 2 for the first two (job record and side record), several more for a derived policy", plain, named, derived)
	}
}
