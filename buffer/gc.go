package buffer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// reclaimAfter is how many records must have been deleted since the last
// reclaim before an empty queue triggers one. Below it the tombstones cost
// little and compaction removes them anyway.
const reclaimAfter = 10_000

// maxVlogGCRounds bounds one GC tick's value-log rewrites.
const maxVlogGCRounds = 16

// gcLoop runs maintenance every GCInterval until Close: age eviction and
// reclaim (inside the committer, the only writer) and value-log GC.
func (d *DB) gcLoop() {
	defer close(d.gcDone)
	t := time.NewTicker(d.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		select {
		case d.maint <- reply:
		case <-d.stop:
			return
		}
		if err := <-reply; err != nil {
			d.log.Warn("buffer: maintenance", "err", err)
		}
		if err := d.vlogGC(); err != nil {
			d.log.Warn("buffer: value log GC", "err", err)
		}
	}
}

// maintain runs in the committer: age eviction without a triggering
// append, then reclaim if the queue drained.
func (d *DB) maintain() error {
	if d.checkSpaceIdle() < ackMinFree {
		// Age eviction writes tombstones; not on a brim-full disk.
		return nil
	}
	now := d.opts.Now()
	w := newTxnWriter(d.db, d.work)
	if err := d.reserveSeqs(w.st, 2); err != nil {
		return err
	}
	if err := d.evict(w, now); err != nil {
		w.discard()
		d.reload()
		return err
	}
	if err := d.reportEvictions(w, now); err != nil {
		w.discard()
		d.reload()
		return err
	}
	if err := w.commit(); err != nil {
		w.discard()
		d.reload()
		return err
	}
	if w.st.lastSeq != d.work.lastSeq {
		// A notice was stored: make it durable before Next may return it.
		if err := d.sync(); err != nil {
			d.reload()
			return err
		}
	}
	d.work = w.st
	d.sinceDrain += w.removed
	d.mu.Lock()
	d.st = w.st
	d.durable = w.st.lastSeq
	close(d.notify)
	d.notify = make(chan struct{})
	d.mu.Unlock()
	if d.sinceDrain > 0 && w.st.cls[0].count == 0 && w.st.cls[1].count == 0 {
		return d.reclaim()
	}
	return nil
}

// vlogGC rewrites value-log files until badger finds nothing worth it.
// With the value threshold used here only oversized records reach the
// value log, so this is usually a single no-op call.
func (d *DB) vlogGC() error {
	for range maxVlogGCRounds {
		if d.isClosing() {
			return nil
		}
		err := d.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reclaim gives disk space back after a drained backlog (badger issue
// #1995: deleted keys keep their tables, and tombstones their space, until
// compaction reaches the bottom level, which a queue's steady trickle may
// never cause). Only the committer calls it and only when the queue is
// empty, so dropping the whole record prefix cannot remove a live record.
func (d *DB) reclaim() error {
	if d.noReclaim {
		return nil
	}
	start := time.Now()
	before := dirSize(d.dir)
	// DropPrefix does nothing when no live key has the prefix
	// (filterPrefixesToDrop in badger's db.go), which is exactly the case
	// of a drained queue full of tombstones. A marker key under the prefix
	// (class 0, never a record) makes it do the work: flush the memtables
	// without the prefix and rewrite every table that holds it.
	if err := d.db.Update(func(txn *badger.Txn) error { return txn.Set(reclaimMarker, nil) }); err != nil {
		return fmt.Errorf("write reclaim marker: %w", err)
	}
	if err := d.db.DropPrefix(queuePrefix); err != nil {
		return fmt.Errorf("drop drained record prefix: %w", err)
	}
	if err := d.vlogGC(); err != nil {
		return err
	}
	// Routine reclaims at GC ticks are debug noise; one after a real
	// backlog is worth an info line.
	level := slog.LevelDebug
	if d.sinceDrain >= d.reclaimMin {
		level = slog.LevelInfo
	}
	d.log.Log(context.Background(), level, "buffer: reclaimed disk space after drain",
		"deleted", d.sinceDrain, "disk_before", before, "disk_after", dirSize(d.dir),
		"took", time.Since(start).Round(time.Millisecond))
	d.sinceDrain = 0
	return nil
}
