package backoff_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// starts records when attempts start, as offsets from a test's start on
// the bubble's clock.
type starts struct {
	t0 time.Time
	mu sync.Mutex
	at []time.Duration
	by map[int][]time.Duration // by job
}

func newStarts() *starts { return &starts{t0: time.Now(), by: map[int][]time.Duration{}} }

func (s *starts) add(job int) time.Duration {
	d := time.Since(s.t0)
	s.mu.Lock()
	s.at = append(s.at, d)
	s.by[job] = append(s.by[job], d)
	s.mu.Unlock()
	return d
}

func (s *starts) of(job int) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.by[job])
}

// checkRate fails if some window [t, t+w) that opens at an attempt's start
// holds more than burst + perSecond·w attempts, for each w.
func checkRate(t *testing.T, at []time.Duration, perSecond float64, burst int, ws ...time.Duration) {
	t.Helper()
	at = slices.Clone(at)
	slices.Sort(at)
	for _, w := range ws {
		most := burst + int(math.Floor(perSecond*w.Seconds()+1e-9))
		j := 0
		for i, s := range at {
			for j < len(at) && at[j] < s+w {
				j++
			}
			if n := j - i; n > most {
				t.Fatalf("%d attempts in [%v, %v), at most %d at %v/s with burst %d", n, s, s+w, most, perSecond, burst)
			}
		}
	}
}

// 10,000 jobs of one group fall due at once under 100/s with bursts of 10:
// no window between attempt starts holds more than the bucket allows, the
// long-run rate is 100/s, tokens go in the order the jobs fell due, and
// every job ends once. Held jobs take no worker.
func TestGroupRateBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, perSecond, burst = 10_000, 100.0, 10
		s := newSched(t, backoff.Workers(4), backoff.GroupRateFor("api", perSecond, burst))
		defer s.Close()
		st := newStarts()
		res := make(chan backoff.Event[int], n)
		ids := make([]uint64, n)
		for i := range n {
			id, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				st.add(i)
				return i, nil
			}, res, backoff.Group("api"))
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = id
		}
		synctest.Wait()
		if got := s.Stats(); got.RateHeld != n-burst || got.Held != 0 || got.Running != 0 || got.Ready != 0 {
			t.Fatalf("after the burst: %+v, want %d rate-held and nothing running", got, n-burst)
		}
		ended := map[uint64]int{}
		for range n {
			ev := <-res
			if ev.Kind != backoff.EventSuccess {
				t.Fatalf("event %+v", ev)
			}
			ended[ev.ID]++
		}
		for i, id := range ids {
			if ended[id] != 1 {
				t.Fatalf("job %d ended %d times", i, ended[id])
			}
		}
		synctest.Wait()
		if got := s.Stats(); got.RateHeld != 0 || got.Pending != 0 || got.Attempts != n {
			t.Fatalf("after: %+v", got)
		}
		checkRate(t, st.at, perSecond, burst, time.Nanosecond, time.Millisecond, 10*time.Millisecond,
			95*time.Millisecond, 100*time.Millisecond, time.Second, 10*time.Second)
		first, last := slices.Min(st.at), slices.Max(st.at)
		if got := float64(n-burst) / (last - first).Seconds(); math.Abs(got-perSecond) > perSecond/100 {
			t.Fatalf("long-run rate %.2f/s, want %v/s within 1%%", got, perSecond)
		}
		for i := 1; i < n; i++ {
			if a, b := st.of(i - 1)[0], st.of(i)[0]; b < a {
				t.Fatalf("job %d started at %v, before job %d at %v", i, b, i-1, a)
			}
		}
	})
}

// A group without a rate is never delayed by another group's; GroupRate
// is every named group's default, and SetGroupRate gives one group a rate
// of its own.
func TestGroupRateOtherGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupRateFor("slow", 1, 1))
		defer s.Close()
		st := newStarts()
		res := make(chan backoff.Event[int], 20)
		for i := range 20 {
			group := "slow"
			if i%2 == 1 {
				group = "free"
			}
			if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				st.add(i)
				return i, nil
			}, res, backoff.Group(group)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		for i := 1; i < 20; i += 2 {
			if at := st.of(i); len(at) != 1 || at[0] != 0 {
				t.Fatalf("job %d of the unrated group started at %v, want at once", i, at)
			}
		}
		if got := s.Stats().RateHeld; got != 9 {
			t.Fatalf("rate-held %d, want 9", got)
		}
		for range 20 {
			<-res
		}
		if at := st.of(18); at[0] != 9*time.Second {
			t.Fatalf("the last slow job started at %v, want 9s", at[0])
		}
	})
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupRate(1, 1))
		defer s.Close()
		if err := s.SetGroupRate("fast", 1000, 10); err != nil {
			t.Fatal(err)
		}
		st := newStarts()
		res := make(chan backoff.Event[int], 20)
		for i := range 20 {
			group := []string{"a", "fast"}[i%2]
			if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				st.add(i)
				return i, nil
			}, res, backoff.Group(group)); err != nil {
				t.Fatal(err)
			}
		}
		for range 20 {
			<-res
		}
		if a, fast := st.of(18)[0], st.of(19)[0]; a != 9*time.Second || fast >= 10*time.Millisecond {
			t.Fatalf("last of a at %v (want 9s under the default), last of fast at %v (want within 10ms)", a, fast)
		}
	})
}

// Every attempt takes a token: a retry with no wait goes back for one
// rather than running on in place, and Trigger makes a job due, not
// exempt.
func TestGroupRateTriggerAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupRate(0.5, 1))
		defer s.Close()
		st := newStarts()
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) {
			st.add(0)
			return 0, errFail
		}, backoff.NoWait{}, backoff.MaxTries(4), backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		giveUp(t, err, backoff.ReasonMaxTries)
		if got, want := st.of(0), []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}; !slices.Equal(got, want) {
			t.Fatalf("retries with no wait started at %v, want %v", got, want)
		}

		// The bucket is full again (1 token) at 8s.
		time.Sleep(2 * time.Second)
		st = newStarts()
		if _, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) {
			st.add(1)
			return 0, errFail
		}, backoff.Constant{Interval: time.Hour}, backoff.NoJitter, backoff.Key("k"), backoff.Group("g")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if !s.Trigger("k") {
			t.Fatal("Trigger found no job")
		}
		synctest.Wait()
		if got := st.of(1); len(got) != 1 {
			t.Fatalf("a Trigger 1s after the last token ran the job at once: %v", got)
		}
		if got := s.Stats().RateHeld; got != 1 {
			t.Fatalf("rate-held %d after the Trigger, want 1", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got, want := st.of(1), []time.Duration{0, 2 * time.Second}; !slices.Equal(got, want) {
			t.Fatalf("triggered job started at %v, want %v (its token)", got, want)
		}
	})
}

// A rate-held job that is stopped (Handle.Cancel, Scheduler.Cancel, its
// context's end) ends at once and uses no token: the next held job takes
// the token when it comes. Close ends the rest at once.
func TestGroupRateStopHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupRateFor("g", 1, 1))
		st := newStarts()
		var calls atomic.Int32
		op := func(i int) func(context.Context) (int, error) {
			return func(context.Context) (int, error) {
				calls.Add(1)
				st.add(i)
				return i, nil
			}
		}
		submit := func(ctx context.Context, i int, opts ...backoff.Option) *backoff.Handle[int] {
			h, err := backoff.Submit(ctx, s, op(i), append(opts, backoff.Group("g"))...)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		first := submit(t.Context(), 0)
		canceled := submit(t.Context(), 1)
		keyed := submit(t.Context(), 2, backoff.Key("k"))
		ctx, cancel := context.WithCancel(t.Context())
		ctxEnded := submit(ctx, 3)
		next := submit(t.Context(), 4)
		closed := []*backoff.Handle[int]{submit(t.Context(), 5), submit(t.Context(), 6)}
		if _, err := first.Result(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := s.Stats().RateHeld; got != 6 {
			t.Fatalf("rate-held %d, want 6", got)
		}
		time.Sleep(500 * time.Millisecond)
		canceled.Cancel()
		_, err := canceled.Result(t.Context())
		giveUp(t, err, backoff.ReasonCanceled)
		if !s.Cancel("k") {
			t.Fatal("Cancel found no job")
		}
		_, err = keyed.Result(t.Context())
		giveUp(t, err, backoff.ReasonCanceled)
		cancel()
		_, err = ctxEnded.Result(t.Context())
		giveUp(t, err, backoff.ReasonContext)
		if d := time.Since(st.t0); d != 500*time.Millisecond {
			t.Fatalf("stopped held jobs ended at %v, want at once (500ms)", d)
		}
		if got := s.Stats().RateHeld; got != 3 {
			t.Fatalf("rate-held %d after three stops, want 3", got)
		}
		if _, err := next.Result(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := st.of(4); !slices.Equal(got, []time.Duration{time.Second}) {
			t.Fatalf("the job after the stopped ones started at %v, want at the next token, 1s", got)
		}
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(st.t0); d != time.Second {
			t.Fatalf("Close returned at %v, want at once (1s)", d)
		}
		for _, h := range closed {
			_, err := h.Result(t.Context())
			giveUp(t, err, backoff.ReasonClosed)
		}
		if calls.Load() != 2 {
			t.Fatalf("%d calls, want 2: a stopped held job ran its op", calls.Load())
		}
		if got := s.Stats(); got.RateHeld != 0 || got.Pending != 0 {
			t.Fatalf("after Close: %+v", got)
		}
	})
}

// Shutdown lets rate-held jobs wait for their tokens and run; when its
// context ends first, the rest end at once. None is lost either way.
func TestGroupRateShutdown(t *testing.T) {
	for _, wait := range []time.Duration{time.Hour, 2500 * time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			const n = 6
			s := newSched(t, backoff.GroupRate(1, 1))
			res := make(chan backoff.Event[int], n)
			var calls atomic.Int32
			for i := range n {
				if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
					calls.Add(1)
					return i, nil
				}, res, backoff.Group("g")); err != nil {
					t.Fatal(err)
				}
			}
			synctest.Wait()
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			err := s.Shutdown(ctx)
			took := time.Since(t0)
			ran := int(calls.Load())
			if wait == time.Hour {
				if err != nil || took != (n-1)*time.Second || ran != n {
					t.Fatalf("Shutdown: %v after %v with %d run, want nil after %v with all run", err, took, ran, (n-1)*time.Second)
				}
			} else if !errors.Is(err, context.DeadlineExceeded) || took != wait || ran != 3 {
				t.Fatalf("Shutdown: %v after %v with %d run, want the deadline after %v with 3 run", err, took, ran, wait)
			}
			// A Shutdown that gave up sends nothing more: the held jobs'
			// ends are discarded, and counted.
			synctest.Wait()
			succeeded := 0
			for len(res) > 0 {
				if ev := <-res; ev.Kind == backoff.EventSuccess {
					succeeded++
				} else {
					t.Fatalf("event %+v", ev)
				}
			}
			st := s.Stats()
			if succeeded != ran || int(st.Discarded) != n-ran || st.Pending != 0 || st.RateHeld != 0 {
				t.Fatalf("after Shutdown: %d succeeded of %d run; %+v", succeeded, ran, st)
			}
		})
	}
}

// SetGroupRate takes effect at the next token: lowering the rate pushes
// back the token a held job waits for, raising it brings it forward.
func TestSetGroupRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupRateFor("g", 10, 1))
		defer s.Close()
		st := newStarts()
		res := make(chan backoff.Event[int], 40)
		for i := range 40 {
			if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				st.add(i)
				return i, nil
			}, res, backoff.Group("g")); err != nil {
				t.Fatal(err)
			}
		}
		// Tokens every 100ms; at 1.05s the bucket holds half a token, and
		// at 2/s the next whole one comes 250ms later, then every 500ms.
		time.Sleep(1050 * time.Millisecond)
		if err := s.SetGroupRate("g", 2, 1); err != nil {
			t.Fatal(err)
		}
		// At 2.05s the bucket holds half a token again (since 1.8s), and at
		// 100/s the rest comes 5ms later, then one every 10ms.
		time.Sleep(time.Second)
		if err := s.SetGroupRate("g", 100, 1); err != nil {
			t.Fatal(err)
		}
		for range 40 {
			<-res
		}
		ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
		var want []time.Duration
		for i := range 11 {
			want = append(want, ms(100*float64(i)))
		}
		want = append(want, ms(1300), ms(1800))
		for i := range 40 - len(want) {
			want = append(want, ms(2055+10*float64(i)))
		}
		for i, w := range want {
			got := st.of(i)[0]
			if d := got - w; d < 0 || d > time.Microsecond {
				t.Fatalf("job %d started at %v, want %v", i, got, w)
			}
		}
	})
}

// Time held counts towards MaxTime: a job whose MaxTime ran out while it
// was held ends with ReasonMaxTime when its token comes, without calling
// its op or using the token, which the next held job takes.
func TestGroupRateMaxTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupRate(0.1, 1))
		defer s.Close()
		st := newStarts()
		h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) {
			st.add(0)
			return 0, errFail
		}, backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTime(5*time.Second), backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		next, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) {
			st.add(1)
			return 1, nil
		}, backoff.Group("g"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(t.Context())
		ge := giveUp(t, err, backoff.ReasonMaxTime)
		if ge.Tries != 1 || ge.Elapsed != 10*time.Second || !errors.Is(err, errFail) {
			t.Fatalf("give-up %+v, want 1 try, 10s elapsed and the last error", ge)
		}
		if got := st.of(0); len(got) != 1 {
			t.Fatalf("the expired job ran at %v", got)
		}
		if _, err := next.Result(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := st.of(1); !slices.Equal(got, []time.Duration{10 * time.Second}) {
			t.Fatalf("the next job started at %v, want 10s: the expired job took the token", got)
		}
	})
}

// With GroupLimit and GroupRate, a job takes a slot and a token together:
// jobs held for a slot that a slow op keeps spend no tokens meanwhile.
func TestGroupRateWithLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, backoff.GroupLimit(1), backoff.GroupRate(1, 1))
		defer s.Close()
		st := newStarts()
		res := make(chan backoff.Event[int], 3)
		for i, d := range []time.Duration{10 * time.Second, 0, 0} {
			if _, err := backoff.SubmitTo(t.Context(), s, func(context.Context) (int, error) {
				st.add(i)
				time.Sleep(d)
				return i, nil
			}, res, backoff.Group("g")); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Second)
		if got := s.Stats(); got.Held != 2 || got.RateHeld != 0 {
			t.Fatalf("behind the slow op: held %d, rate-held %d; want 2 held by the limit", got.Held, got.RateHeld)
		}
		for range 3 {
			<-res
		}
		if a, b := st.of(1), st.of(2); !slices.Equal(a, []time.Duration{10 * time.Second}) || !slices.Equal(b, []time.Duration{11 * time.Second}) {
			t.Fatalf("held jobs started at %v and %v, want 10s and 11s: a token each", a, b)
		}
	})
}

// GroupLimit and GroupRate under churn: ops of random lengths, retries
// with and without waits. In flight never passes the limit, attempt
// starts never pass the rate, and every job ends once.
func TestGroupRateWithLimitChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, limit, perSecond, burst = 400, 3, 5.0, 2
		s := newSched(t, backoff.Workers(8), backoff.GroupLimitFor("g", limit), backoff.GroupRateFor("g", perSecond, burst))
		defer s.Close()
		st := newStarts()
		var (
			mu             sync.Mutex
			inFlight, peak int
		)
		res := make(chan backoff.Event[int], n)
		for i := range n {
			tries := 0
			op := func(context.Context) (int, error) {
				st.add(i)
				mu.Lock()
				inFlight++
				peak = max(peak, inFlight)
				mu.Unlock()
				time.Sleep(time.Duration(i*7919%500) * time.Millisecond)
				mu.Lock()
				inFlight--
				mu.Unlock()
				tries++
				if tries < 1+i%3 {
					return 0, errFail
				}
				return i, nil
			}
			var wait backoff.Option = backoff.NoWait{}
			if i%2 == 0 {
				wait = backoff.Constant{Interval: time.Duration(i%5) * 100 * time.Millisecond}
			}
			if _, err := backoff.SubmitTo(t.Context(), s, op, res, wait, backoff.NoJitter, backoff.Group("g")); err != nil {
				t.Fatal(err)
			}
			if i%50 == 0 {
				time.Sleep(time.Second)
			}
		}
		ended := 0
		for range n {
			if ev := <-res; ev.Kind == backoff.EventSuccess {
				ended++
			}
		}
		if ended != n {
			t.Fatalf("%d of %d succeeded", ended, n)
		}
		if peak > limit {
			t.Fatalf("%d in flight, limit %d", peak, limit)
		}
		checkRate(t, st.at, perSecond, burst, time.Nanosecond, 10*time.Millisecond, 100*time.Millisecond, time.Second, 10*time.Second)
		synctest.Wait()
		if got := s.Stats(); got.Held != 0 || got.RateHeld != 0 || got.Pending != 0 {
			t.Fatalf("after: %+v", got)
		}
	})
}

func TestGroupRateBadInput(t *testing.T) {
	for _, tc := range []struct {
		opt  backoff.SchedulerOption
		want []string
	}{
		{backoff.GroupRate(0, 1), []string{"backoff: GroupRate: perSecond must be finite and > 0, got 0"}},
		{backoff.GroupRate(-1, 1), []string{"GroupRate: perSecond", "-1"}},
		{backoff.GroupRate(math.NaN(), 1), []string{"GroupRate: perSecond", "NaN"}},
		{backoff.GroupRate(math.Inf(1), 1), []string{"GroupRate: perSecond", "+Inf"}},
		{backoff.GroupRate(1, 0), []string{"backoff: GroupRate: burst must be >= 1, got 0"}},
		{backoff.GroupRate(0, 0), []string{"GroupRate: perSecond", "GroupRate: burst"}},
		{backoff.GroupRateFor("", 1, 1), []string{"backoff: GroupRateFor: name is empty"}},
		{backoff.GroupRateFor("x", math.Inf(-1), 1), []string{`backoff: GroupRateFor("x"): perSecond`, "-Inf"}},
		{backoff.GroupRateFor("x", 1, -2), []string{`backoff: GroupRateFor("x"): burst must be >= 1, got -2`}},
	} {
		_, err := backoff.NewScheduler(tc.opt)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("err = %v, want %q", err, w)
			}
		}
	}

	s := newSched(t)
	for _, tc := range []struct {
		name      string
		perSecond float64
		burst     int
		want      string
	}{
		{"", 1, 1, "backoff: SetGroupRate: name is empty"},
		{"x", 0, 1, `backoff: SetGroupRate("x"): perSecond must be finite and > 0, got 0`},
		{"x", math.NaN(), 1, `backoff: SetGroupRate("x"): perSecond must be finite and > 0, got NaN`},
		{"x", 1, 0, `backoff: SetGroupRate("x"): burst must be >= 1, got 0`},
	} {
		if err := s.SetGroupRate(tc.name, tc.perSecond, tc.burst); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetGroupRate(%q, %v, %d) = %v, want %q", tc.name, tc.perSecond, tc.burst, err, tc.want)
		}
	}
	if err := s.SetGroupRate("x", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGroupRate("x", 1, 1); !errors.Is(err, backoff.ErrClosed) {
		t.Errorf("SetGroupRate after Close = %v, want ErrClosed", err)
	}
	var zero backoff.Scheduler
	if err := zero.SetGroupRate("x", 1, 1); err == nil || !strings.Contains(err.Error(), "SetGroupRate") {
		t.Errorf("zero Scheduler: %v", err)
	}
	var nilS *backoff.Scheduler
	if err := nilS.SetGroupRate("x", 1, 1); err == nil || !strings.Contains(err.Error(), "scheduler is nil") {
		t.Errorf("nil Scheduler: %v", err)
	}
}
