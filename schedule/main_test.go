package schedule

import (
	"testing"

	"go.uber.org/goleak"
)

// The scheduler starts a goroutine per run: none may outlive its Run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
