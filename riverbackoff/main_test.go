package riverbackoff_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperVar) != "" {
		// Re-executed by TestKilledClientJobIsRescued: be the client that
		// gets killed, not a test run.
		os.Exit(killHelper())
	}
	goleak.VerifyTestMain(m)
}
