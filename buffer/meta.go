package buffer

import (
	"encoding/binary"
	"fmt"
	"time"
)

// classMeta is the bookkeeping of one class. It lives in the meta key and is
// rewritten in the same transaction as the records it describes.
type classMeta struct {
	count, bytes, evicted int64
	// head is the lowest seq that may still be present: every record of
	// the class has seq >= head. Readers seek here after a restart instead
	// of from the start of the prefix, which may be a field of tombstones.
	head uint64
	// headCreated is the Created time (unix ns) of the record at head, 0 when
	// the class is empty. It serves Stats.Oldest and cheap age checks.
	headCreated int64
	// pend is the evictions not yet reported as a notice. It is written
	// with the evictions themselves, so a crash cannot make one silent.
	pend evictRange
}

// evictRange sums up evictions of one class: how many records and bytes,
// and the lowest and highest seq among them.
type evictRange struct {
	count, bytes      int64
	firstSeq, lastSeq uint64
}

// add counts one evicted record.
func (e *evictRange) add(seq uint64, size int64) {
	if e.count == 0 || seq < e.firstSeq {
		e.firstSeq = seq
	}
	e.lastSeq = max(e.lastSeq, seq)
	e.count++
	e.bytes += size
}

// meta is everything the buffer must remember across restarts.
type meta struct {
	// lastSeq is the highest seq ever assigned; it is persisted with the
	// records so a seq is never reused, even after the queue was drained.
	lastSeq uint64
	cls     [2]classMeta
	// pendWhy records why the pending evictions happened (evictWhy bits).
	pendWhy uint8
}

// Reasons for evictions (meta.pendWhy bits).
const (
	whyBytes uint8 = 1 << iota // over Options.MaxBytes
	whyAge                     // older than Options.MaxAge
	whyDisk                    // the file system ran short of its reserve
)

// Meta layouts: version 1 (until 2026-12) without pending evictions,
// version 2 with them. Both are read; version 2 is written.
const (
	metaVersion    = 2
	classMetaLen   = 5 * 8
	metaLenV1      = 1 + 8 + 2*classMetaLen
	pendLen        = 4 * 8
	metaLen        = metaLenV1 + 2*pendLen + 1
	metaVersionOld = 1
)

func (m *meta) class(c Class) *classMeta { return &m.cls[classIndex(c)] }

func (m *meta) totalBytes() int64 { return m.cls[0].bytes + m.cls[1].bytes }

func (m *meta) encode() []byte {
	b := make([]byte, 0, metaLen)
	b = append(b, metaVersion)
	b = binary.BigEndian.AppendUint64(b, m.lastSeq)
	for _, c := range m.cls {
		b = binary.BigEndian.AppendUint64(b, uint64(c.count))
		b = binary.BigEndian.AppendUint64(b, uint64(c.bytes))
		b = binary.BigEndian.AppendUint64(b, uint64(c.evicted))
		b = binary.BigEndian.AppendUint64(b, c.head)
		b = binary.BigEndian.AppendUint64(b, uint64(c.headCreated))
	}
	for _, c := range m.cls {
		b = binary.BigEndian.AppendUint64(b, uint64(c.pend.count))
		b = binary.BigEndian.AppendUint64(b, uint64(c.pend.bytes))
		b = binary.BigEndian.AppendUint64(b, c.pend.firstSeq)
		b = binary.BigEndian.AppendUint64(b, c.pend.lastSeq)
	}
	return append(b, m.pendWhy)
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	v1 := len(b) == metaLenV1 && len(b) > 0 && b[0] == metaVersionOld
	if !v1 && (len(b) != metaLen || b[0] != metaVersion) {
		return m, fmt.Errorf("meta record of %d bytes, version byte %v: unknown layout", len(b), b[:min(1, len(b))])
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[i : i+8]) }
	m.lastSeq = u(1)
	for i := range m.cls {
		o := 9 + i*classMetaLen
		m.cls[i] = classMeta{
			count:       int64(u(o)),
			bytes:       int64(u(o + 8)),
			evicted:     int64(u(o + 16)),
			head:        u(o + 24),
			headCreated: int64(u(o + 32)),
		}
		if m.cls[i].count < 0 || m.cls[i].bytes < 0 || m.cls[i].evicted < 0 {
			return m, fmt.Errorf("meta record has negative counters")
		}
	}
	if v1 {
		return m, nil
	}
	for i := range m.cls {
		o := metaLenV1 + i*pendLen
		m.cls[i].pend = evictRange{
			count:    int64(u(o)),
			bytes:    int64(u(o + 8)),
			firstSeq: u(o + 16),
			lastSeq:  u(o + 24),
		}
		if m.cls[i].pend.count < 0 || m.cls[i].pend.bytes < 0 {
			return m, fmt.Errorf("meta record has negative eviction counters")
		}
	}
	m.pendWhy = b[metaLen-1]
	return m, nil
}

// oldest is the Created time of the oldest record of any class.
func (m *meta) oldest() time.Time {
	var t int64
	for _, c := range m.cls {
		if c.count > 0 && c.headCreated != 0 && (t == 0 || c.headCreated < t) {
			t = c.headCreated
		}
	}
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, t)
}
