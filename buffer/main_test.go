package buffer

import (
	"os"
	"testing"
)

// TestMain lets the test binary double as the crash-test child: with
// crashDirEnv set it runs crashChild instead of the tests (see
// crash_test.go), and with openChildEnv set it is the child of
// BenchmarkOpenBacklog.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(crashRunEnv)))
	}
	if dir := os.Getenv(fullCloseDirEnv); dir != "" {
		os.Exit(fullCloseChild(dir))
	}
	if dir := os.Getenv(writerDirEnv); dir != "" {
		os.Exit(writerChild(dir, os.Getenv(writerCountEnv)))
	}
	if dir := os.Getenv(openChildEnv); dir != "" {
		os.Exit(openChild(dir))
	}
	os.Exit(m.Run())
}
