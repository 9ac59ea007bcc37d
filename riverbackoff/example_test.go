package riverbackoff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/backoff-go/backoff"
	"github.com/backoff-go/backoff/riverbackoff"
)

// SendArgs are the arguments of a job that sends an email.
type SendArgs struct {
	To string `json:"to"`
}

func (SendArgs) Kind() string { return "send_email" }

var errRejected = errors.New("rejected by the mail server")

func send(context.Context, string) (string, error) { return "queued", nil }

// A worker runs the op under the policy; River runs the worker. The client
// that gets these workers (river.Config.Workers) needs a database, which
// this example does without.
func ExampleAddWorker() {
	policy, err := backoff.NewPolicy[string](
		backoff.Expo{Factor: time.Second, Max: time.Minute},
		backoff.MaxTries(8),
		backoff.GiveUp(func(err error) bool { return errors.Is(err, errRejected) }),
	)
	if err != nil {
		panic(err)
	}
	workers := river.NewWorkers()
	err = riverbackoff.AddWorker(workers, policy, func(ctx context.Context, job *river.Job[SendArgs]) (string, error) {
		return send(ctx, job.Args.To)
	})
	fmt.Println(err)
	// Output: <nil>
}

// Jobs inserted with River's own calls (InsertTx, InsertMany) get River's
// default MaxAttempts of 25 unless told otherwise; InsertOpts sets it from
// the policy of the kind's worker: its MaxTries, or River's largest when
// it has none, so that the policy decides.
func ExampleInsertOpts() {
	limited, err := backoff.NewPolicy[string](backoff.MaxTries(8))
	if err != nil {
		panic(err)
	}
	unlimited, err := backoff.NewPolicy[string](backoff.MaxTime(time.Hour))
	if err != nil {
		panic(err)
	}
	fmt.Println(riverbackoff.InsertOpts(limited, &river.InsertOpts{Queue: "email"}).MaxAttempts)
	fmt.Println(riverbackoff.InsertOpts(unlimited, nil).MaxAttempts)
	// Output:
	// 8
	// 32767
}
