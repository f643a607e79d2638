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
}

// meta is everything the buffer must remember across restarts.
type meta struct {
	// lastSeq is the highest seq ever assigned; it is persisted with the
	// records so a seq is never reused, even after the queue was drained.
	lastSeq uint64
	cls     [2]classMeta
}

const (
	metaVersion  = 1
	classMetaLen = 5 * 8
	metaLen      = 1 + 8 + 2*classMetaLen
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
	return b
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	if len(b) != metaLen || b[0] != metaVersion {
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
