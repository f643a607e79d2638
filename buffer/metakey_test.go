package buffer

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// TestMetaKeySortsAfterRecords guards the reason metaKey moved: a level-0
// table holding it must not span the whole queue.
func TestMetaKeySortsAfterRecords(t *testing.T) {
	for _, c := range classes {
		if k := recordKey(c, math.MaxUint64); bytes.Compare(k, metaKey) >= 0 {
			t.Errorf("record key %x sorts at or after meta key %q", k, metaKey)
		}
	}
	if bytes.Compare(reclaimMarker, metaKey) >= 0 {
		t.Errorf("reclaim marker sorts after meta key")
	}
}

// TestLegacyMetaKeyMigrates opens a buffer whose bookkeeping sits under the
// old key, as an older version left it: counters, seq and records must
// survive, the old key must be gone and the seq must continue.
func TestLegacyMetaKeyMigrates(t *testing.T) {
	tests := []struct {
		name string
		// keepNew leaves metaKey in place as well (both present).
		keepNew bool
	}{
		{name: "legacy only"},
		{name: "both keys", keepNew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			d, err := Open(dir, Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			recs := []Record{
				{Class: Telemetry, Topic: "telemetry/a", Payload: []byte(`{"v":1}`)},
				{Class: Event, Topic: "event/a", Payload: []byte(`{"e":1}`)},
				{Class: Telemetry, Topic: "telemetry/a", Payload: []byte(`{"v":2}`)},
			}
			if err := d.Append(ctx, recs); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			bdb, err := badger.Open(badgerOptions(dir, Options{Logger: testLogger(t)}.withDefaults()))
			if err != nil {
				t.Fatal(err)
			}
			err = bdb.Update(func(txn *badger.Txn) error {
				item, err := txn.Get(metaKey)
				if err != nil {
					return err
				}
				v, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				if err := txn.Set(legacyMetaKey, v); err != nil {
					return err
				}
				if tt.keepNew {
					return nil
				}
				return txn.Delete(metaKey)
			})
			if cerr := bdb.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}

			d, err = Open(dir, Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			s := d.Stats()
			if s.Records != 3 || s.EventRecords != 1 || s.LastSeq != 3 {
				t.Fatalf("after migration: records %d, events %d, last seq %d; want 3, 1, 3", s.Records, s.EventRecords, s.LastSeq)
			}
			got, err := d.Next(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[0].Class != Event {
				t.Fatalf("Next after migration returned %d records, first %v; want 3, the event first", len(got), got)
			}
			more := []Record{{Class: Telemetry, Topic: "telemetry/a", Payload: []byte(`{"v":3}`)}}
			if err := d.Append(ctx, more); err != nil {
				t.Fatal(err)
			}
			if more[0].Seq != 4 {
				t.Fatalf("seq after migration %d, want 4", more[0].Seq)
			}
			d.life.RLock()
			err = d.db.View(func(txn *badger.Txn) error {
				_, err := txn.Get(legacyMetaKey)
				return err
			})
			d.life.RUnlock()
			if !errors.Is(err, badger.ErrKeyNotFound) {
				t.Fatalf("legacy meta key after migration: %v, want it deleted", err)
			}
		})
	}
}
