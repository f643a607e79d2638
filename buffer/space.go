package buffer

import (
	"fmt"
	"os"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// minReserve is the free space the buffer never uses. Badger writes its
// memtable logs (up to 8 MiB each, two of them) and new tables through
// memory-mapped files created sparse; on a full file system such a write
// is a SIGBUS, not an error. 16 MiB covers a memtable log being filled, the
// next one and the table a flush writes.
const minReserve = 16 << 20

// openMinFree is the space Open needs besides replaying old memtable
// logs: badger writes the headers of a new memtable log and value log and
// fills the first pages of the new memtable log.
const openMinFree = 8 << 20

// openNeed is the free space Open needs: openMinFree plus what the memtable
// logs left by a crash hold, since badger replays them into level-0 tables
// (written through memory-mapped files) right after opening.
func openNeed(dir string) int64 { return openMinFree + memAllocated(dir) }

// memAllocated is the disk space the memtable logs in dir occupy: about
// what flushing them into level-0 tables will write.
func memAllocated(dir string) int64 {
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		if info, err := e.Info(); err == nil {
			n += allocated(info)
		}
	}
	return n
}

// ackMinFree is the free space below which acknowledgements are not
// written: a delete is a write to badger's memory-mapped log too, and on a
// file system someone else filled to the brim it would kill the process.
// An ack not written only means the record is sent again later.
const ackMinFree = 4 << 20

// admitAcks drops the cycle's acks when the file system is nearly full.
func (d *DB) admitAcks(acks []uint64) []uint64 {
	if len(acks) == 0 || d.reserve == 0 {
		return acks
	}
	ds, err := statDisk(d.dir)
	if err != nil || ds.avail >= ackMinFree {
		return acks
	}
	d.noteSpace(ds)
	d.setDiskFull(true, ds)
	d.lastShort = time.Now()
	d.log.Warn("buffer: file system nearly full, acknowledgements not written (the records will be sent again)",
		"acks", len(acks), "avail", ds.avail)
	return nil
}

// reserveFor is the free-space reserve on a file system of total bytes:
// minReserve plus 2% (at most 240 MiB more) for the rest of the box.
func reserveFor(total int64) int64 { return minReserve + min(total/50, 240<<20) }

// capMaxBytes bounds the buffer's logical size by the file system: half of
// what is left above twice the reserve, since an LSM tree needs room to
// rewrite what it holds, and at least 1 MiB.
func capMaxBytes(maxBytes int64, ds diskSpace, reserve int64) (int64, bool) {
	limit := max((ds.total-2*reserve)/2, 1<<20)
	if maxBytes > limit {
		return limit, true
	}
	return maxBytes, false
}

// dropBlockBits sets the seq ranges dropped at once when the disk runs
// short: records are dropped in whole blocks of 256 seqs, named by a key
// prefix, which lets badger delete whole tables instead of writing
// tombstones that free nothing until a compaction reaches them.
const dropBlockBits = 8

// admit checks the free space before a cycle's appends. Below the reserve
// it first drops the oldest telemetry (dropForSpace); if that is not
// enough, appends carrying telemetry are refused, and those with only
// events are taken while at least half the reserve is free.
func (d *DB) admit(appends []*appendReq) (ok, refused []*appendReq) {
	if len(appends) == 0 || d.reserve == 0 {
		return appends, nil
	}
	var need int64
	for _, r := range appends {
		for _, rec := range r.recs {
			need += recordSize(rec.Topic, rec.Payload)
		}
	}
	// Records go into the memtable log now and into a table later.
	need *= 2
	ds, err := statDisk(d.dir)
	if err != nil {
		return appends, nil
	}
	d.noteSpace(ds)
	if ds.avail-need >= d.reserve {
		return appends, nil
	}
	d.setDiskFull(true, ds)
	d.lastShort = time.Now()
	if ds.avail < ackMinFree+memAllocated(d.dir) {
		// Dropping writes too (the bookkeeping, then a flush of the
		// memtable into a table): with less room than that, write nothing.
		d.refused.Add(int64(len(appends)))
		d.log.Warn("buffer: file system nearly full, nothing written", "refused", len(appends), "avail", ds.avail)
		return nil, appends
	}
	if err := d.dropForSpace(ds); err != nil {
		d.log.Error("buffer: dropping old telemetry to free disk space", "err", err)
	}
	if ds, err = statDisk(d.dir); err != nil {
		return appends, nil
	}
	d.noteSpace(ds)
	if ds.avail-need >= d.reserve {
		return appends, nil
	}
	left := ds.avail
	for _, r := range appends {
		var size int64
		events := true
		for _, rec := range r.recs {
			size += 2 * recordSize(rec.Topic, rec.Payload)
			events = events && rec.Class == Event
		}
		if events && left-size >= d.reserve/2 {
			ok = append(ok, r)
			left -= size
			continue
		}
		refused = append(refused, r)
	}
	if len(refused) > 0 {
		d.refused.Add(int64(len(refused)))
		d.log.Warn("buffer: disk below its reserve, appends refused", "refused", len(refused),
			"avail", ds.avail, "reserve", d.reserve)
	}
	return ok, refused
}

// diskFullHold is how long DiskFull stays raised after the last time the
// buffer had to drop telemetry for space. A buffer that fills the disk
// while offline drops a range, fills up again, drops again: that is one
// long disk-full condition, not an alarm raised and cleared each time.
const diskFullHold = 10 * time.Minute

// noteSpace publishes the free space and clears DiskFull once it is back
// above one and a half times the reserve and nothing had to be dropped
// for space for diskFullHold.
func (d *DB) noteSpace(ds diskSpace) {
	d.diskAvail.Store(ds.avail)
	if ds.avail >= d.reserve+d.reserve/2 && time.Since(d.lastShort) >= time.Duration(d.fullHold.Load()) {
		d.setDiskFull(false, ds)
	}
}

// setDiskFull changes the condition and logs the change.
func (d *DB) setDiskFull(full bool, ds diskSpace) {
	if d.diskFull.Swap(full) == full {
		return
	}
	if full {
		d.log.Error("buffer: disk space below the reserve (buffer.disk_full)", "avail", ds.avail, "reserve", d.reserve, "dir", d.dir)
	} else {
		d.log.Info("buffer: disk space back above the reserve", "avail", ds.avail, "reserve", d.reserve)
	}
}

// checkSpaceIdle refreshes the disk condition when no appends come (a GC
// tick), so DiskFull clears once space was freed. It returns the free
// space (a large number when unknown).
func (d *DB) checkSpaceIdle() int64 {
	if d.reserve == 0 {
		return 1 << 62
	}
	ds, err := statDisk(d.dir)
	if err != nil {
		return 1 << 62
	}
	d.noteSpace(ds)
	return ds.avail
}

// dropForSpace drops the oldest telemetry until about twice the reserve
// should be free again (at least a tenth of the stored telemetry, so it
// does not happen at every commit). Events are kept. It runs in the
// committer: it commits the new bookkeeping first (counts, head, the
// pending eviction notice) and fsyncs it, then drops the records' key
// ranges, so a crash in between leaves only unreachable records below the
// head, never counters that promise records that are gone.
func (d *DB) dropForSpace(ds diskSpace) error {
	tel := d.work.class(Telemetry)
	if tel.count == 0 {
		return nil
	}
	start := time.Now()
	want := 2*d.reserve - ds.avail
	logical := max(d.work.totalBytes(), 1)
	ratio := min(max(float64(dirSize(d.dir))/float64(logical), 0.1), 4)
	target := max(int64(float64(want)/ratio), tel.bytes/10)

	st := d.work
	cm := st.class(Telemetry)
	var prefixes [][]byte
	var freed, dropped int64
	var newHead uint64
	var newHeadCreated int64
	err := d.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = classPrefix(Telemetry)
		it := txn.NewIterator(opt)
		defer it.Close()
		lastBlock, haveBlock := uint64(0), false
		for it.Seek(recordKey(Telemetry, cm.head)); it.Valid(); it.Next() {
			item := it.Item()
			_, seq, ok := parseRecordKey(item.Key())
			if !ok {
				continue
			}
			block := seq >> dropBlockBits
			if freed >= target && (!haveBlock || block != lastBlock) {
				newHead = seq
				newHeadCreated = readCreatedAt(txn, Telemetry, seq)
				return nil
			}
			if !haveBlock || block != lastBlock {
				p := make([]byte, recordKeyLen-1)
				copy(p, item.Key()[:recordKeyLen-1])
				prefixes = append(prefixes, p)
				lastBlock, haveBlock = block, true
			}
			size := int64(len(item.Key())) + item.ValueSize()
			freed += size
			dropped++
			cm.count--
			cm.bytes -= size
			cm.evicted++
			cm.pend.add(seq, size)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("choose telemetry to drop: %w", err)
	}
	if len(prefixes) == 0 {
		return nil
	}
	if cm.count <= 0 {
		cm.count, cm.bytes = 0, 0
		cm.head, cm.headCreated = st.lastSeq+1, 0
	} else {
		cm.head, cm.headCreated = newHead, newHeadCreated
	}
	st.pendWhy |= whyDisk
	if err := d.db.Update(func(txn *badger.Txn) error { return txn.Set(metaKey, st.encode()) }); err != nil {
		return fmt.Errorf("write bookkeeping: %w", err)
	}
	if err := d.sync(); err != nil {
		return err
	}
	d.work = st
	d.mu.Lock()
	d.st = st
	d.mu.Unlock()
	d.rmu.Lock()
	if i := classIndex(Telemetry); d.cursor[i] < cm.head {
		d.cursor[i] = cm.head
	}
	d.rmu.Unlock()
	if err := d.db.DropPrefix(prefixes...); err != nil {
		return fmt.Errorf("drop %d telemetry ranges: %w", len(prefixes), err)
	}
	after, _ := statDisk(d.dir)
	d.log.Warn("buffer: dropped the oldest telemetry to keep the disk's reserve free",
		"records", dropped, "bytes", freed, "avail_before", ds.avail, "avail_after", after.avail,
		"reserve", d.reserve, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
