package backoff_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

func TestSmokeScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := backoff.NewScheduler(backoff.Workers(4))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		pol, err := backoff.NewPolicy[int](backoff.Constant{Interval: time.Second}, backoff.NoJitter, backoff.MaxTries(5))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		start := time.Now()
		h, err := backoff.Submit(t.Context(), s, func(ctx context.Context) (int, error) {
			n++
			if n < 3 {
				return 0, errors.New("boom")
			}
			return 42, nil
		}, pol)
		if err != nil {
			t.Fatal(err)
		}
		v, err := h.Result(t.Context())
		if v != 42 || err != nil || n != 3 {
			t.Fatalf("v=%v err=%v n=%d", v, err, n)
		}
		if el := time.Since(start); el != 2*time.Second {
			t.Fatalf("elapsed %v", el)
		}
		res := make(chan backoff.Event[int], 10)
		for i := range 10000 {
			_, err := backoff.SubmitTo(t.Context(), s, func(ctx context.Context) (int, error) { return i, errors.New("x") }, res, pol)
			if err != nil {
				t.Fatal(err)
			}
		}
		got := 0
		for range 10000 {
			ev := <-res
			if ev.Reason != backoff.ReasonMaxTries || ev.Tries != 5 {
				t.Fatalf("ev %+v", ev)
			}
			got++
		}
		st := s.Stats()
		t.Logf("%+v", st)
	})
}
