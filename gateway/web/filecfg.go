package web

import (
	"os"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// fileConfig is the config as saved on disk, which after an edit differs
// from the one the gateway runs with until it restarts. The editing pages
// show the saved state so a technician sees their change stick. It is
// cached by modification time and size; parsing builds every driver.
type fileConfig struct {
	mu   sync.Mutex
	mod  time.Time
	size int64
	path string
	cfg  *config.Config
}

func (f *fileConfig) get(running *config.Config) *config.Config {
	path := running.Path
	if path == "" {
		return running
	}
	st, err := os.Stat(path)
	if err != nil {
		return running
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg != nil && f.path == path && f.mod.Equal(st.ModTime()) && f.size == st.Size() {
		return f.cfg
	}
	cfg, err := config.Load(path)
	if err != nil {
		return running
	}
	f.path, f.mod, f.size, f.cfg = path, st.ModTime(), st.Size(), cfg
	return cfg
}
