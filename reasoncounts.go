package backoff

import (
	"encoding/json"
	"strconv"
	"strings"
)

// ReasonCounts counts jobs by the Reason they gave up with, indexed by
// Reason: counts[ReasonMaxTries] is the number that made MaxTries
// attempts. The ReasonNone slot stays zero. It prints as
// "max tries=2 canceled=1", leaving out reasons with no give-ups, and
// encodes to JSON as an object keyed by each reason's words.
type ReasonCounts [12]uint64

// One slot per Reason: these fail to compile when the two disagree.
var (
	_ [len(ReasonCounts{}) - numReasons]struct{}
	_ [numReasons - len(ReasonCounts{})]struct{}
)

// String lists the reasons with give-ups and their counts, in Reason
// order; "none" when there are none.
func (c ReasonCounts) String() string {
	var b strings.Builder
	for r, n := range c {
		if n == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Reason(r).String())
		b.WriteByte('=')
		b.WriteString(strconv.FormatUint(n, 10))
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// MarshalJSON writes every reason but ReasonNone, zeros included, so
// that a consumer of the JSON sees the same keys each time.
func (c ReasonCounts) MarshalJSON() ([]byte, error) {
	m := make(map[string]uint64, len(c)-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		m[r.String()] = c[r]
	}
	return json.Marshal(m)
}
