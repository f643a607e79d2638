package buffer

import (
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// minReserve is the free space the buffer never uses. Badger writes its
// memtable logs (up to 8 MiB each, two of them) and new tables through
// memory-mapped files created sparse; on a full file system such a write
// is a SIGBUS, not an error. 16 MiB covers a memtable log being filled, the
// next one and the table a flush writes.
const minReserve = 16 << 20

// openMinFree is the space Open needs: badger writes the headers of a new
// memtable log and value log, and replays the old log into a table.
const openMinFree = 8 << 20

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
// tick), so DiskFull clears once space was freed.
func (d *DB) checkSpaceIdle() {
	if d.reserve == 0 {
		return
	}
	if ds, err := statDisk(d.dir); err == nil {
		d.noteSpace(ds)
	}
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
