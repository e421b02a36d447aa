package sql_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no job a test started leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
