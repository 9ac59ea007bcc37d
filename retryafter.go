package backoff

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads an HTTP Retry-After header value as a wait. The value
// is either a number of seconds ("120" gives 2m0s) or an HTTP-date in any form
// [http.ParseTime] accepts (IMF-fixdate, RFC 850, ANSI C asctime), which is
// read relative to now. Pass the time from the response's Date header when
// there is one, so that a skew between the server's clock and ours does not
// change the wait; otherwise pass the clock's current time.
//
// The result is never negative: a date in the past gives 0. A second count
// too large for a time.Duration saturates at math.MaxInt64 rather than
// wrapping, so cap server-given waits if a hostile server is possible.
// Surrounding spaces are ignored. Anything else, including an empty value,
// a negative number or a fraction ("1.5"), is an error.
func ParseRetryAfter(value string, now time.Time) (time.Duration, error) {
	v := strings.TrimSpace(value)
	secs, err := strconv.ParseUint(v, 10, 64)
	switch {
	case err == nil:
		if secs > uint64(maxDuration/time.Second) {
			return maxDuration, nil
		}
		return time.Duration(secs) * time.Second, nil
	case errors.Is(err, strconv.ErrRange) && strings.Trim(v, "0123456789") == "":
		return maxDuration, nil // all digits, just too many of them
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, fmt.Errorf("backoff: bad Retry-After value %q", value)
	}
	return max(t.Sub(now), 0), nil
}
