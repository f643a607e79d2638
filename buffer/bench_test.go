package buffer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// samplePayload is about the size of a real telemetry message (~250 bytes
// stored with key and topic).
var samplePayload = []byte(`{"schema":1,"gateway":"gw-01","ts":"2026-11-22T13:00:00.000Z","device":"usv-rack","kind":"ups","metrics":[{"name":"battery.charge","value":100,"unit":"%"},{"name":"input.voltage","value":231.5,"unit":"V"},{"name":"ups.load","value":23,"unit":"%"}]}`)

// BenchmarkAppendDurable measures group-committed, fsynced appends: every
// Append call carries one sample and returns only after its fsync. The
// appenders stand for device goroutines polling at the same time; the
// throughput is appenders / fsync latency, so it grows with them.
func BenchmarkAppendDurable(b *testing.B) {
	for _, appenders := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			d, err := Open(b.TempDir(), Options{Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range appenders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						r := []Record{{Class: Telemetry, Topic: "telemetry/usv-rack", Payload: samplePayload}}
						if err := d.Append(context.Background(), r); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			if s := d.syncs.Load(); s > 0 {
				b.ReportMetric(float64(b.N)/float64(s), "samples/fsync")
			}
		})
	}
}

// BenchmarkDrain measures the uplink's side: Next in pages, Ack per page,
// over a backlog filled before the timer starts.
func BenchmarkDrain(b *testing.B) {
	d, err := Open(b.TempDir(), Options{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	fill(b, d, b.N, Telemetry)
	b.ResetTimer()
	read := 0
	for read < b.N {
		recs, err := d.Next(context.Background(), 256)
		if err != nil {
			b.Fatal(err)
		}
		seqs := make([]uint64, len(recs))
		for i, r := range recs {
			seqs[i] = r.Seq
		}
		if err := d.Ack(seqs...); err != nil {
			b.Fatal(err)
		}
		read += len(recs)
	}
	if st := d.Stats(); st.Records != 0 {
		b.Fatalf("%d records left after drain", st.Records)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// fill appends n records in large batches (one fsync per batch).
func fill(tb testing.TB, d *DB, n int, c Class) {
	tb.Helper()
	for n > 0 {
		batch := make([]Record, min(n, 2000))
		for i := range batch {
			batch[i] = Record{Class: c, Topic: "telemetry/usv-rack", Payload: variedPayload(n - i)}
		}
		if err := d.Append(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
		n -= len(batch)
	}
}

// drain reads and acks everything, then waits for the acks to apply.
func drain(tb testing.TB, d *DB) {
	tb.Helper()
	for d.Stats().Records > 0 {
		recs, err := d.Next(context.Background(), 1000)
		if err != nil {
			tb.Fatal(err)
		}
		seqs := make([]uint64, len(recs))
		for i, r := range recs {
			seqs[i] = r.Seq
		}
		if err := d.Ack(seqs...); err != nil {
			tb.Fatal(err)
		}
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// variedPayload is samplePayload with its numbers changed per record, so
// that compression sees realistic, not identical, records.
func variedPayload(i int) []byte {
	p := fmt.Appendf(nil, `{"schema":1,"gateway":"gw-01","ts":"2026-11-22T13:%02d:%02d.%03dZ","device":"usv-rack-%d","kind":"ups","metrics":[{"name":"battery.charge","value":%d,"unit":"%%"},{"name":"input.voltage","value":%d.%d,"unit":"V"},{"name":"ups.load","value":%d,"unit":"%%"},{"name":"battery.runtime","value":%d,"unit":"s"}]}`,
		i%60, (i/60)%60, i%1000, i%7, i*7919%101, 200+i*31%60, i%10, i*104729%100, i*15485863%100000)
	return p
}

// BenchmarkFirstReadOverTombstones shows why readers seek to the head hint:
// after 100,000 acked records only the newest remains, and finding it by
// iterating from the start of the prefix walks every tombstone (badger
// issues #496, #768), while the head seek lands on it directly.
func BenchmarkFirstReadOverTombstones(b *testing.B) {
	const n = 100_000
	d, err := Open(b.TempDir(), Options{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	fill(b, d, n, Telemetry)
	seqs := make([]uint64, 0, n-1)
	for s := uint64(1); s < n; s++ {
		seqs = append(seqs, s)
	}
	if err := d.Ack(seqs...); err != nil {
		b.Fatal(err)
	}
	st := d.Stats()
	if st.Records != 1 {
		b.Fatalf("%d records left, want 1", st.Records)
	}
	d.mu.Lock()
	snap, durable := d.st, d.durable
	d.mu.Unlock()
	b.Run("seek-head", func(b *testing.B) {
		for range b.N {
			d.rmu.Lock()
			d.cursor = [2]uint64{}
			d.rmu.Unlock()
			recs, err := d.read(1, snap, durable)
			if err != nil || len(recs) != 1 || recs[0].Seq != n {
				b.Fatalf("read %v, %v", recs, err)
			}
		}
	})
	b.Run("scan-from-start", func(b *testing.B) {
		for range b.N {
			var got []victim
			err := d.db.View(func(txn *badger.Txn) error {
				var err error
				got, err = scanKeys(txn, Telemetry, 0, 1)
				return err
			})
			if err != nil || len(got) != 1 || got[0].seq != n {
				b.Fatalf("scan %v, %v", got, err)
			}
		}
	})
}
