package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunsQuickly runs every scenario once with a few jobs: it checks that
// the benchmark works, not its figures.
func TestRunsQuickly(t *testing.T) {
	url := os.Getenv("RIVERBACKOFF_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but RIVERBACKOFF_DATABASE_URL is not set: .ci/run starts PostgreSQL and sets it")
		}
		t.Skip("RIVERBACKOFF_DATABASE_URL is not set: the benchmark needs a PostgreSQL server (.ci/run starts one)")
	}
	var progress strings.Builder
	md, err := run(context.Background(), options{url: url, jobs: 20, serial: 3, reps: 1, configs: []riverConfig{tuned}}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(progress.String())
	for _, want := range []string{"| 3 tries per job (2 values retried, no wait) | riverbackoff.Worker | tuned |", "ms per attempt"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
}
