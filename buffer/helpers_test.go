package buffer

import (
	"log/slog"
	"testing"
)

// testLogger sends logs to the test's output, warnings and above only, so
// a failing test shows what badger complained about.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
