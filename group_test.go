package backoff_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/backoff-go/backoff"
)

// unhashableCtx is a context whose type cannot be a map key.
type unhashableCtx struct {
	context.Context
	tags []string
}

// Jobs under a context of a non-comparable type still run and end; each
// gets a group of its own instead of a shared one.
func TestUnhashableContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := backoff.NewScheduler()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		results := make(chan backoff.Event[int], 4)
		for i := range 4 {
			ctx := unhashableCtx{Context: t.Context(), tags: []string{"a"}}
			if _, err := backoff.SubmitTo(ctx, s, func(context.Context) (int, error) {
				return i, errors.New("no")
			}, results, backoff.Constant{Interval: time.Second}, backoff.MaxTries(2)); err != nil {
				t.Fatal(err)
			}
		}
		for range 4 {
			if ev := <-results; ev.Reason != backoff.ReasonMaxTries || ev.Tries != 2 {
				t.Fatalf("event %+v", ev)
			}
		}
	})
}
