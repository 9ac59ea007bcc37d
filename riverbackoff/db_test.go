package riverbackoff_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/backoff-go/backoff/riverbackoff"
)

// dbURLVar names the environment variable with the test server's
// connection string; .ci/run sets it.
const dbURLVar = "RIVERBACKOFF_DATABASE_URL"

// testDB connects to the test server and makes a fresh schema with River's
// tables in it, dropped when the test ends. Without a server the test
// skips, except under CI=true, where it fails.
func testDB(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	url := os.Getenv(dbURLVar)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: .ci/run starts PostgreSQL and sets it", dbURLVar)
		}
		t.Skipf("%s is not set: these tests need a PostgreSQL server (.ci/run starts one)", dbURLVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dbURLVar, err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("the PostgreSQL server of %s does not answer: %v", dbURLVar, err)
	}
	schema := newSchema(ctx, t, pool)
	return pool, schema
}

// newSchema creates a schema of a random name, migrates River into it, and
// drops it when the test ends.
func newSchema(ctx context.Context, t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "rbt_" + hex.EncodeToString(b)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	return schema
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// clientConfig is a River config for tests: short fetch intervals so that
// short waits are honoured closely, and River's logs kept quiet.
func clientConfig(schema string, workers *river.Workers) *river.Config {
	cfg := &river.Config{
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            quietLogger(),
		Schema:            schema,
		TestOnly:          true,
	}
	if workers != nil {
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 20}}
	}
	return cfg
}

// startClient makes a River client from cfg, starts it when it has queues,
// and stops it when the test ends.
func startClient(t *testing.T, pool *pgxpool.Pool, cfg *river.Config) *river.Client[pgx.Tx] {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Queues == nil {
		return client
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.StopAndCancel(ctx); err != nil {
			t.Errorf("stopping the River client: %v", err)
		}
	})
	return client
}

// newWatcher starts a Watcher on client, closed when the test ends.
func newWatcher(t *testing.T, client riverbackoff.Client) *riverbackoff.Watcher {
	t.Helper()
	w, err := riverbackoff.NewWatcher(client, &riverbackoff.WatcherConfig{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// deadline returns a context that ends after d, or when the test ends.
func deadline(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitUntil polls cond until it holds, failing the test when ctx ends
// first.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// stored is the part of the worker's record that tests read.
type stored struct {
	Tries    int           `json:"tries"`
	Snoozed  int           `json:"snoozed"`
	Skipped  int           `json:"skipped"`
	Start    time.Time     `json:"start"`
	Deadline time.Time     `json:"deadline"`
	Due      time.Time     `json:"due"`
	Owed     bool          `json:"owed"`
	Event    string        `json:"event"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Wait     time.Duration `json:"wait_ns"`
	Reason   string        `json:"reason"`
	Err      string        `json:"error"`
}

// storedKeys returns the keys of the worker's record in row's metadata.
func storedKeys(t *testing.T, row *rivertype.JobRow) map[string]bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(row.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(m[riverbackoff.MetadataKey], &rec); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for k := range rec {
		keys[k] = true
	}
	return keys
}

func recordOf(t *testing.T, row *rivertype.JobRow) stored {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(row.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	var s stored
	if raw, ok := m[riverbackoff.MetadataKey]; ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// named gives a test job kind its name: jobArgs[N] is a distinct River kind
// for each marker type N.
type named interface{ name() string }

type jobArgs[N named] struct {
	Label string `json:"label,omitempty"`
}

func (jobArgs[N]) Kind() string {
	var n N
	return "rbtest_" + n.name()
}
