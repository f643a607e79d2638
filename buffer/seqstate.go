package buffer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
)

// seqReserve is how many seqs one write of the seq file reserves. The file
// is written (and fsynced) before any seq above its ceiling is committed,
// so it costs one small fsync per seqReserve records; after a crash the
// buffer continues above the ceiling, so a crash leaves a gap of at most
// this many seqs, and none can be handed out twice.
const seqReserve = 10_000

// seqCheckpointEvery is how often, at most, the seq file's last seq is
// refreshed while records are appended. It bounds how much of a damaged or
// truncated memtable log can go unnoticed after a crash.
const seqCheckpointEvery = 10 * time.Second

// maxSeq bounds the seqs a seq file may claim: far beyond any real box
// (a million records a second for 140,000 years), and far enough below
// 2^64 that adding reserves cannot wrap around to small seqs.
const maxSeq = 1 << 62

// maxBoots bounds the boot history kept in the seq file.
const maxBoots = 32

// seqFileVersion is the layout of the seq file.
const seqFileVersion = 1

// seqFile is the buffer's memory outside the badger directory: the last
// seq issued and the boot history. It lives beside the directory
// ("<dir>.seq"), so moving a damaged directory aside keeps it, and the
// next buffer continues above every seq the old one issued.
type seqFile struct {
	Version int `json:"version"`
	// LastSeq is the highest seq known to be issued when the file was
	// written: exact after a clean Close, a lower bound otherwise.
	LastSeq uint64 `json:"last_seq"`
	// Ceiling is the highest seq the buffer may issue before it writes
	// the file again.
	Ceiling uint64 `json:"ceiling"`
	// Clean is true only when Close wrote the file: then LastSeq is exact.
	Clean bool `json:"clean"`
	// Records is how many records the buffer held at LastSeq (per class),
	// the expectation against which a damaged buffer's loss is counted.
	Telemetry int64 `json:"telemetry"`
	Events    int64 `json:"events"`
	// Written is when the file was written.
	Written time.Time `json:"written"`
	Boots   []boot    `json:"boots"`
}

// boot is one Open of the buffer.
type boot struct {
	At time.Time `json:"at"`
	// FirstSeq is the first seq this boot may issue.
	FirstSeq uint64 `json:"first_seq"`
	// PrevClean tells whether the boot before ended with Close.
	PrevClean bool `json:"prev_clean"`
	// Note says what Open found and did (repairs, loss, a skipped range).
	Note string `json:"note,omitempty"`
}

// seqPath is where the seq file of the buffer in dir lives.
func seqPath(dir string) string { return filepath.Clean(dir) + ".seq" }

// readSeqFile loads the seq file; a missing file is the zero state with ok
// false. A file that cannot be parsed is an error: the caller must then
// assume unknown seqs were issued.
func readSeqFile(path string) (sf seqFile, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return seqFile{}, false, nil
	}
	if err != nil {
		return seqFile{}, false, fmt.Errorf("read seq file: %w", err)
	}
	if err := json.Unmarshal(b, &sf); err != nil {
		return seqFile{}, false, fmt.Errorf("seq file %s damaged: %w", path, err)
	}
	if sf.Version != seqFileVersion || sf.Ceiling < sf.LastSeq || sf.Ceiling > maxSeq {
		return seqFile{}, false, fmt.Errorf("seq file %s: version %d, last %d above ceiling %d: not understood",
			path, sf.Version, sf.LastSeq, sf.Ceiling)
	}
	return sf, true, nil
}

// writeSeqFile replaces the seq file atomically and durably: the data and
// the rename are fsynced, and the directory too, so a power cut leaves the
// old file or the new one.
func writeSeqFile(path string, sf seqFile) error {
	sf.Version = seqFileVersion
	if len(sf.Boots) > maxBoots {
		sf.Boots = sf.Boots[len(sf.Boots)-maxBoots:]
	}
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode seq file: %w", err)
	}
	if err := renameio.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write seq file: %w", err)
	}
	if err := fsyncFile(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write seq file: %w", err)
	}
	return nil
}

// writeSeq records st's last seq, a ceiling (never lowered) and whether
// this is the clean end of the buffer's life.
func (d *DB) writeSeq(st meta, ceiling uint64, clean bool) error {
	sf := d.seqf
	sf.LastSeq = st.lastSeq
	sf.Ceiling = max(sf.Ceiling, ceiling, st.lastSeq)
	sf.Clean = clean
	sf.Telemetry, sf.Events = st.class(Telemetry).count, st.class(Event).count
	sf.Written = time.Now().UTC()
	if err := writeSeqFile(d.seqPath, sf); err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	d.seqf = sf
	d.seqWrote = time.Now()
	return nil
}

// reserveSeqs makes sure the seq file allows n more seqs after st's last,
// writing a new ceiling first when it does not. Called by the committer
// before it assigns seqs.
func (d *DB) reserveSeqs(st meta, n int) error {
	need := st.lastSeq + uint64(n)
	if need <= d.seqf.Ceiling {
		return nil
	}
	return d.writeSeq(st, need+seqReserve, false)
}

// checkpointSeq refreshes the seq file's last seq now and then, so loss of
// a memtable log's tail after a crash is noticed (see continueSeq).
func (d *DB) checkpointSeq() {
	if d.work.lastSeq <= d.seqf.LastSeq || time.Since(d.seqWrote) < d.seqEvery {
		return
	}
	if err := d.writeSeq(d.work, 0, false); err != nil && !d.seqFailed {
		d.log.Warn("buffer: checkpoint of the seq file failed", "err", err)
		d.seqFailed = true
		return
	}
	d.seqFailed = false
}

// continueSeq decides where seqs continue after Open, from the records'
// own last seq and the seq file beside the directory, and reports seqs
// that were issued but are no longer there:
//
//   - after a clean Close the file's last seq is exact: continue after it;
//   - after a crash continue after the file's ceiling, the highest seq the
//     old run could have issued (a gap of at most seqReserve);
//   - without a file (a buffer from before it existed) trust the records;
//   - with a damaged file skip seqReserve past the records.
func continueSeq(st meta, sf seqFile, ok bool, readErr error, fresh bool) (meta, *Notice) {
	var floor uint64
	var n *Notice
	switch {
	case readErr != nil:
		floor = st.lastSeq + seqReserve
		n = &Notice{Type: "buffer.damaged", Severity: "major",
			Message: fmt.Sprintf("the buffer's seq file was unreadable; seqs continue after %d", floor),
			Attrs:   map[string]any{"error": readErr.Error(), "continue_after": floor}}
	case !ok:
		return st, nil
	case sf.Clean:
		floor = sf.LastSeq
	default:
		floor = sf.Ceiling
	}
	if ok && st.lastSeq < sf.LastSeq {
		attrs := map[string]any{
			"last_seq_found": st.lastSeq, "last_seq_issued": sf.LastSeq,
			"missing_first_seq": st.lastSeq + 1, "missing_last_seq": sf.LastSeq,
			"missing_seqs": sf.LastSeq - st.lastSeq, "clean_shutdown": sf.Clean,
		}
		msg := fmt.Sprintf("buffer records %d-%d were issued but are missing (a damaged or truncated memtable log); "+
			"those not yet sent are lost", st.lastSeq+1, sf.LastSeq)
		if fresh {
			attrs["telemetry_held"], attrs["events_held"], attrs["held_at"] = sf.Telemetry, sf.Events, sf.Written.Format(time.RFC3339)
			msg = fmt.Sprintf("a new, empty buffer started, but the previous one had issued seqs up to %d and held "+
				"%d telemetry and %d event records on %s; those not yet sent are lost",
				sf.LastSeq, sf.Telemetry, sf.Events, sf.Written.Format(time.RFC3339))
		}
		n = &Notice{Type: "buffer.damaged", Severity: "major", Message: msg, Attrs: attrs}
	}
	// After an unclean stop the file's last seq is only the last checkpoint:
	// seqs up to the ceiling may have been issued since, and those not found
	// now were either never used or lost with the memtable log. Say so, so
	// that the gap the provider sees is explained, not silent.
	if ok && readErr == nil && !sf.Clean && sf.Ceiling > max(st.lastSeq, sf.LastSeq) {
		from := max(st.lastSeq, sf.LastSeq) + 1
		if n == nil {
			n = &Notice{Type: "buffer.seq_skipped", Severity: "info", Attrs: map[string]any{"last_seq_found": st.lastSeq},
				Message: fmt.Sprintf("after an unclean stop seqs continue after %d; seqs %d-%d were not used, or were issued after the last checkpoint and lost with the memtable log", sf.Ceiling, from, sf.Ceiling)}
		}
		n.Attrs["may_be_missing_first_seq"], n.Attrs["may_be_missing_up_to"] = from, sf.Ceiling
	}
	if floor > st.lastSeq {
		st.lastSeq = floor
		for i := range st.cls {
			if st.cls[i].count == 0 {
				st.cls[i].head, st.cls[i].headCreated = floor+1, 0
			}
		}
	}
	return st, n
}
