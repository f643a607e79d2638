package buffer

import (
	"context"
	"slices"
	"sync"
)

// Memory is an in-memory Queue with the same semantics as DB (seq order,
// events first, cursor and Rewind, eviction by size and age, counters) for
// unit tests of the packages that use the buffer, and the gateway's
// stand-in when the disk is too full to open the buffer (OpenInMemory). It
// is NOT durable: everything is lost when the process ends, and from
// NewMemory its seq starts at 1 again (OpenInMemory continues the disk
// buffer's seqs instead).
// Append applies eviction by MaxBytes and MaxAge; there is no GC loop, so
// age eviction happens on Append only.
type Memory struct {
	opts Options

	mu      sync.Mutex
	closed  bool
	recs    [2][]Record // per class, ascending seq
	cursor  [2]uint64
	bytes   [2]int64
	evicted [2]int64
	lastSeq uint64
	// notify is closed and replaced on every append to wake Next.
	notify   chan struct{}
	done     chan struct{}
	appended int64
	acked    int64
	// diskFull and seqGuard are set by OpenInMemory: the queue stands in
	// for a disk buffer that could not be opened. seqGuard is called
	// with the highest seq an Append would issue, before it issues any.
	diskFull bool
	seqGuard func(need uint64) error
}

var _ Queue = (*Memory)(nil)

// NewMemory returns an empty in-memory queue.
func NewMemory(opts Options) *Memory {
	m := &Memory{
		opts:   opts.withDefaults(),
		notify: make(chan struct{}),
		done:   make(chan struct{}),
	}
	m.cursor = [2]uint64{1, 1}
	return m
}

// Append implements Queue; the records are stored at once (no fsync).
func (m *Memory) Append(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err := checkRecord(r, m.opts.MaxBytes); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.seqGuard != nil {
		if err := m.seqGuard(m.lastSeq + uint64(len(recs))); err != nil {
			return err
		}
	}
	now := m.opts.Now()
	for i := range recs {
		m.lastSeq++
		recs[i].Seq, recs[i].Created = m.lastSeq, now
		r := recs[i]
		r.Payload = append([]byte(nil), r.Payload...)
		ci := classIndex(r.Class)
		m.recs[ci] = append(m.recs[ci], r)
		m.bytes[ci] += recordSize(r.Topic, r.Payload)
		m.appended++
	}
	m.evictLocked(now.Add(-m.opts.MaxAge).UnixNano())
	close(m.notify)
	m.notify = make(chan struct{})
	return nil
}

// evictLocked drops the oldest telemetry, then events, beyond MaxBytes,
// and records older than cutoff.
func (m *Memory) evictLocked(cutoff int64) {
	for _, c := range [...]Class{Telemetry, Event} {
		ci := classIndex(c)
		for len(m.recs[ci]) > 0 && m.bytes[0]+m.bytes[1] > m.opts.MaxBytes {
			m.dropFirst(ci)
		}
	}
	for _, c := range [...]Class{Telemetry, Event} {
		ci := classIndex(c)
		for len(m.recs[ci]) > 0 && m.recs[ci][0].Created.UnixNano() < cutoff {
			m.dropFirst(ci)
		}
	}
}

func (m *Memory) dropFirst(ci int) {
	r := m.recs[ci][0]
	m.recs[ci] = m.recs[ci][1:]
	m.bytes[ci] -= recordSize(r.Topic, r.Payload)
	m.evicted[ci]++
}

// Next implements Queue.
func (m *Memory) Next(ctx context.Context, max int) ([]Record, error) {
	if max < 1 {
		max = 1
	}
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		var out []Record
		for _, c := range classes {
			ci := classIndex(c)
			i, _ := slices.BinarySearchFunc(m.recs[ci], m.cursor[ci], func(r Record, s uint64) int {
				return cmpSeq(r.Seq, s)
			})
			for ; i < len(m.recs[ci]) && len(out) < max; i++ {
				r := m.recs[ci][i]
				r.Payload = append([]byte(nil), r.Payload...)
				out = append(out, r)
				m.cursor[ci] = r.Seq + 1
			}
		}
		ch := m.notify
		m.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.done:
			return nil, ErrClosed
		case <-ch:
		}
	}
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Ack implements Queue.
func (m *Memory) Ack(seqs ...uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, s := range seqs {
		for ci := range m.recs {
			i, found := slices.BinarySearchFunc(m.recs[ci], s, func(r Record, s uint64) int {
				return cmpSeq(r.Seq, s)
			})
			if !found {
				continue
			}
			r := m.recs[ci][i]
			m.recs[ci] = slices.Delete(m.recs[ci], i, i+1)
			m.bytes[ci] -= recordSize(r.Topic, r.Payload)
			m.acked++
			break
		}
	}
	return nil
}

// Rewind implements Queue.
func (m *Memory) Rewind() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursor = [2]uint64{1, 1}
}

// Stats implements Queue; DiskBytes is always 0.
func (m *Memory) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev, tel := classIndex(Event), classIndex(Telemetry)
	s := Stats{
		Records:          int64(len(m.recs[ev]) + len(m.recs[tel])),
		Bytes:            m.bytes[ev] + m.bytes[tel],
		EventRecords:     int64(len(m.recs[ev])),
		EventBytes:       m.bytes[ev],
		EvictedTelemetry: m.evicted[tel],
		EvictedEvents:    m.evicted[ev],
		Appended:         m.appended,
		Acked:            m.acked,
		MaxBytes:         m.opts.MaxBytes,
		LastSeq:          m.lastSeq,
		DiskFull:         m.diskFull,
	}
	for ci := range m.recs {
		if len(m.recs[ci]) > 0 {
			if t := m.recs[ci][0].Created; s.Oldest.IsZero() || t.Before(s.Oldest) {
				s.Oldest = t
			}
		}
	}
	return s
}

// Close implements Queue.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	close(m.done)
	return nil
}
