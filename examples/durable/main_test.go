package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/backoff-go/backoff"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the example against the test server: every batch but the
// last is done in time, the last gives up at MaxTime.
func TestRun(t *testing.T) {
	url := os.Getenv("RIVERBACKOFF_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but RIVERBACKOFF_DATABASE_URL is not set: .ci/run starts PostgreSQL and sets it")
		}
		t.Skip("RIVERBACKOFF_DATABASE_URL is not set: the example needs a PostgreSQL server (.ci/run starts one)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	sum, err := run(ctx, &out, options{url: url, batches: 6})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if sum.succeeded != 5 || sum.gaveUp[backoff.ReasonMaxTime] != 1 {
		t.Errorf("%d succeeded, gave up %v; want 5 and one at max time", sum.succeeded, sum.gaveUp)
	}
}
