package buffer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

var _ badger.Logger = badgerLogger{}

// badgerLogger routes badger's own log lines into the injected slog logger
// so they land in the same sink (journal, web page ring) as everything else.
// Badger logs every compaction and table flush at info level; on an
// appliance that is chatter, so those go to debug and only badger's warnings
// and errors are visible at the default level.
type badgerLogger struct {
	log *slog.Logger
}

func (l badgerLogger) emit(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (l badgerLogger) Errorf(f string, a ...any) { l.emit(slog.LevelError, f, a...) }

// Warningf demotes badger's minutely block-cache report: a queue reads
// each record once, so a low hit ratio is the expected state, not a fault.
func (l badgerLogger) Warningf(f string, a ...any) {
	if strings.HasPrefix(f, "Block cache might be too small") || strings.HasPrefix(f, "Cache life expectancy") {
		l.emit(slog.LevelDebug, f, a...)
		return
	}
	l.emit(slog.LevelWarn, f, a...)
}
func (l badgerLogger) Infof(f string, a ...any)  { l.emit(slog.LevelDebug, f, a...) }
func (l badgerLogger) Debugf(f string, a ...any) { l.emit(slog.LevelDebug-4, f, a...) }
