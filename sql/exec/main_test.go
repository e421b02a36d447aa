package exec_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a job leaves a goroutine behind
// (a lookup in flight, a pebble store not closed).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
