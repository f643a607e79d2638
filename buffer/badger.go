package buffer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// DB is the durable Queue on badger. Create it with Open.
//
// One committer goroutine is the only writer of queue records: it assigns
// seqs, group-commits appends, applies acks and evictions, and fsyncs. Next
// reads through badger snapshots and never blocks the committer.
type DB struct {
	db   *badger.DB
	dir  string
	opts Options
	log  *slog.Logger

	// life guards d.db against use after Close: readers hold it shared.
	life   sync.RWMutex
	dbGone bool

	// qmu guards the inbox the committer drains each cycle.
	qmu      sync.Mutex
	closed   bool
	inAppend []*appendReq
	// inUrgent marks an Event record among inAppend: it ends a linger.
	inUrgent bool
	inAcks   []uint64
	inFlush  []chan struct{}
	wake     chan struct{}

	stop          chan struct{}
	committerDone chan struct{}
	maint         chan chan error
	gcDone        chan struct{}

	// mu guards the published state below.
	mu sync.Mutex
	st meta
	// durable is the highest seq known to be fsynced; Next never returns
	// a record above it, so nothing is published that a crash could take
	// back and whose seq could then be given to another record.
	durable  uint64
	notify   chan struct{}
	appended int64
	acked    int64

	// syncs counts group commits that fsynced (for benchmarks).
	syncs atomic.Int64

	// rmu guards the read cursor (seq to continue from, per class).
	rmu    sync.Mutex
	cursor [2]uint64

	// Owned by the committer goroutine.
	work        meta
	wal         *walSyncer
	lastCallers int
	// answered is when the last cycle with appends answered them.
	answered time.Time
	// returnWithin and ackDelay are the constants of the same names;
	// tests widen them to check the committer's logic without racing it.
	returnWithin, ackDelay time.Duration
	// sinceDrain counts records deleted since the last reclaim.
	sinceDrain int64
	// noReclaim disables the reclaim after a drain; benchmarks use it to
	// show what the reclaim buys.
	noReclaim bool
	// reclaimMin is the deletions after which a drain triggers a reclaim
	// (reclaimAfter; the crash test lowers it to kill reclaims midway).
	reclaimMin int64

	// reserve is the free space kept on the file system (0: unknown, no
	// checks); diskFull is the buffer.disk_full condition; diskAvail the
	// free space last measured; refused counts appends refused for space.
	reserve   int64
	diskFull  atomic.Bool
	diskAvail atomic.Int64
	refused   atomic.Int64
	// lastShort is when free space was last found below the reserve
	// (committer); fullHold is diskFullHold (tests shorten it).
	lastShort time.Time
	fullHold  atomic.Int64

	// seq file state, owned by the committer after Open.
	seqPath   string
	seqf      seqFile
	seqWrote  time.Time
	seqFailed bool
	// seqEvery is seqCheckpointEvery (tests set 0: every cycle).
	seqEvery time.Duration

	// lastEvictNotice is when evictions were last reported; noticeEvery
	// is noticeEvery (tests shorten it).
	lastEvictNotice time.Time
	noticeEvery     time.Duration
}

// appendReq is one Append call waiting for its group commit.
type appendReq struct {
	recs []Record
	done chan error
}

var _ Queue = (*DB)(nil)

// Open opens or creates the buffer in dir. A directory that exists but
// cannot be opened as a buffer gives an error wrapping ErrCorrupt; one on
// a file system without room to open it, ErrDiskFull. Damage Open can
// repair is repaired and reported as a Notice (see preflight).
func Open(dir string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("buffer: create %s: %w", dir, err)
	}
	now := opts.Now()
	var reserve, avail int64
	if ds, err := statDisk(dir); err != nil {
		opts.Logger.Warn("buffer: cannot measure free disk space; no reserve is kept", "err", err)
	} else {
		reserve, avail = reserveFor(ds.total), ds.avail
		if capped, ok := capMaxBytes(opts.MaxBytes, ds, reserve); ok {
			opts.Logger.Warn("buffer: max_bytes capped to what the file system can hold",
				"max_bytes", opts.MaxBytes, "capped", capped, "fs_size", ds.total, "reserve", reserve)
			opts.MaxBytes = capped
		}
		if need := openNeed(dir); ds.avail < need {
			return nil, fmt.Errorf("buffer: open %s: %w: %d bytes free, %d needed", dir, ErrDiskFull, ds.avail, need)
		}
	}
	sf, sfOK, sfErr := readSeqFile(seqPath(dir))
	fresh := isNewBuffer(dir)
	rep, err := preflight(dir, now, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("buffer: open %s: %w: check files: %w", dir, ErrCorrupt, err)
	}
	if rep.repaired() {
		opts.Logger.Error("buffer: damaged files found and repaired", "dir", dir, "repair", rep.String())
	}
	bdb, err := openBadger(dir, opts)
	if err != nil {
		return nil, err
	}
	d := &DB{
		db:            bdb,
		dir:           dir,
		opts:          opts,
		log:           opts.Logger,
		wake:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		committerDone: make(chan struct{}),
		maint:         make(chan chan error),
		gcDone:        make(chan struct{}),
		notify:        make(chan struct{}),
		wal:           newWALSyncer(dir, opts.Logger),
		reclaimMin:    reclaimAfter,
		returnWithin:  returnWithin,
		ackDelay:      ackDelay,
		reserve:       reserve,
		seqPath:       seqPath(dir),
		noticeEvery:   noticeEvery,
		seqEvery:      seqCheckpointEvery,
	}
	d.diskAvail.Store(avail)
	d.fullHold.Store(int64(diskFullHold))
	fail := func(err error) (*DB, error) {
		_ = bdb.Close()
		return nil, err
	}
	if err := migrateMetaKey(bdb, opts.Logger); err != nil {
		return fail(fmt.Errorf("buffer: open %s: %w", dir, err))
	}
	st, err := loadMeta(bdb, opts.Logger)
	if err != nil {
		return fail(fmt.Errorf("buffer: open %s: %w: %w", dir, ErrCorrupt, err))
	}
	var notices []Notice
	if rep.repaired() {
		n, recounted, err := damageNotice(bdb, st, rep, opts.Logger)
		if err != nil {
			return fail(fmt.Errorf("buffer: open %s: %w: recount after repair: %w", dir, ErrCorrupt, err))
		}
		st = recounted
		notices = append(notices, n)
	}
	st, sn := continueSeq(st, sf, sfOK, sfErr, fresh)
	if sn != nil {
		notices = append(notices, *sn)
	}
	// After a process crash (not a power cut) the previous run's last
	// writes may still sit in the page cache only. Make them durable before
	// Next may publish them: a record published and then lost in a power
	// cut would see its seq handed to another record.
	if err := d.sync(); err != nil {
		return fail(fmt.Errorf("buffer: open %s: %w", dir, err))
	}
	// The seq file goes first: the notices below take seqs.
	d.seqf = sf
	note := ""
	if rep.repaired() {
		note = "repaired: " + rep.String()
	}
	if sn != nil {
		note = strings.TrimPrefix(note+"; "+sn.Message, "; ")
	}
	d.seqf.Boots = append(d.seqf.Boots, boot{At: now.UTC(), FirstSeq: st.lastSeq + 1, PrevClean: sfOK && sf.Clean, Note: note})
	if err := d.writeSeq(st, st.lastSeq+seqReserve, false); err != nil {
		return fail(fmt.Errorf("buffer: open %s: %w", dir, err))
	}
	if len(notices) > 0 || st.hasPending() {
		w := newTxnWriter(bdb, st)
		for _, n := range notices {
			if err := d.putNotice(w, n, now); err != nil {
				w.discard()
				return fail(fmt.Errorf("buffer: open %s: %w", dir, err))
			}
		}
		if err := d.reportEvictions(w, now); err != nil {
			w.discard()
			return fail(fmt.Errorf("buffer: open %s: %w", dir, err))
		}
		// Also records the continued seq in the meta record.
		if err := w.commit(); err != nil {
			return fail(fmt.Errorf("buffer: open %s: %w", dir, err))
		}
		if err := d.sync(); err != nil {
			return fail(fmt.Errorf("buffer: open %s: %w", dir, err))
		}
		st = w.st
	}
	d.syncs.Store(0)
	d.st, d.work, d.durable = st, st, st.lastSeq
	for _, c := range classes {
		d.cursor[classIndex(c)] = st.class(c).head
	}
	go d.commitLoop()
	go d.gcLoop()
	d.log.Debug("buffer opened", "dir", dir, "last_seq", st.lastSeq,
		"events", st.class(Event).count, "telemetry", st.class(Telemetry).count)
	return d, nil
}

// Append implements Queue. The records are copied; on success their Seq and
// Created fields are set in recs. If ctx ends first the records may still
// be stored (delivery is at-least-once).
func (d *DB) Append(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err := checkRecord(r, d.opts.MaxBytes); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("buffer: append: %w", err)
	}
	urgent := false
	for _, r := range recs {
		urgent = urgent || r.Class == Event
	}
	req := &appendReq{recs: append([]Record(nil), recs...), done: make(chan error, 1)}
	d.qmu.Lock()
	if d.closed {
		d.qmu.Unlock()
		return ErrClosed
	}
	d.inAppend = append(d.inAppend, req)
	d.inUrgent = d.inUrgent || urgent
	d.qmu.Unlock()
	d.poke()
	select {
	case err := <-req.done:
		if err != nil {
			return err
		}
		for i := range recs {
			recs[i].Seq, recs[i].Created = req.recs[i].Seq, req.recs[i].Created
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("buffer: append: %w", ctx.Err())
	}
}

// Ack implements Queue. It hands the seqs to the committer and returns at
// once; Stats and Rewind wait until acks given before them are applied.
func (d *DB) Ack(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	d.qmu.Lock()
	if d.closed {
		d.qmu.Unlock()
		return ErrClosed
	}
	d.inAcks = append(d.inAcks, seqs...)
	d.qmu.Unlock()
	d.poke()
	return nil
}

// poke wakes the committer without blocking.
func (d *DB) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// flush waits until everything handed to the committer before the call has
// been applied. It returns false when the queue is closed.
func (d *DB) flush() bool {
	ch := make(chan struct{})
	d.qmu.Lock()
	if d.closed {
		d.qmu.Unlock()
		return false
	}
	d.inFlush = append(d.inFlush, ch)
	d.qmu.Unlock()
	d.poke()
	select {
	case <-ch:
		return true
	case <-d.committerDone:
		return false
	}
}

// Rewind implements Queue. Pending acks are applied first so records the
// uplink already acknowledged are not sent again.
func (d *DB) Rewind() {
	d.flush()
	d.mu.Lock()
	st := d.st
	d.mu.Unlock()
	d.rmu.Lock()
	for _, c := range classes {
		d.cursor[classIndex(c)] = st.class(c).head
	}
	d.rmu.Unlock()
}

// Stats implements Queue. It first waits for pending acks so the counters
// reflect every Ack that returned before the call.
func (d *DB) Stats() Stats {
	d.flush()
	d.mu.Lock()
	st, appended, acked := d.st, d.appended, d.acked
	d.mu.Unlock()
	s := statsOf(st)
	s.Appended, s.Acked = appended, acked
	s.DiskBytes = dirSize(d.dir)
	s.DiskFull = d.diskFull.Load()
	s.DiskAvail, s.DiskReserve = d.diskAvail.Load(), d.reserve
	s.MaxBytes = d.opts.MaxBytes
	return s
}

// statsOf converts the bookkeeping into the public snapshot.
func statsOf(st meta) Stats {
	ev, tel := st.class(Event), st.class(Telemetry)
	return Stats{
		Records:          ev.count + tel.count,
		Bytes:            ev.bytes + tel.bytes,
		EventRecords:     ev.count,
		EventBytes:       ev.bytes,
		Oldest:           st.oldest(),
		EvictedTelemetry: tel.evicted,
		EvictedEvents:    ev.evicted,
		LastSeq:          st.lastSeq,
	}
}

// Close implements Queue: it lets the committer finish what was handed to
// it (pending appends and acks), stops the GC loop and closes badger. On a
// file system too full for badger's final flush it leaves the store
// unclosed (as a crash would; every record is in the fsynced log) and
// returns an error wrapping ErrDiskFull.
func (d *DB) Close() error {
	d.qmu.Lock()
	if d.closed {
		d.qmu.Unlock()
		return ErrClosed
	}
	d.closed = true
	d.qmu.Unlock()
	close(d.stop)
	<-d.committerDone
	<-d.gcDone
	d.life.Lock()
	defer d.life.Unlock()
	d.dbGone = true
	if d.reserve > 0 {
		// Closing flushes the memtable into a table through a memory-
		// mapped file: on a full file system that is a SIGBUS. Everything
		// is in the fsynced memtable log already, so leave badger as a
		// crash would; the next Open replays the log.
		if ds, err := statDisk(d.dir); err == nil && ds.avail < ackMinFree+memAllocated(d.dir) {
			d.log.Error("buffer: file system full at close; the store is left for the next start to replay", "avail", ds.avail)
			return fmt.Errorf("buffer: close %s: %w: left unflushed", d.dir, ErrDiskFull)
		}
	}
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("buffer: close badger: %w", err)
	}
	// Every seq issued is now in a closed store: the next Open continues
	// right after it instead of after the ceiling.
	if err := d.writeSeq(d.work, 0, true); err != nil {
		return err
	}
	return nil
}

// isClosing reports whether Close has begun.
func (d *DB) isClosing() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// errIfGone is used by readers holding d.life.
func (d *DB) errIfGone() error {
	if d.dbGone {
		return ErrClosed
	}
	return nil
}
