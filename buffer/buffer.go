// Package buffer is the gateway's durable queue: every sample and event is
// appended here before anything is published, and stays until the broker has
// acknowledged it. It is the single source of truth for what still has to
// reach the provider.
//
// Records get a sequence number (seq) that is unique per gateway, increases
// in append order across all classes, survives restarts and never repeats.
// Readers take records from an in-memory cursor (events before telemetry,
// each class in seq order), publish them and acknowledge them by seq; Rewind
// moves the cursor back to the oldest unacknowledged record after a lost
// connection, so delivery is at-least-once.
//
// Two implementations keep the Queue contract: DB (Open), the durable one
// on badger, and Memory (NewMemory), a non-durable twin for other packages'
// unit tests. One test suite runs against both.
//
// How DB keeps its promises:
//
//   - Durability: one committer goroutine collects concurrent Append calls
//     (up to Options.CommitWindow, less when the usual appenders are all
//     there), writes them in as few badger transactions as badger allows,
//     fsyncs once (DB.Sync plus any memtable log badger rotated meanwhile)
//     and only then answers. Next never returns a record before its fsync.
//     Acks need no fsync; they ride along with the next append cycle or
//     are committed on their own after a quarter of a second.
//   - Seq never repeats: the last seq lives in a meta key written in the
//     same transaction as the records, next to per-class counts, bytes,
//     eviction counters and a head hint (the lowest seq that may still be
//     present). Open takes the meta and checks it cheaply against the keys.
//   - Keys are 'q', class, big-endian seq, so key order is seq order and a
//     reader seeks straight to its cursor or the head hint instead of walking
//     tombstones from the start of the prefix (badger issues #496, #768).
//   - Bounds: within each commit the oldest telemetry, then the oldest
//     events, are evicted beyond Options.MaxBytes; records older than
//     Options.MaxAge go in the next commit or GC tick.
//   - Disk space: deleting keys does not shrink badger (issue #1995). When a
//     backlog of at least 10,000 records has drained to empty (and at a GC
//     tick after any drain), the committer drops the whole record prefix,
//     which flushes memtables and rewrites the tables; BenchmarkDiskReclaim
//     shows usage back at its baseline.
//   - Seqs survive a lost directory too: the last seq issued and the boot
//     history live beside the directory in "<dir>.seq", written atomically
//     and fsynced before any seq above its reserved ceiling is used. After
//     a clean Close the next seq follows the last; after a crash it
//     follows the ceiling, so a memtable log cut short cannot hand a seq
//     out twice.
//   - Disk space: the file system keeps a free-space reserve. Below it the
//     oldest telemetry is dropped (whole ranges, which frees disk at once),
//     Stats.DiskFull is set, and appends are refused with ErrDiskFull
//     rather than letting badger's memory-mapped writes hit a full disk.
//     MaxBytes is capped to what the file system holds.
//   - Damage: Open checks the files before badger sees them (preflight)
//     and repairs what it can: damaged tables set aside, the MANIFEST
//     rebuilt, a damaged key registry recreated. Records then missing, and
//     seqs issued but no longer present, are reported as a Notice with
//     counts. What cannot be opened is ErrCorrupt; MoveAside renames it so
//     the daemon can start empty instead of crash-looping.
//   - Every eviction is reported as a Notice with counts and seq ranges.
package buffer

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Class decides read priority and eviction order.
type Class uint8

const (
	// Telemetry is read after events and evicted first.
	Telemetry Class = 1
	// Event (events and alarms) is read first and evicted last.
	Event Class = 2
)

func (c Class) String() string {
	switch c {
	case Telemetry:
		return "telemetry"
	case Event:
		return "event"
	}
	return "unknown"
}

// Record is one queued message.
type Record struct {
	// Seq is assigned by Append.
	Seq uint64
	// Class is Telemetry or Event.
	Class Class
	// Created is set by Append (the buffer's clock) and drives MaxAge.
	Created time.Time
	// Topic is the MQTT topic below the gateway's root, e.g.
	// "telemetry/kuehlschrank-impf".
	Topic string
	// Payload is the message body; the uplink adds seq when publishing.
	Payload []byte
}

// Queue is the contract every implementation keeps (the badger-backed DB
// and the in-memory Memory used by unit tests).
//
// All methods are safe for concurrent use. Append is called by many device
// goroutines at once; Next, Ack and Rewind by the one uplink.
type Queue interface {
	// Append assigns Seq and Created to each record, in order, and returns
	// once all of them are durable (group-committed and fsynced together
	// with other appenders' records). Records are acknowledged to the caller
	// only by a nil error.
	Append(ctx context.Context, recs []Record) error
	// Next returns up to max records after the cursor and advances it:
	// events first, then telemetry, each in seq order. It blocks until at
	// least one record is available or ctx ends.
	Next(ctx context.Context, max int) ([]Record, error)
	// Ack deletes records that reached the broker. Unknown or already
	// deleted seqs are ignored. Acks are batched and need not be fsynced:
	// losing one in a crash only means that record is sent again.
	Ack(seqs ...uint64) error
	// Rewind moves the cursor back so Next returns every unacknowledged
	// record again, oldest first.
	Rewind()
	// Stats reports depth, size, age and eviction counters.
	Stats() Stats
	// Close flushes pending acks and closes the store.
	Close() error
}

// Options bound and tune a queue. Zero values mean the defaults.
type Options struct {
	// MaxBytes bounds the stored records (keys and values); beyond it the
	// oldest telemetry is evicted, and events only when no telemetry is
	// left. Default 2 GiB.
	MaxBytes int64
	// MaxAge evicts records older than this. Default 30 days.
	MaxAge time.Duration
	// CommitWindow is how long an append waits at most for others to share
	// its fsync. When appenders keep coming back (a backlog, a loop), DB
	// stops waiting once as many wait as shared the previous fsync; when
	// lone appends trickle in (a quiet box polling its devices) it waits the
	// whole window unless 32 appends or an Event arrive first, so readings
	// polled around the same time share one fsync. Default 50 ms: 500
	// sensors at 10 s then cost about a fifth of the fsyncs (issue 6), and
	// a reading still reaches the broker well within a second.
	CommitWindow time.Duration
	// GCInterval is how often value-log GC, age eviction and (after a
	// drain) disk reclaim run. Default 5 minutes.
	GCInterval time.Duration
	// Logger receives the store's own logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for Created and MaxAge. Default time.Now.
	Now func() time.Time
	// NoticeRecord builds the Event record (topic and payload) that
	// reports a Notice: evictions, damage found at Open, records lost. The
	// buffer stores it itself, in the transaction of what it reports. When
	// nil, notices are only logged.
	NoticeRecord func(Notice) (Record, error)
}

// Stats is a snapshot of the queue.
type Stats struct {
	// Records and Bytes count what is stored, per class and in total.
	Records, Bytes           int64
	EventRecords, EventBytes int64
	// Oldest is the Created time of the oldest stored record (zero when
	// empty).
	Oldest time.Time
	// Evicted counts records dropped by MaxBytes or MaxAge since the
	// buffer was created (persisted), per class.
	EvictedTelemetry, EvictedEvents int64
	// Appended and Acked count records since this process opened the
	// queue.
	Appended, Acked int64
	// LastSeq is the highest seq ever assigned.
	LastSeq uint64
	// DiskBytes is the disk space the store's files occupy (allocated
	// blocks: badger's preallocated logs are sparse), 0 for Memory.
	DiskBytes int64
	// DiskFull is the buffer.disk_full condition: the file system holding
	// the buffer fell below its free-space reserve, so the oldest
	// telemetry was evicted to make room, and appends of telemetry may be
	// refused with ErrDiskFull. It clears once free space is back above
	// one and a half times the reserve.
	DiskFull bool
	// DiskAvail is the space left on that file system for the service
	// user (blocks reserved for root excluded); DiskReserve is the reserve
	// the buffer keeps free. Both 0 when unknown (and for Memory).
	DiskAvail, DiskReserve int64
	// MaxBytes is the bound in force: Options.MaxBytes, capped to what the
	// file system can hold.
	MaxBytes int64
}

// ErrCorrupt wraps errors from Open when the directory exists but cannot be
// opened as a buffer; the caller may move it aside with MoveAside and start
// empty rather than crash-loop.
var ErrCorrupt = errors.New("buffer corrupt or unreadable")

// ErrDiskFull is returned by Append when the file system holding the
// buffer is below its free-space reserve and evicting old telemetry did not
// make room (events are still taken down to half the reserve), and by Open
// when there is not even room to open the store. Badger writes through
// memory-mapped files, where a full file system kills the process with
// SIGBUS instead of returning an error, so the buffer stops short of it.
var ErrDiskFull = errors.New("buffer disk full")

// ErrClosed is returned by calls on a closed queue.
var ErrClosed = errors.New("buffer closed")
