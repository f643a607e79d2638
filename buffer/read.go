package buffer

import (
	"context"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Next implements Queue.
func (d *DB) Next(ctx context.Context, max int) ([]Record, error) {
	if max < 1 {
		max = 1
	}
	for {
		d.mu.Lock()
		ch, st, durable := d.notify, d.st, d.durable
		d.mu.Unlock()
		recs, err := d.read(max, st, durable)
		if err != nil || len(recs) > 0 {
			return recs, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-d.stop:
			return nil, ErrClosed
		case <-ch:
		}
	}
}

// read takes up to max records after the cursor, events first. It seeks to
// max(cursor, head) per class, so acknowledged records behind the head
// (tombstones) are never walked.
func (d *DB) read(max int, st meta, durable uint64) ([]Record, error) {
	d.life.RLock()
	defer d.life.RUnlock()
	if err := d.errIfGone(); err != nil {
		return nil, err
	}
	d.rmu.Lock()
	defer d.rmu.Unlock()
	var out []Record
	err := d.db.View(func(txn *badger.Txn) error {
		for _, c := range classes {
			if len(out) >= max {
				return nil
			}
			i := classIndex(c)
			from := d.cursor[i]
			if h := st.class(c).head; h > from {
				from = h
			}
			opt := badger.DefaultIteratorOptions
			opt.PrefetchValues = false
			opt.Prefix = classPrefix(c)
			it := txn.NewIterator(opt)
			for it.Seek(recordKey(c, from)); it.Valid() && len(out) < max; it.Next() {
				item := it.Item()
				_, seq, ok := parseRecordKey(item.Key())
				if !ok || seq > durable {
					break
				}
				rec := Record{Seq: seq, Class: c}
				err := item.Value(func(v []byte) error {
					created, topic, payload, err := decodeValue(v)
					if err != nil {
						return err
					}
					rec.Created, rec.Topic = created, topic
					rec.Payload = append([]byte(nil), payload...)
					return nil
				})
				d.cursor[i] = seq + 1
				if err != nil {
					// A damaged record must not block the queue: skip it; it
					// stays on disk until it is evicted by size or age.
					d.log.Error("buffer: skipping unreadable record", "seq", seq, "class", c.String(), "err", err)
					continue
				}
				out = append(out, rec)
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("buffer: read: %w", err)
	}
	return out, nil
}
