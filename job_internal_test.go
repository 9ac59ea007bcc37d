package backoff

import (
	"testing"
	"unsafe"
)

// A job record is the scheduler's cost per pending job: one for struct{}
// values, with no key, group or name of its own, fits the 96-byte size
// class. (A zero-size field at the end of a struct is padded, so the
// value's field is not last.)
func TestJobRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(job[struct{}]{}); n > 96 {
		t.Fatalf("job[struct{}] is %d bytes, want at most 96", n)
	}
}
