package backoff_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

type recordingObserver struct {
	mu    sync.Mutex
	kinds []backoff.ObservationKind
	late  []time.Duration
	panic bool
}

func (o *recordingObserver) Observe(ob backoff.Observation) {
	o.mu.Lock()
	o.kinds = append(o.kinds, ob.Kind)
	if ob.Kind == backoff.ObserveAttemptStart {
		o.late = append(o.late, ob.Lateness)
	}
	o.mu.Unlock()
	if o.panic {
		panic("observer broke")
	}
}

func TestObserverSeesEveryStep(t *testing.T) {
	for _, broken := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			obs := &recordingObserver{panic: broken}
			s, err := backoff.NewScheduler(backoff.WithObserver(obs), backoff.Workers(2))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			calls := 0
			h, err := backoff.Submit(t.Context(), s, func(context.Context) (int, error) {
				calls++
				if calls < 3 {
					return 0, errors.New("flaky")
				}
				return 7, nil
			}, backoff.Constant{Interval: time.Second}, backoff.NoJitter)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := h.Result(t.Context()); v != 7 || err != nil {
				t.Fatalf("broken=%v: Result = %v, %v; want 7, nil (an observer panic must not change the outcome)", broken, v, err)
			}
			want := []backoff.ObservationKind{
				backoff.ObserveAttemptStart, backoff.ObserveAttemptEnd, backoff.ObserveBackoff,
				backoff.ObserveAttemptStart, backoff.ObserveAttemptEnd, backoff.ObserveBackoff,
				backoff.ObserveAttemptStart, backoff.ObserveAttemptEnd, backoff.ObserveSuccess,
			}
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if len(obs.kinds) != len(want) {
				t.Fatalf("broken=%v: kinds = %v, want %v", broken, obs.kinds, want)
			}
			for i := range want {
				if obs.kinds[i] != want[i] {
					t.Fatalf("broken=%v: kinds = %v, want %v", broken, obs.kinds, want)
				}
			}
			for _, l := range obs.late {
				if l < 0 {
					t.Fatalf("negative lateness %v", l)
				}
			}
			if got, want := s.Stats().HandlerPanics, uint64(0); broken && got != uint64(len(obs.kinds)) || !broken && got != want {
				t.Fatalf("broken=%v: HandlerPanics = %d", broken, got)
			}
		})
	}
}
