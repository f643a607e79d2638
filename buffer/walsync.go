package buffer

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// walSyncer closes a gap in badger's DB.Sync with SyncWrites off: Sync
// fsyncs the value log and the WAL of the *active* memtable only (db.go,
// DB.Sync). If a memtable filled up and was rotated between our commit and
// our Sync, part of our records sit in the previous memtable's WAL, which is
// not synced until badger has flushed it to a level-0 table. A power cut in
// that window would lose records we already confirmed to the caller.
//
// So after every Sync we fsync each memtable WAL (*.mem) except the newest,
// once: a rotated WAL is immutable, so one fsync after rotation suffices.
// Usually there is just the active one and this costs one ReadDir.
//
// Badger also does not fsync the directory when it creates a memtable log
// (ristretto's OpenMmapFileUsing skips SyncDir for files it sizes itself),
// so the first time a new log shows up the directory is fsynced too; on a
// file system that needs it, the new log's name would otherwise not survive
// a power cut.
type walSyncer struct {
	dir    string
	synced map[int]bool
	log    *slog.Logger
	warned bool
	// newest is the newest memtable log whose directory entry is synced.
	newest int
}

func newWALSyncer(dir string, log *slog.Logger) *walSyncer {
	return &walSyncer{dir: dir, synced: make(map[int]bool), log: log, newest: -1}
}

// syncRotated fsyncs rotated memtable WALs not synced before.
func (s *walSyncer) syncRotated() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("buffer: list memtable logs: %w", err)
	}
	var fids []int
	newest := -1
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".mem")
		if !ok {
			continue
		}
		fid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		fids = append(fids, fid)
		newest = max(newest, fid)
	}
	if newest < 0 && !s.warned {
		// A badger upgrade may have renamed its memtable logs; then this
		// safety net is off and a power cut during a rotation could lose
		// confirmed records. TestBadgerStillUsesMemFiles should catch it.
		s.log.Warn("buffer: no memtable logs (*.mem) found; cannot fsync rotated ones", "dir", s.dir)
		s.warned = true
	}
	if newest > s.newest {
		if err := fsyncFile(s.dir); err != nil {
			return fmt.Errorf("buffer: fsync directory: %w", err)
		}
		s.newest = newest
	}
	present := make(map[int]bool, len(fids))
	for _, fid := range fids {
		present[fid] = true
		if fid == newest || s.synced[fid] {
			continue
		}
		if err := fsyncFile(filepath.Join(s.dir, fmt.Sprintf("%05d.mem", fid))); err != nil {
			if os.IsNotExist(err) {
				continue // flushed to a table and removed meanwhile
			}
			return err
		}
		s.synced[fid] = true
	}
	for fid := range s.synced {
		if !present[fid] {
			delete(s.synced, fid)
		}
	}
	return nil
}

// fsyncFile flushes a file's dirty pages. Badger writes WALs through a
// shared mmap; on Linux fsync on any descriptor of the file writes those
// pages back too.
func fsyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("buffer: fsync %s: %w", path, err)
	}
	return nil
}
