package buffer

import (
	"fmt"
	"time"
)

// maxCycleCallers bounds how many Append calls share one group commit, so
// a burst cannot make one cycle (and everyone's latency) arbitrarily long.
const maxCycleCallers = 4096

// commitLoop is the committer goroutine: the only writer of records. Each
// cycle takes everything in the inbox, writes it in as few transactions as
// badger allows, fsyncs once if anything was appended, and only then
// answers the waiting appenders.
func (d *DB) commitLoop() {
	defer close(d.committerDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-d.wake:
		case reply := <-d.maint:
			reply <- d.maintain()
			continue
		case <-d.stop:
			// Close: apply whatever was handed over before it.
			d.cycle()
			return
		}
		d.gather(timer)
		d.cycle()
	}
}

// gather waits up to CommitWindow for more appenders to join the cycle. It
// stops early once as many callers wait as took part in the previous cycle:
// with a steady set of N appenders each comes back right after its answer,
// so waiting longer only adds latency. A lone appender (the normal case on a
// quiet box) therefore pays no window at all after its first cycle.
func (d *DB) gather(timer *time.Timer) {
	d.qmu.Lock()
	n := len(d.inAppend)
	d.qmu.Unlock()
	if n == 0 {
		return
	}
	timer.Reset(d.opts.CommitWindow)
	defer timer.Stop()
	for {
		if d.lastCallers > 0 && n >= d.lastCallers || n >= maxCycleCallers {
			return
		}
		select {
		case <-d.wake:
		case <-timer.C:
			return
		case <-d.stop:
			return
		}
		d.qmu.Lock()
		n = len(d.inAppend)
		d.qmu.Unlock()
	}
}

// cycle applies one inbox: acks, appends, evictions, commit, fsync, publish.
func (d *DB) cycle() {
	d.qmu.Lock()
	appends, acks, flushes := d.inAppend, d.inAcks, d.inFlush
	if len(appends) > maxCycleCallers {
		appends, d.inAppend = appends[:maxCycleCallers], appends[maxCycleCallers:]
		d.poke()
	} else {
		d.inAppend = nil
	}
	d.inAcks, d.inFlush = nil, nil
	d.qmu.Unlock()

	err := d.write(appends, acks)
	for _, r := range appends {
		r.done <- err
	}
	for _, ch := range flushes {
		close(ch)
	}
	if len(appends) > 0 {
		d.lastCallers = len(appends)
	}
	if err == nil {
		d.maybeReclaim()
	}
}

// write does the badger work of one cycle and publishes the new state.
func (d *DB) write(appends []*appendReq, acks []uint64) error {
	if len(appends) == 0 && len(acks) == 0 {
		return nil
	}
	w := newTxnWriter(d.db, d.work)
	var acked, appended int64
	err := func() error {
		for _, seq := range acks {
			ok, err := w.ack(seq)
			if err != nil {
				return err
			}
			if ok {
				acked++
			}
		}
		now := d.opts.Now()
		for _, req := range appends {
			for i := range req.recs {
				r := &req.recs[i]
				r.Seq, r.Created = w.st.lastSeq+1, now
				if err := w.put(*r, encodeValue(now, r.Topic, r.Payload)); err != nil {
					return err
				}
				appended++
			}
		}
		if err := d.evict(w, now); err != nil {
			return err
		}
		return w.commit()
	}()
	if err == nil && appended > 0 {
		err = d.sync()
	}
	if err != nil {
		w.discard()
		d.log.Error("buffer: commit failed", "err", err, "records", appended, "acks", len(acks))
		d.reload()
		return err
	}
	d.work = w.st
	d.sinceDrain += w.removed
	d.mu.Lock()
	d.st = w.st
	if appended > 0 {
		d.durable = w.st.lastSeq
	}
	d.appended += appended
	d.acked += acked
	close(d.notify)
	d.notify = make(chan struct{})
	d.mu.Unlock()
	return nil
}

// maybeReclaim returns disk space once a large backlog has drained. It runs
// after the cycle's callers were answered; appends arriving meanwhile wait
// for it (about 0.4 s after 200,000 records on the 2-core build machine,
// see BenchmarkDiskReclaim).
func (d *DB) maybeReclaim() {
	if d.sinceDrain < d.reclaimMin || d.work.cls[0].count != 0 || d.work.cls[1].count != 0 {
		return
	}
	if err := d.reclaim(); err != nil {
		d.log.Warn("buffer: reclaim disk space after drain", "err", err)
	}
}

// sync makes the cycle durable: badger's WAL and value log, plus rotated
// memtable WALs badger's Sync leaves out (see walSyncer).
func (d *DB) sync() error {
	if err := d.db.Sync(); err != nil {
		return fmt.Errorf("buffer: fsync: %w", err)
	}
	d.syncs.Add(1)
	return d.wal.syncRotated()
}

// reload re-reads the committed bookkeeping after a failed cycle, since
// some of its transactions may have been committed and others not.
func (d *DB) reload() {
	st, err := loadMeta(d.db, d.log)
	if err != nil {
		d.log.Error("buffer: reload meta after failed commit", "err", err)
		return
	}
	d.work = st
	d.mu.Lock()
	d.st = st
	d.mu.Unlock()
}
