package doccheck

import (
	"context"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/metric"

	"github.com/backoff-go/backoff"
)

// What the documentation's snippets are given. The README lists these
// names in its "Given" block; TestGivenListed keeps the two in step.
var (
	ctx           context.Context
	getURL        func(context.Context) (*http.Response, error) // a *StatusError for a status >= 400
	req           *http.Request
	id            string // a batch job's ID
	checkJob      func(ctx context.Context, id string) (Status, error)
	policy        *backoff.Policy[Status] // polls with checkJob until Done
	budget        *backoff.Budget
	scheduler     *backoff.Scheduler
	client        *river.Client[pgx.Tx]
	pool          *pgxpool.Pool
	queues        map[string]river.QueueConfig
	meterProvider metric.MeterProvider
)

// Status is what checkJob reports of a batch job.
type Status struct {
	Done bool `json:"done"`
}

// StatusError is getURL's error for a response with a status >= 400.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string { return "status " + strconv.Itoa(e.Code) }

// PollArgs are the arguments of a River job that polls a batch job.
type PollArgs struct {
	ID string `json:"id"`
}

// Kind names the River job kind.
func (PollArgs) Kind() string { return "poll_job" }
