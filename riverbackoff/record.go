package riverbackoff

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/backoff-go/backoff"
	"github.com/riverqueue/river/rivertype"
)

// MetadataKey is the key of the job's metadata under which the worker keeps
// the job's retry state and its latest event, as a JSON object:
//
//	{"tries": 3, "snoozed": 1, "start": "…", "deadline": "…", "prev_ns": 2000000000,
//	 "due": "…", "event": "backoff", "elapsed_ns": 3004000000, "wait_ns": 4000000000,
//	 "error": "connection refused", "value": …}
//
// tries counts attempts, the first and lost ones included; snoozed counts
// those that ended in a snooze (a value the policy retries), which River
// does not count in the job's attempt; skipped counts River attempts that
// ended before the op ran, because the job gave up first (a lost attempt,
// a passed deadline, or a budget with no room before MaxTime). start is when the first attempt started, by the
// database's clock; deadline, for a policy with MaxTime, is start plus
// MaxTime; prev_ns is the last wait, for strategies that grow from it;
// due is when the wait before the next attempt ends (the policy's wait,
// the op's own river.JobSnooze, or the wait for room in the policy's
// budget), on the clock of start; owed is true while the next attempt, a
// retry, still needs room in the budget (WaitWhenEmpty). The rest is the
// latest event: its kind ("backoff", "success" or "give-up"), reason (for a
// give-up, as Reason.MarshalText writes it), error and cause (as text) and
// value (as JSON).
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
	Tries    int             `json:"tries"`
	Snoozed  int             `json:"snoozed,omitempty"`
	Skipped  int             `json:"skipped,omitempty"`
	Start    time.Time       `json:"start"`
	Deadline time.Time       `json:"deadline,omitzero"`
	Prev     time.Duration   `json:"prev_ns,omitempty"`
	Due      time.Time       `json:"due,omitzero"`
	Owed     bool            `json:"owed,omitempty"`
	Event    string          `json:"event,omitempty"`
	Elapsed  time.Duration   `json:"elapsed_ns,omitempty"`
	Wait     time.Duration   `json:"wait_ns,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Err      string          `json:"error,omitempty"`
	Cause    string          `json:"cause,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
}

// attempts returns how many attempts River has counted for the job when
// the record was written: the tries, less those that ended in a snooze,
// plus those that ended before the op ran.
func (r *record) attempts() int { return r.Tries - r.Snoozed + r.Skipped }

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

// reasonText is a give-up reason as the record stores it.
func reasonText(r backoff.Reason) string {
	b, err := r.MarshalText()
	if err != nil {
		return "" // not a reason of this version; the worker never writes one
	}
	return string(b)
}

// readReason reads a stored give-up reason. Text that this version does
// not know (a newer version wrote it) reads as ReasonNone with an error
// that says so, for the give-up's Cause.
func readReason(text string) (backoff.Reason, error) {
	var r backoff.Reason
	if err := r.UnmarshalText([]byte(text)); err != nil {
		return backoff.ReasonNone, fmt.Errorf("riverbackoff: stored give-up reason: %w", err)
	}
	return r, nil
}

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
