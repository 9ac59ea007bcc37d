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

// What a key adds to a job: a keyed SubmitTo job's record and side record
// are one allocation, which fits the 176-byte size class for struct{}
// values, and a Handle, which holds the side record of a Submit job, fits
// the 112-byte class. The key table adds a slot and a tag byte, about 14
// bytes a key (TestKeyTableGrowth bounds it).
func TestKeyedRecordSize(t *testing.T) {
	// Both are sized in words: together they take the sum.
	if n := unsafe.Sizeof(job[struct{}]{}) + unsafe.Sizeof(jobExtra[struct{}]{}); n > 176 {
		t.Errorf("a keyed SubmitTo job's record is %d bytes, want at most 176", n)
	}
	if n := unsafe.Sizeof(Handle[struct{}]{}); n > 112 {
		t.Errorf("Handle[struct{}] is %d bytes, want at most 112", n)
	}
}
