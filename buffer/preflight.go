package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
	"google.golang.org/protobuf/proto"
)

// preflightReport is what checking the files before badger opens them
// found and repaired.
type preflightReport struct {
	// badTables are tables that failed their checksum or could not be
	// parsed; they were moved into the damaged folder.
	badTables []string
	// missingTables are tables the MANIFEST lists but the directory lacks.
	missingTables []uint64
	// orphans are tables on disk the MANIFEST does not list (a lost or
	// damaged MANIFEST, or a crash during a compaction); they were kept.
	orphans []uint64
	// manifest says what was wrong with the MANIFEST, "" when nothing.
	manifest string
	// registry says what was wrong with the key registry, "" when nothing.
	registry string
	// damagedDir is where damaged files were moved, "" when none.
	damagedDir string
}

// repaired reports whether anything was changed.
func (r preflightReport) repaired() bool {
	return len(r.badTables) > 0 || len(r.missingTables) > 0 || r.manifest != "" || r.registry != "" || len(r.orphans) > 0
}

// mayHaveLost reports whether records can be missing after the repair:
// then Open recounts them and reports the difference.
func (r preflightReport) mayHaveLost() bool {
	return len(r.badTables) > 0 || len(r.missingTables) > 0
}

func (r preflightReport) String() string {
	var p []string
	if r.registry != "" {
		p = append(p, "key registry: "+r.registry)
	}
	if r.manifest != "" {
		p = append(p, "MANIFEST: "+r.manifest)
	}
	if len(r.badTables) > 0 {
		p = append(p, fmt.Sprintf("%d damaged tables set aside (%s)", len(r.badTables), strings.Join(r.badTables, ", ")))
	}
	if len(r.missingTables) > 0 {
		p = append(p, fmt.Sprintf("%d tables missing", len(r.missingTables)))
	}
	if len(r.orphans) > 0 {
		p = append(p, fmt.Sprintf("%d tables not in the MANIFEST taken back", len(r.orphans)))
	}
	return strings.Join(p, "; ")
}

// preflight checks a buffer directory's files before badger opens it, and
// repairs what it can, because badger does not fail cleanly on them:
//
//   - It opens tables on its own goroutines, so a truncated or garbled
//     table panics where no recover can catch it (a crash loop), and a
//     table failing its checksum is skipped with a log line only, its
//     records silently gone.
//   - Without a MANIFEST, or with a truncated one, it starts with the
//     tables the MANIFEST still lists and deletes every other table file:
//     most of the queue disappears without an error.
//   - A damaged key registry fails Open although this buffer is not
//     encrypted and the registry holds nothing it needs.
//
// So every table is opened and checksummed here, on this goroutine with
// faults turned into panics that are recovered; damaged ones are moved to
// "<dir>.damaged-<time>" for inspection. The MANIFEST is replayed; when it
// is missing, damaged or disagrees with the tables on disk, it is written
// anew from the good tables (listed tables keep their level, the others go
// to level 0, where tables may overlap). A damaged key registry is moved
// aside and badger creates a new one. Open then recounts the records and
// reports what is missing.
func preflight(dir string, now time.Time, log *slog.Logger) (preflightReport, error) {
	var rep preflightReport
	entries, err := os.ReadDir(dir)
	if err != nil {
		return rep, fmt.Errorf("list directory: %w", err)
	}
	onDisk := map[uint64]string{}
	for _, e := range entries {
		if id, ok := table.ParseFileID(e.Name()); ok && strings.HasSuffix(e.Name(), ".sst") {
			onDisk[id] = e.Name()
		}
	}
	aside := func(name, why string) error {
		if rep.damagedDir == "" {
			rep.damagedDir = filepath.Clean(dir) + ".damaged-" + now.UTC().Format("20060102-150405")
			if err := os.MkdirAll(rep.damagedDir, 0o700); err != nil {
				return fmt.Errorf("create %s: %w", rep.damagedDir, err)
			}
		}
		log.Error("buffer: damaged file moved aside", "file", name, "why", why, "to", rep.damagedDir)
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(rep.damagedDir, name)); err != nil {
			return fmt.Errorf("move %s aside: %w", name, err)
		}
		return nil
	}

	if err := checkRegistry(dir); err != nil {
		rep.registry = err.Error()
		if err := aside(badger.KeyRegistryFileName, rep.registry); err != nil {
			return rep, err
		}
	}

	mf, mfErr := readManifest(dir)
	if mfErr != nil {
		rep.manifest = mfErr.Error()
	}
	if len(onDisk) == 0 && mf == nil {
		// A new buffer, or one that never flushed a table: its records are
		// all in the memtable logs, and the MANIFEST lists only tables.
		if errors.Is(mfErr, fs.ErrNotExist) {
			rep.manifest = ""
			return rep, nil
		}
		if err := aside(badger.ManifestFilename, "rewritten: no tables"); err != nil {
			return rep, err
		}
		return rep, writeManifest(dir, nil)
	}

	good := map[uint64]badger.TableManifest{}
	// Verifying a table decompresses every block into garbage; collect it
	// as it goes, or a 100k-record backlog lifts the start-up heap from
	// about 7 to 24 MiB (BenchmarkOpenBacklog).
	var sinceGC int64
	for id, name := range onDisk {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil {
			if sinceGC += info.Size(); sinceGC > verifyGCEvery {
				runtime.GC()
				sinceGC = 0
			}
		}
		tm := badger.TableManifest{Compression: options.Snappy}
		if mf != nil {
			if listed, ok := mf.Tables[id]; ok {
				tm = listed
			}
		}
		if err := checkTable(filepath.Join(dir, name), tm.Compression); err != nil {
			rep.badTables = append(rep.badTables, name)
			if err := aside(name, err.Error()); err != nil {
				return rep, err
			}
			continue
		}
		if mf != nil {
			if _, ok := mf.Tables[id]; !ok {
				rep.orphans = append(rep.orphans, id)
				tm.Level = 0
			}
		} else {
			rep.orphans = append(rep.orphans, id)
		}
		good[id] = tm
	}
	if sinceGC > 0 {
		runtime.GC()
	}
	if mf != nil {
		for id := range mf.Tables {
			if _, ok := onDisk[id]; !ok {
				rep.missingTables = append(rep.missingTables, id)
			}
		}
	}
	slices.Sort(rep.badTables)
	slices.Sort(rep.orphans)
	slices.Sort(rep.missingTables)
	if !rep.repaired() || (rep.manifest == "" && len(rep.badTables) == 0 && len(rep.missingTables) == 0 && len(rep.orphans) == 0) {
		return rep, nil
	}
	if rep.manifest == "" && len(rep.badTables) == 0 && len(rep.missingTables) == 0 {
		// Only tables the MANIFEST does not list, with an intact MANIFEST:
		// the normal leftover of a crash during a compaction or flush,
		// whose records are still in the listed tables or in the memtable
		// log. Badger deletes them itself.
		rep.orphans = nil
		return rep, nil
	}
	if mfErr == nil || !errors.Is(mfErr, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, badger.ManifestFilename)); err == nil {
			if err := aside(badger.ManifestFilename, "rewritten from the tables on disk"); err != nil {
				return rep, err
			}
		}
	}
	if err := writeManifest(dir, good); err != nil {
		return rep, err
	}
	return rep, nil
}

// verifyGCEvery is how many bytes of (compressed) tables are verified
// between garbage collections: about 4x that in decompressed blocks.
const verifyGCEvery = 1 << 20

// readManifest replays the MANIFEST without changing it. It fails when the
// file is missing, unreadable or has bytes after the last complete change
// (badger itself would cut those off).
func readManifest(dir string) (*badger.Manifest, error) {
	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var m badger.Manifest
	var off int64
	err = protect(func() error {
		var rerr error
		m, off, rerr = badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir))
		return rerr
	})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if off < info.Size() {
		return &m, fmt.Errorf("%d of %d bytes readable", off, info.Size())
	}
	return &m, nil
}

// checkRegistry opens the key registry read-only; an error means badger
// would refuse to open the buffer.
func checkRegistry(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, badger.KeyRegistryFileName)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return protect(func() error {
		kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true})
		if err != nil {
			return err
		}
		return kr.Close()
	})
}

// checkTable opens one table read-only and verifies every block's
// checksum.
func checkTable(path string, comp options.CompressionType) error {
	return protect(func() error {
		mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		t, err := table.OpenTable(mf, table.Options{
			ReadOnly:    true,
			ChkMode:     options.NoVerification,
			BlockSize:   4 << 10,
			Compression: comp,
		})
		if err != nil {
			return err
		}
		defer t.Close(-1)
		return t.VerifyChecksum()
	})
}

// protect runs f with memory faults turned into panics and recovers any
// panic as an error. Badger's parsers index into mmapped files and panic on
// garbage; a truncated mmapped file faults.
func protect(f func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return f()
}

// writeManifest writes a MANIFEST listing exactly the given tables, in
// badger's format: magic, versions, then one change set (length, CRC-32C,
// protobuf). It is written to a temporary name, fsynced and renamed.
func writeManifest(dir string, tables map[uint64]badger.TableManifest) error {
	var set pb.ManifestChangeSet
	ids := make([]uint64, 0, len(tables))
	for id := range tables {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		tm := tables[id]
		set.Changes = append(set.Changes, &pb.ManifestChange{
			Id: id, Op: pb.ManifestChange_CREATE, Level: uint32(tm.Level),
			KeyId: tm.KeyID, EncryptionAlgo: pb.EncryptionAlgo_aes, Compression: uint32(tm.Compression),
		})
	}
	body, err := proto.Marshal(&set)
	if err != nil {
		return fmt.Errorf("encode MANIFEST: %w", err)
	}
	buf := []byte{'B', 'd', 'g', 'r', 0, 0, 0, 0}
	binary.BigEndian.PutUint16(buf[6:8], badgerMagicVersion)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	buf = append(buf, body...)
	tmp := filepath.Join(dir, badger.ManifestFilename+".rebuild")
	if err := os.WriteFile(tmp, buf, 0o600); err != nil {
		return fmt.Errorf("write MANIFEST: %w", err)
	}
	if err := fsyncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, badger.ManifestFilename)); err != nil {
		return fmt.Errorf("write MANIFEST: %w", err)
	}
	return fsyncFile(dir)
}

// badgerMagicVersion is the MANIFEST format version of badger v4
// (badgerMagicVersion in its manifest.go). If an upgrade changes it, the
// rebuilt MANIFEST is refused and TestDamageIsRepairedAndReported ("MANIFEST
// deleted") fails.
const badgerMagicVersion = 8

// damageNotice recounts the records after a repair and reports how many
// the bookkeeping expected but are gone, per class.
func damageNotice(db *badger.DB, st meta, rep preflightReport, log *slog.Logger) (Notice, meta, error) {
	attrs := map[string]any{"repair": rep.String()}
	if rep.damagedDir != "" {
		attrs["damaged_files_in"] = rep.damagedDir
	}
	var lost [2]int64
	err := db.View(func(txn *badger.Txn) error {
		for _, c := range classes {
			all, err := scanKeys(txn, c, 0, -1)
			if err != nil {
				return err
			}
			cm := st.class(c)
			lost[classIndex(c)] = max(cm.count-int64(len(all)), 0)
			cm.count, cm.bytes = int64(len(all)), 0
			for _, v := range all {
				cm.bytes += v.size
				st.lastSeq = max(st.lastSeq, v.seq)
			}
			if len(all) > 0 {
				cm.head = all[0].seq
				cm.headCreated = readCreatedAt(txn, c, cm.head)
			}
		}
		for i := range st.cls {
			if st.cls[i].count == 0 {
				st.cls[i].head, st.cls[i].headCreated = st.lastSeq+1, 0
			}
		}
		return nil
	})
	if err != nil {
		return Notice{}, st, err
	}
	for _, c := range classes {
		attrs[c.String()+"_lost"] = lost[classIndex(c)]
		attrs[c.String()+"_kept"] = st.class(c).count
	}
	msg := fmt.Sprintf("the buffer was damaged and repaired (%s): %d telemetry and %d event records lost, %d and %d kept",
		rep.String(), lost[classIndex(Telemetry)], lost[classIndex(Event)], st.class(Telemetry).count, st.class(Event).count)
	log.Error("buffer: "+msg, "lost_telemetry", lost[classIndex(Telemetry)], "lost_events", lost[classIndex(Event)])
	return Notice{Type: "buffer.damaged", Severity: "major", Message: msg, Attrs: attrs}, st, nil
}

// isNewBuffer reports whether dir holds no badger files yet.
func isNewBuffer(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return true
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".sst") || strings.HasSuffix(n, ".mem") ||
			strings.HasSuffix(n, ".vlog") || n == badger.ManifestFilename {
			return false
		}
	}
	return true
}
