package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// valueVersion is the first byte of every stored value. A reader that finds
// another version refuses the record instead of guessing its layout, so a
// downgrade after an upgrade cannot publish garbage.
const valueVersion = 1

// valueHeaderLen is version plus created time (unix nanoseconds).
const valueHeaderLen = 1 + 8

// maxTopicLen bounds topics; MQTT topics are short and a longer length
// prefix read from disk means the value is damaged.
const maxTopicLen = 1024

// MaxRecordBytes bounds one record (key plus encoded value). Badger keeps
// values up to its value threshold inside the LSM tree and a transaction may
// not exceed about 15% of a memtable, so huge records would stall the
// committer; device readings and events are a few hundred bytes.
const MaxRecordBytes = 256 << 10

// ErrTooLarge is returned by Append for a record bigger than MaxRecordBytes
// or than the whole buffer (Options.MaxBytes).
var ErrTooLarge = errors.New("record too large for buffer")

// errBadValue marks a stored value that cannot be decoded.
var errBadValue = errors.New("bad record value")

// encodeValue lays out one record value: version, created, topic length
// (uvarint), topic, payload.
func encodeValue(created time.Time, topic string, payload []byte) []byte {
	b := make([]byte, 0, valueLen(topic, payload))
	b = append(b, valueVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(created.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(topic)))
	b = append(b, topic...)
	b = append(b, payload...)
	return b
}

// valueLen is the encoded length of a value without building it.
func valueLen(topic string, payload []byte) int {
	var tmp [binary.MaxVarintLen64]byte
	return valueHeaderLen + binary.PutUvarint(tmp[:], uint64(len(topic))) + len(topic) + len(payload)
}

// recordSize is the logical size of a record as counted against MaxBytes:
// key plus value. Both implementations use it so their counters agree.
func recordSize(topic string, payload []byte) int64 {
	return int64(recordKeyLen + valueLen(topic, payload))
}

// decodeValue parses bytes read back from disk. The payload aliases b; the
// caller copies if b is reused (badger's value slices are only valid inside
// the transaction).
func decodeValue(b []byte) (created time.Time, topic string, payload []byte, err error) {
	if len(b) < valueHeaderLen {
		return time.Time{}, "", nil, fmt.Errorf("%w: %d bytes, shorter than header", errBadValue, len(b))
	}
	if b[0] != valueVersion {
		return time.Time{}, "", nil, fmt.Errorf("%w: format version %d, want %d", errBadValue, b[0], valueVersion)
	}
	created = time.Unix(0, int64(binary.BigEndian.Uint64(b[1:valueHeaderLen])))
	rest := b[valueHeaderLen:]
	n, w := binary.Uvarint(rest)
	if w <= 0 {
		return time.Time{}, "", nil, fmt.Errorf("%w: topic length unreadable", errBadValue)
	}
	rest = rest[w:]
	if n > maxTopicLen || n > uint64(len(rest)) {
		return time.Time{}, "", nil, fmt.Errorf("%w: topic length %d with %d bytes left", errBadValue, n, len(rest))
	}
	return created, string(rest[:n]), rest[n:], nil
}

// checkRecord rejects a record the buffer cannot store.
func checkRecord(r Record, maxBytes int64) error {
	if !validClass(r.Class) {
		return fmt.Errorf("buffer: append: unknown class %d", r.Class)
	}
	if len(r.Topic) > maxTopicLen {
		return fmt.Errorf("buffer: append: topic of %d bytes: %w", len(r.Topic), ErrTooLarge)
	}
	if sz := recordSize(r.Topic, r.Payload); sz > MaxRecordBytes || sz > maxBytes {
		return fmt.Errorf("buffer: append: record of %d bytes: %w", sz, ErrTooLarge)
	}
	return nil
}
