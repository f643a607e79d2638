package buffer

import "encoding/binary"

// Key layout. Every record key is the queue prefix, the class and the
// big-endian seq, so that badger's byte order is seq order within a class
// and a reader can seek straight to a cursor instead of walking from the
// start of the prefix over tombstones (badger issues #496, #768).
const (
	queuePrefixByte = 'q'
	// recordKeyLen is the length of every record key: prefix, class, seq.
	recordKeyLen = 1 + 1 + 8
)

// metaKey holds the buffer's bookkeeping (last seq, per-class counters,
// head hints). It is rewritten in every transaction that changes records,
// so counters and records can never disagree after a crash.
//
// It sorts after every record key ('~' > 'q') on purpose. Each memtable,
// and so each level-0 table, holds a version of it, and a level-0 table's
// key range runs from its smallest to its largest key. With the key in
// front of the records ("!meta" until 2026-11) every level-0 table spanned
// the whole queue, so each level-0 compaction rewrote every table of the
// base level: with a 100k backlog, all 100k records on every fourth
// memtable flush, several table builders at once, about 25 MiB of Go heap
// (the start-up RSS peak of BenchmarkRSS in cmd/praxisgate). Behind the
// records, a table written while offline spans only the newest records and
// the compaction touches only the tail of the base level.
var metaKey = []byte("~meta")

// legacyMetaKey is where buffers written before 2026-11 keep their
// bookkeeping; Open moves it to metaKey (migrateMetaKey).
var legacyMetaKey = []byte("!meta")

// queuePrefix covers the records of every class; DropPrefix on it reclaims
// disk space once the queue is empty.
var queuePrefix = []byte{queuePrefixByte}

// reclaimMarker sits under queuePrefix but is no record (class 0); see
// reclaim.
var reclaimMarker = []byte{queuePrefixByte, 0}

// classPrefix is the prefix of all record keys of one class.
func classPrefix(c Class) []byte {
	return []byte{queuePrefixByte, byte(c)}
}

// recordKey builds the key of record seq in class c.
func recordKey(c Class, seq uint64) []byte {
	k := make([]byte, recordKeyLen)
	k[0] = queuePrefixByte
	k[1] = byte(c)
	binary.BigEndian.PutUint64(k[2:], seq)
	return k
}

// parseRecordKey splits a record key; ok is false for anything else.
func parseRecordKey(k []byte) (c Class, seq uint64, ok bool) {
	if len(k) != recordKeyLen || k[0] != queuePrefixByte {
		return 0, 0, false
	}
	c = Class(k[1])
	if c != Telemetry && c != Event {
		return 0, 0, false
	}
	return c, binary.BigEndian.Uint64(k[2:]), true
}

// classes lists the classes in read order: events first.
var classes = [...]Class{Event, Telemetry}

// classIndex maps a class to a slot in per-class arrays.
func classIndex(c Class) int {
	if c == Event {
		return 0
	}
	return 1
}

func validClass(c Class) bool { return c == Telemetry || c == Event }
