package buffer

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// txnWriter spreads one commit cycle's mutations over as few badger
// transactions as possible. Every transaction it commits also carries the
// meta key describing the state after exactly that transaction, so counters,
// head hints and last seq stay consistent with the records whatever point a
// crash interrupts.
//
// A badger transaction may hold at most ~15% of a memtable
// (DB.MaxBatchSize/MaxBatchCount); the writer cuts transactions at half of
// that by its own estimate, and if badger still answers ErrTxnTooBig it
// commits what it has and retries the mutation in a fresh transaction.
type txnWriter struct {
	db  *badger.DB
	txn *badger.Txn
	// st is the working state including uncommitted mutations.
	st meta
	// headDirty marks classes whose head record was deleted.
	headDirty [2]bool
	size      int64
	count     int64
	maxSize   int64
	maxCount  int64
	// commits counts committed transactions (for tests and logs).
	commits int
	// removed counts records deleted (acked or evicted): tombstones.
	removed int64
}

// entryOverhead approximates badger's per-entry bookkeeping in a
// transaction's size estimate (meta bytes, version, skiplist node).
const entryOverhead = 24

func newTxnWriter(db *badger.DB, st meta) *txnWriter {
	return &txnWriter{
		db:       db,
		st:       st,
		maxSize:  db.MaxBatchSize() / 2,
		maxCount: db.MaxBatchCount() / 2,
	}
}

// room makes sure the current transaction can take one more entry of n
// bytes, committing it first when the budget is spent.
func (w *txnWriter) room(n int) error {
	if w.txn != nil && (w.size+int64(n+entryOverhead) > w.maxSize || w.count+1 >= w.maxCount) {
		if err := w.commit(); err != nil {
			return err
		}
	}
	if w.txn == nil {
		w.txn = w.db.NewTransaction(true)
		w.size, w.count = int64(len(metaKey)+metaLen+entryOverhead), 1
	}
	w.size += int64(n + entryOverhead)
	w.count++
	return nil
}

// apply runs one badger mutation, splitting the transaction if badger
// finds it too big after all.
func (w *txnWriter) apply(n int, f func(*badger.Txn) error) error {
	if err := w.room(n); err != nil {
		return err
	}
	err := f(w.txn)
	if errors.Is(err, badger.ErrTxnTooBig) {
		if err := w.commit(); err != nil {
			return err
		}
		if err := w.room(n); err != nil {
			return err
		}
		err = f(w.txn)
	}
	return err
}

// put stores a new record; seq must be above every seq stored so far.
func (w *txnWriter) put(r Record, val []byte) error {
	key := recordKey(r.Class, r.Seq)
	if err := w.apply(len(key)+len(val), func(t *badger.Txn) error { return t.Set(key, val) }); err != nil {
		return fmt.Errorf("buffer: store record %d: %w", r.Seq, err)
	}
	cm := w.st.class(r.Class)
	if cm.count == 0 {
		cm.head, cm.headCreated = r.Seq, r.Created.UnixNano()
	}
	cm.count++
	cm.bytes += int64(len(key) + len(val))
	w.st.lastSeq = max(w.st.lastSeq, r.Seq)
	return nil
}

// ack deletes seq from whichever class holds it and reports whether it was
// there. Unknown, duplicate or evicted seqs leave the counters alone.
func (w *txnWriter) ack(seq uint64) (bool, error) {
	for _, c := range classes {
		key := recordKey(c, seq)
		if err := w.room(len(key)); err != nil {
			return false, err
		}
		item, err := w.txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("buffer: ack %d: look up: %w", seq, err)
		}
		size := int64(len(key)) + item.ValueSize()
		if err := w.remove(c, seq, size, false); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// remove deletes a record known to exist with the given logical size.
func (w *txnWriter) remove(c Class, seq uint64, size int64, evicted bool) error {
	key := recordKey(c, seq)
	if err := w.apply(len(key), func(t *badger.Txn) error { return t.Delete(key) }); err != nil {
		return fmt.Errorf("buffer: delete record %d: %w", seq, err)
	}
	w.removed++
	cm := w.st.class(c)
	cm.count--
	cm.bytes -= size
	if evicted {
		cm.evicted++
		cm.pend.add(seq, size)
	}
	if seq <= cm.head || cm.count == 0 {
		w.headDirty[classIndex(c)] = true
	}
	return nil
}

// victim is a record chosen for eviction.
type victim struct {
	seq  uint64
	size int64
}

// scan walks class c from its head inside the current transaction (so it
// sees this cycle's own puts and deletes) and returns up to limit records
// for which keep returns true, stopping at the first one it rejects.
func (w *txnWriter) scan(c Class, limit int, keep func(created int64, size int64) bool) ([]victim, error) {
	if w.txn == nil {
		if err := w.room(0); err != nil {
			return nil, err
		}
	}
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = classPrefix(c)
	it := w.txn.NewIterator(opt)
	defer it.Close()
	var out []victim
	for it.Seek(recordKey(c, w.st.class(c).head)); it.Valid() && len(out) < limit; it.Next() {
		item := it.Item()
		_, seq, ok := parseRecordKey(item.Key())
		if !ok {
			continue
		}
		var created int64
		if err := item.Value(func(v []byte) error {
			t, _, _, err := decodeValue(v)
			created = t.UnixNano()
			return err
		}); err != nil {
			// A damaged record is the best candidate for eviction; age it.
			created = 0
		}
		size := int64(len(item.Key())) + item.ValueSize()
		if !keep(created, size) {
			break
		}
		out = append(out, victim{seq: seq, size: size})
	}
	return out, nil
}

// fixHeads recomputes the head hint of classes whose head was deleted by
// seeking from the old head; the walk passes only the tombstones this and
// earlier acks left right behind the head.
func (w *txnWriter) fixHeads() error {
	for _, c := range classes {
		if !w.headDirty[classIndex(c)] {
			continue
		}
		cm := w.st.class(c)
		if cm.count <= 0 {
			cm.head, cm.headCreated = w.st.lastSeq+1, 0
			w.headDirty[classIndex(c)] = false
			continue
		}
		first, err := w.scan(c, 1, func(int64, int64) bool { return true })
		if err != nil {
			return err
		}
		if len(first) == 0 {
			// Counters say records remain but none were found: the meta
			// drifted (see verify in Open); record the truth.
			cm.count, cm.bytes = 0, 0
			cm.head, cm.headCreated = w.st.lastSeq+1, 0
		} else {
			cm.head = first[0].seq
			if err := w.readCreated(c, cm); err != nil {
				return err
			}
		}
		w.headDirty[classIndex(c)] = false
	}
	return nil
}

// readCreated fills headCreated from the record at head.
func (w *txnWriter) readCreated(c Class, cm *classMeta) error {
	item, err := w.txn.Get(recordKey(c, cm.head))
	if err != nil {
		return fmt.Errorf("buffer: read head record %d: %w", cm.head, err)
	}
	return item.Value(func(v []byte) error {
		t, _, _, err := decodeValue(v)
		if err != nil {
			cm.headCreated = 1 // damaged: treat as ancient so it is evicted
			return nil
		}
		cm.headCreated = t.UnixNano()
		return nil
	})
}

// commit writes the meta key and commits the open transaction, if any.
// The meta key always fits: the writer's budget leaves half of badger's
// limit free, and after an ErrTxnTooBig the refused mutation is not in the
// transaction.
func (w *txnWriter) commit() error {
	if w.txn == nil {
		return nil
	}
	txn := w.txn
	defer txn.Discard()
	if err := w.fixHeads(); err != nil {
		w.txn = nil
		return err
	}
	w.txn = nil
	if err := txn.Set(metaKey, w.st.encode()); err != nil {
		return fmt.Errorf("buffer: write meta: %w", err)
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("buffer: commit: %w", err)
	}
	w.commits++
	return nil
}

// discard drops the open transaction after an error.
func (w *txnWriter) discard() {
	if w.txn != nil {
		w.txn.Discard()
		w.txn = nil
	}
}
