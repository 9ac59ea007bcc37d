package riverbackoff

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/riverqueue/river/rivertype"
)

// MetadataKey is the key of the job's metadata under which the worker keeps
// the job's retry state and its latest event, as a JSON object:
//
//	{"tries": 3, "snoozed": 1, "start": "…", "prev_ns": 2000000000,
//	 "event": "backoff", "elapsed_ns": 3004000000, "wait_ns": 4000000000,
//	 "error": "connection refused", "value": …}
//
// tries counts attempts, the first and lost ones included; snoozed counts
// those that ended in a snooze (a value the policy retries), which River
// does not count in the job's attempt; start is when the first attempt
// started, by the database's clock; prev_ns is the last wait, for
// strategies that grow from it. The rest is the latest event: its kind
// ("backoff", "success" or "give-up"), reason (for a give-up, in words, as
// Reason.String gives it), error and cause (as text) and value (as JSON).
const MetadataKey = "backoff"

// ErrAttemptLost is the error of an attempt whose worker stopped before it
// recorded an outcome (the process was killed, or lost its database
// connection) and which River rescued as a stuck job. The policy judges it
// like any failed attempt.
var ErrAttemptLost = errors.New("riverbackoff: attempt lost: its worker stopped before recording an outcome")

// ErrJobDeleted is the Cause of the give-up event of a watched job whose
// row was deleted before it ended.
var ErrJobDeleted = errors.New("riverbackoff: job row deleted before the job ended")

// The kinds of event in a record.
const (
	recBackoff = "backoff"
	recSuccess = "success"
	recGiveUp  = "give-up"
)

// record is the job's state between attempts, kept in its metadata.
type record struct {
	Tries   int             `json:"tries"`
	Snoozed int             `json:"snoozed,omitempty"`
	Start   time.Time       `json:"start"`
	Prev    time.Duration   `json:"prev_ns,omitempty"`
	Event   string          `json:"event,omitempty"`
	Elapsed time.Duration   `json:"elapsed_ns,omitempty"`
	Wait    time.Duration   `json:"wait_ns,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Err     string          `json:"error,omitempty"`
	Cause   string          `json:"cause,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
}

// readRecord returns the record in a job's metadata, or a zero record when
// there is none (a job no attempt has finished yet) or it cannot be read.
func readRecord(metadata []byte) record {
	var m struct {
		R *record `json:"backoff"`
	}
	if err := json.Unmarshal(metadata, &m); err != nil || m.R == nil {
		return record{}
	}
	return *m.R
}

// reasons maps Reason.String back to the Reason.
var reasons = func() map[string]backoff.Reason {
	m := map[string]backoff.Reason{}
	for r := backoff.Reason(0); r.String() != "unknown"; r++ {
		m[r.String()] = r
	}
	return m
}()

// remoteError turns an error's text, as stored, back into an error. The
// errors of this package come back as themselves, so errors.Is finds them.
func remoteError(text string) error {
	switch text {
	case "":
		return nil
	case ErrAttemptLost.Error():
		return ErrAttemptLost
	}
	return errors.New(text)
}

// lastErrorAt returns when the job's latest attempt error was recorded, or
// fallback when it has none.
func lastErrorAt(row *rivertype.JobRow, fallback time.Time) time.Time {
	if n := len(row.Errors); n > 0 {
		return row.Errors[n-1].At
	}
	return fallback
}
