package buffer

import (
	"fmt"
	"time"
)

// maxCycleCallers bounds how many Append calls share one group commit, so
// a burst cannot make one cycle (and everyone's latency) arbitrarily long.
const maxCycleCallers = 4096

// returnWithin tells the two ways appends arrive apart. Appenders that
// wait on the committer (a backlog, or a loop of Appends) are back within
// microseconds of their answer, a few milliseconds when the box's two
// cores are busy; a box's device goroutines, each appending one poll every
// few seconds, arrive at random moments (500 sensors at 10 s: 20 ms apart
// on average). A trickling append taken for a returning one is not lost
// either: it still waits for as many appends as shared the last fsync.
const returnWithin = 5 * time.Millisecond

// lingerEnough ends a linger early: with this many appends sharing one
// fsync its cost is already spread thin, and waiting longer only adds
// latency.
const lingerEnough = 32

// ackDelay is how long acknowledgements may wait for an append cycle to
// ride along with before they are committed on their own. Acks need no
// fsync and Stats, Rewind and Close apply them first, so delaying them
// costs nothing visible, while committing each PUBACK alone cost one badger
// transaction per published message (issue 6, 500 sensors).
const ackDelay = 250 * time.Millisecond

// maxPendingAcks commits acks at once when this many wait (a backlog
// draining at the broker's pace), bounding the inbox and the transaction.
const maxPendingAcks = 4096

// commitLoop is the committer goroutine: the only writer of records. Each
// cycle takes everything in the inbox, writes it in as few transactions as
// badger allows, fsyncs once if anything was appended, and only then
// answers the waiting appenders. Acks alone do not start a cycle at once
// (see ackDelay).
func (d *DB) commitLoop() {
	defer close(d.committerDone)
	window := time.NewTimer(time.Hour)
	window.Stop()
	acksDue := time.NewTimer(time.Hour)
	acksDue.Stop()
	acksArmed := false
	for {
		acksNow := false
		select {
		case <-d.wake:
		case <-acksDue.C:
			acksArmed, acksNow = false, true
		case reply := <-d.maint:
			reply <- d.maintain()
			continue
		case <-d.stop:
			// Close: apply whatever was handed over before it.
			d.cycle()
			return
		}
		woke := time.Now()
		if !acksNow && d.onlyAcksWaiting() {
			if !acksArmed {
				// Let them wait for the next append cycle, but not for ever.
				acksDue.Reset(d.ackDelay)
				acksArmed = true
			}
			continue
		}
		d.gather(window, woke)
		d.cycle()
		if acksArmed {
			// Go ≥ 1.23: after Stop the channel holds no stale tick.
			acksDue.Stop()
			acksArmed = false
		}
	}
}

// onlyAcksWaiting reports whether the inbox holds acks but nothing that
// must be answered (no appends, no flush) and not so many acks that they
// should go now.
func (d *DB) onlyAcksWaiting() bool {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	return len(d.inAppend) == 0 && len(d.inFlush) == 0 && len(d.inAcks) > 0 && len(d.inAcks) < maxPendingAcks
}

// gather decides how long a cycle waits for more appenders to share its
// fsync, up to CommitWindow in either of two regimes:
//
//   - Returning appenders (the first append came within returnWithin of
//     the previous cycle's answers): stop once as many wait as took part in
//     the previous cycle. With a steady set of N appenders each comes back
//     right after its answer, so waiting longer only adds latency, and a
//     lone appender in a loop pays no window at all.
//   - Trickling appenders (the committer was idle): linger for the whole
//     window, unless lingerEnough appends or an Event record (an alarm
//     should not wait) arrive first. This is the quiet box's normal case:
//     500 sensors at 10 s are 50 lone appends a second, and giving each its
//     own fsync was most of the daemon's CPU (issue 6). Nobody waits on
//     these appends but the device goroutines, whose next poll is seconds
//     away.
//
// woke is when the committer saw the first append of this cycle.
func (d *DB) gather(timer *time.Timer, woke time.Time) {
	n, urgent := d.pendingAppends()
	if n == 0 {
		return
	}
	returning := d.lastCallers > 0 && woke.Sub(d.answered) < d.returnWithin
	timer.Reset(d.opts.CommitWindow)
	defer timer.Stop()
	for !d.enough(n, urgent, returning) {
		select {
		case <-d.wake:
		case <-timer.C:
			return
		case <-d.stop:
			return
		}
		n, urgent = d.pendingAppends()
	}
}

// enough reports whether a gathering cycle has waited long enough.
func (d *DB) enough(n int, urgent, returning bool) bool {
	switch {
	case n >= maxCycleCallers:
		return true
	case returning:
		return n >= d.lastCallers
	default:
		return urgent || n >= lingerEnough
	}
}

// pendingAppends counts waiting Append calls and whether any carries an
// Event record.
func (d *DB) pendingAppends() (n int, urgent bool) {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	return len(d.inAppend), d.inUrgent
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
		d.inUrgent = false
	}
	d.inAcks, d.inFlush = nil, nil
	d.qmu.Unlock()

	n := len(appends)
	appends, refused := d.admit(appends)
	acks = d.admitAcks(acks)
	err := d.write(appends, acks)
	if n > 0 {
		d.lastCallers = n
		d.answered = time.Now()
	}
	for _, r := range refused {
		r.done <- fmt.Errorf("buffer: append: %w (%d bytes free, %d kept in reserve)", ErrDiskFull, d.diskAvail.Load(), d.reserve)
	}
	for _, r := range appends {
		r.done <- err
	}
	for _, ch := range flushes {
		close(ch)
	}
	if err == nil {
		d.maybeReclaim()
		d.checkpointSeq()
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
		n := 2 // room for an eviction notice
		for _, req := range appends {
			n += len(req.recs)
		}
		if err := d.reserveSeqs(w.st, n); err != nil {
			return err
		}
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
		if err := d.reportEvictions(w, now); err != nil {
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
