package buffer

import (
	"os"
	"testing"
)

// TestMain lets the test binary double as the crash-test child: with
// crashDirEnv set it runs crashChild instead of the tests (see
// crash_test.go).
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(crashRunEnv)))
	}
	os.Exit(m.Run())
}
