package buffer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// badgerOptions tunes badger for a 1 GiB Raspberry Pi holding a queue of
// small records. Badger's defaults assume a server (64 MiB memtables times
// five, a 256 MiB block cache, 1 GiB value-log files mmapped twice).
func badgerOptions(dir string, opts Options) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log: opts.Logger}).
		// We fsync once per group commit ourselves (DB.Sync).
		WithSyncWrites(false).
		// The committer is the only writer; conflict tracking is wasted work.
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		// 4 MiB memtables, at most 2 in memory: ~8 MiB worst case. A
		// transaction may then carry ~600 KiB (15%), which the committer's
		// txnWriter respects; a group commit of a few hundred samples is
		// far below that.
		WithMemTableSize(4 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(8).
		// Small tables keep compaction's build buffers small. A table
		// builder fills until the *compressed* size reaches the table size,
		// so it holds the raw records (JSON compresses 4-7x), the compressed
		// blocks and its allocator's doubling slack, and a compaction keeps
		// up to 9 of them in flight. Opening a 100k backlog that compacts
		// level 0 peaked at 31 MiB anonymous memory with 1 MiB tables and
		// at 19 MiB with 256 KiB ones (128 KiB: no better); see
		// BenchmarkOpenBacklog and BenchmarkRSS in cmd/praxisgate.
		WithBaseTableSize(256 << 10).
		WithBaseLevelSize(8 << 20).
		// Records are a few hundred bytes and live in the LSM tree, where
		// deleting them frees space by compaction. Only unusually large
		// values go to the value log. Must stay below MaxBatchSize.
		WithValueThreshold(64 << 10).
		// Small value-log files: mmapped at twice their size, so 1 GiB files
		// would not fit a 32-bit address space; small files also let vlog
		// GC return space sooner.
		WithValueLogFileSize(32 << 20).
		// A queue reads each record about once: a small cache is enough.
		WithBlockCacheSize(2 << 20).
		WithIndexCacheSize(2 << 20).
		// Two compactors keep level 0 from stalling writes; badger rejects 1.
		WithNumCompactors(2).
		WithCompression(options.Snappy).
		WithMetricsEnabled(false)
}

// openBadger opens the store and classifies failures: anything but a lock
// held by another process means the directory is not a usable buffer.
// Badger may panic on some damaged files; that is reported as corruption too.
func openBadger(dir string, opts Options) (db *badger.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db = nil
			err = fmt.Errorf("buffer: open %s: %w: badger panicked: %v", dir, ErrCorrupt, p)
		}
	}()
	if err := removeEmptyLogs(dir, opts.Logger); err != nil {
		return nil, fmt.Errorf("buffer: open %s: %w", dir, err)
	}
	db, err = badger.Open(badgerOptions(dir, opts))
	if err == nil {
		return db, nil
	}
	if strings.Contains(err.Error(), "Another process is using this Badger database") {
		return nil, fmt.Errorf("buffer: open %s: %w", dir, err)
	}
	return nil, fmt.Errorf("buffer: open %s: %w: %w", dir, ErrCorrupt, err)
}

// removeEmptyLogs deletes 0-byte memtable and value logs before badger
// sees them. Badger creates such a file and sizes it in two steps; a crash
// in between leaves an empty file on which badger.Open fails for ever
// ("while opening fid: N err: Create a new file", badger issue #2207, fix
// not released as of v4.9.6). TestCrashSafety ran into it. An empty log
// holds no entries and no value pointer can refer to it, so removing it
// loses nothing.
func removeEmptyLogs(dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") && !strings.HasSuffix(name, ".vlog") {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() != 0 {
			continue
		}
		log.Warn("buffer: removing empty log left by a crash (badger issue #2207)", "file", name)
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove empty log %s: %w", name, err)
		}
	}
	return nil
}

// loadMeta reads the bookkeeping and checks it cheaply against the records:
// the seq must be at least the highest key (a forward seek past lastSeq
// finds nothing), and each class's head must point at its first record or,
// for an empty class, at nothing. If a check fails the class is recounted
// with a key-only scan; that is the only full walk and should never happen
// because meta and records are written in the same transactions.
func loadMeta(db *badger.DB, log *slog.Logger) (meta, error) {
	var st meta
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			st = meta{}
			for i := range st.cls {
				st.cls[i].head = 1
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read meta: %w", err)
		}
		return item.Value(func(v []byte) error {
			st, err = decodeMeta(v)
			return err
		})
	})
	if err != nil {
		return st, err
	}
	err = db.View(func(txn *badger.Txn) error {
		for _, c := range classes {
			cm := st.class(c)
			beyond, err := scanKeys(txn, c, st.lastSeq+1, 1)
			if err != nil {
				return err
			}
			first, err := scanKeys(txn, c, cm.head, 1)
			if err != nil {
				return err
			}
			ok := len(beyond) == 0 && (cm.count == 0) == (len(first) == 0)
			if ok && len(first) == 1 && first[0].seq != cm.head {
				cm.head = first[0].seq
				cm.headCreated = readCreatedAt(txn, c, cm.head)
			}
			if ok {
				continue
			}
			log.Warn("buffer meta disagrees with records, recounting", "class", c.String(),
				"count", cm.count, "head", cm.head, "last_seq", st.lastSeq)
			all, err := scanKeys(txn, c, 0, -1)
			if err != nil {
				return err
			}
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
	return st, err
}

// scanKeys lists up to limit (all when negative) records of class c from
// seq on, reading keys and value sizes only.
func scanKeys(txn *badger.Txn, c Class, from uint64, limit int) ([]victim, error) {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = classPrefix(c)
	it := txn.NewIterator(opt)
	defer it.Close()
	var out []victim
	for it.Seek(recordKey(c, from)); it.Valid() && (limit < 0 || len(out) < limit); it.Next() {
		item := it.Item()
		_, seq, ok := parseRecordKey(item.Key())
		if !ok {
			return nil, fmt.Errorf("foreign key %q under record prefix", item.Key())
		}
		out = append(out, victim{seq: seq, size: int64(len(item.Key())) + item.ValueSize()})
	}
	return out, nil
}

// readCreatedAt returns the Created time (unix ns) of one record, 1 (very
// old, so age eviction removes it) when it cannot be decoded.
func readCreatedAt(txn *badger.Txn, c Class, seq uint64) int64 {
	item, err := txn.Get(recordKey(c, seq))
	if err != nil {
		return 1
	}
	created := int64(1)
	_ = item.Value(func(v []byte) error {
		if t, _, _, err := decodeValue(v); err == nil {
			created = t.UnixNano()
		}
		return nil
	})
	return created
}
