package backoff_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/backoff-go/backoff"
)

// A Reason prints its bare words through fmt, slog and encoding/json,
// while its Error keeps the package's prefix and errors.Is keeps working.
func TestReasonPrints(t *testing.T) {
	r := backoff.ReasonMaxTime
	for _, c := range []struct{ got, want string }{
		{fmt.Sprint(r), "max time"},
		{fmt.Sprintf("%v|%s|%q|%d", r, r, r, r), `max time|max time|"max time"|2`},
		{fmt.Sprintf("%+v", backoff.Event[int]{Reason: backoff.ReasonCanceled}), "Reason:canceled"},
		{r.Error(), "backoff: max time"},
		{fmt.Sprintf("%v", error(r)), "max time"},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("printed %q, want %q", c.got, c.want)
		}
	}
	wrapped := fmt.Errorf("poll: %w", r)
	if !errors.Is(wrapped, backoff.ReasonMaxTime) || wrapped.Error() != "poll: max time" {
		t.Errorf("wrapped: %q, Is %v", wrapped, errors.Is(wrapped, backoff.ReasonMaxTime))
	}

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("gave up", "reason", r, "err", error(r))
	slog.New(slog.NewJSONHandler(&js, nil)).Info("gave up", "reason", r, "err", error(r))
	if s := text.String(); !strings.Contains(s, `reason="max time" err="max time"`) {
		t.Errorf("slog text: %s", s)
	}
	if s := js.String(); !strings.Contains(s, `"reason":"max time","err":"max time"`) {
		t.Errorf("slog JSON: %s", s)
	}
	b, err := json.Marshal(struct{ R backoff.Reason }{r})
	if err != nil || string(b) != `{"R":"max time"}` {
		t.Errorf("json: %s, %v", b, err)
	}
}

// Stats.GaveUpBy prints the reasons that have give-ups by name, and
// encodes to JSON with every reason's words as keys.
func TestReasonCountsPrint(t *testing.T) {
	var c backoff.ReasonCounts
	if s := c.String(); s != "none" {
		t.Errorf("empty counts print %q", s)
	}
	c[backoff.ReasonMaxTries], c[backoff.ReasonCanceled] = 2, 1
	if s := fmt.Sprint(c); s != "max tries=2 canceled=1" {
		t.Errorf("counts print %q", s)
	}
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("stats", "gave_up", c)
	if s := text.String(); !strings.Contains(s, `gave_up="max tries=2 canceled=1"`) {
		t.Errorf("slog text: %s", s)
	}
	b, err := json.Marshal(backoff.Stats{GaveUpBy: c})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ GaveUpBy map[string]uint64 }
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(back.GaveUpBy) != int(backoff.ReasonBudget) || back.GaveUpBy["max tries"] != 2 ||
		back.GaveUpBy["canceled"] != 1 || back.GaveUpBy["retry budget empty"] != 0 {
		t.Errorf("json: %s", b)
	}
	if _, ok := back.GaveUpBy["none"]; ok {
		t.Errorf("json has ReasonNone's slot: %s", b)
	}
}
