package backoff_test

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backoff-go/backoff"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"007", 7 * time.Second},
		{"9223372036", 9223372036 * time.Second},
		{"9223372037", math.MaxInt64},
		{"99999999999999999999", math.MaxInt64},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second},
		{"Saturday, 01-Mar-25 12:01:00 GMT", time.Minute}, // RFC 850
		{"Sat Mar  1 12:00:05 2025", 5 * time.Second},     // ANSI C
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0},              // in the past
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0},
	}
	for _, c := range cases {
		got, err := backoff.ParseRetryAfter(c.in, now)
		if err != nil || got != c.want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseRetryAfterErrors(t *testing.T) {
	for _, in := range []string{"", "  ", "abc", "-1", "+1", "1.5", "1e3", "0x10", "1_000", "Mon, 99 Foo", "120s"} {
		d, err := backoff.ParseRetryAfter(in, time.Now())
		if err == nil {
			t.Errorf("ParseRetryAfter(%q) = %v, want an error", in, d)
			continue
		}
		if want := `backoff: bad Retry-After value "` + in + `"`; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want it to contain %q", err, want)
		}
	}
}
