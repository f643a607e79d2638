package buffer

import (
	"fmt"
	"time"
)

// OpenInMemory is the fallback for a data partition too full to open the
// buffer (Open returned ErrDiskFull): rather than exiting, which under
// systemd is a crash loop that also stops every alarm, the gateway runs
// on an in-memory queue until it is restarted with room on the disk. The
// records already on disk stay untouched and are sent after that restart.
//
// The queue reports Stats.DiskFull, so buffer.disk_full stays raised, and
// it keeps the seq contract: its seqs continue above every seq the disk
// buffer issued or may have issued (the seq file's ceiling), and before it
// issues one it raises the ceiling in the seq file, so the disk buffer
// continues above them after the restart. A seq file is a few hundred
// bytes, which an almost full file system still takes; where even that
// write fails, Append refuses with ErrDiskFull (nothing is issued that
// could be issued again) and the gateway keeps running without buffering.
//
// What the queue holds is lost when the process ends: that is the price of
// a full disk, and the gateway says so in its event.
func OpenInMemory(dir string, opts Options) (*Memory, error) {
	path := seqPath(dir)
	sf, ok, err := readSeqFile(path)
	m := NewMemory(opts)
	m.diskFull = true
	switch {
	case err != nil:
		// Where seqs may continue is unknown without the disk buffer:
		// issue none.
		m.seqGuard = func(uint64) error {
			return fmt.Errorf("buffer: %w, and its seq file is unreadable (%v): no seq can be issued safely", ErrDiskFull, err)
		}
		return m, nil
	case !ok && !isNewBuffer(dir):
		m.seqGuard = func(uint64) error {
			return fmt.Errorf("buffer: %w, and the buffer in %s has no seq file: no seq can be issued safely", ErrDiskFull, dir)
		}
		return m, nil
	}
	floor := sf.Ceiling
	if sf.Clean {
		floor = sf.LastSeq
	}
	m.lastSeq = floor
	ceiling := floor
	m.seqGuard = func(need uint64) error {
		if need <= ceiling {
			return nil
		}
		next := sf
		next.Ceiling = need + seqReserve
		next.Clean = false
		next.Written = time.Now().UTC()
		if ceiling == floor { // the first write of this run records it as a boot
			next.Boots = append(append([]boot(nil), sf.Boots...), boot{At: next.Written, FirstSeq: floor + 1,
				PrevClean: sf.Clean, Note: "in-memory buffer: the disk was too full to open the buffer"})
		}
		if err := writeSeqFile(path, next); err != nil {
			return fmt.Errorf("buffer: %w: cannot raise the seq ceiling in %s: %v", ErrDiskFull, path, err)
		}
		sf, ceiling = next, next.Ceiling
		return nil
	}
	return m, nil
}
