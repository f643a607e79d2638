package buffer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock for MaxAge tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// opener builds a fresh, empty queue for one subtest.
type opener func(t *testing.T, opts Options) Queue

func rec(c Class, topic, payload string) Record {
	return Record{Class: c, Topic: topic, Payload: []byte(payload)}
}

// mustAppend appends one record per call, so each gets its own seq in
// call order.
func mustAppend(t *testing.T, q Queue, recs ...Record) []uint64 {
	t.Helper()
	seqs := make([]uint64, 0, len(recs))
	for _, r := range recs {
		batch := []Record{r}
		if err := q.Append(context.Background(), batch); err != nil {
			t.Fatalf("Append(%q): %v", r.Payload, err)
		}
		seqs = append(seqs, batch[0].Seq)
	}
	return seqs
}

// nextN reads with a deadline so a broken queue fails instead of hanging.
func nextN(t *testing.T, q Queue, max int) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := q.Next(ctx, max)
	if err != nil {
		t.Fatalf("Next(%d): %v", max, err)
	}
	return recs
}

// drainAll reads until the queue has nothing more for a short while.
func drainAll(t *testing.T, q Queue) []Record {
	t.Helper()
	var out []Record
	for range 100_000 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := q.Next(ctx, 1000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, recs...)
	}
	t.Fatal("drainAll: queue never ran dry")
	return nil
}

func payloads(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Payload)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// runSuite checks the Queue contract; every implementation must pass it.
func runSuite(t *testing.T, open opener) {
	t.Run("order and fields", func(t *testing.T) {
		clk := newFakeClock()
		q := open(t, Options{Now: clk.Now})
		seqs := mustAppend(t, q, rec(Telemetry, "telemetry/a", "1"), rec(Telemetry, "telemetry/b", "2"), rec(Telemetry, "telemetry/a", "3"))
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Fatalf("seqs not increasing: %v", seqs)
			}
		}
		got := nextN(t, q, 10)
		if want := []string{"1", "2", "3"}; !equalStrings(payloads(got), want) {
			t.Fatalf("payloads = %v, want %v", payloads(got), want)
		}
		for i, r := range got {
			if r.Seq != seqs[i] || r.Class != Telemetry || !r.Created.Equal(clk.Now()) {
				t.Errorf("record %d = %+v, want seq %d created %v", i, r, seqs[i], clk.Now())
			}
		}
		if got[1].Topic != "telemetry/b" {
			t.Errorf("topic = %q", got[1].Topic)
		}
	})

	t.Run("events before telemetry", func(t *testing.T) {
		q := open(t, Options{})
		mustAppend(t, q, rec(Telemetry, "t", "t1"), rec(Event, "e", "e1"), rec(Telemetry, "t", "t2"), rec(Event, "e", "e2"))
		if got, want := payloads(nextN(t, q, 10)), []string{"e1", "e2", "t1", "t2"}; !equalStrings(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		// A new event jumps ahead of older telemetry still unread.
		mustAppend(t, q, rec(Telemetry, "t", "t3"), rec(Telemetry, "t", "t4"), rec(Event, "e", "e3"))
		if got, want := payloads(nextN(t, q, 2)), []string{"e3", "t3"}; !equalStrings(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})

	t.Run("cursor and rewind", func(t *testing.T) {
		q := open(t, Options{})
		seqs := mustAppend(t, q, rec(Telemetry, "t", "a"), rec(Telemetry, "t", "b"), rec(Event, "e", "c"), rec(Telemetry, "t", "d"))
		steps := []struct {
			name string
			do   func()
			max  int
			want []string
		}{
			{"first page", nil, 2, []string{"c", "a"}},
			{"second page", nil, 2, []string{"b", "d"}},
			{"rewind after ack", func() {
				if err := q.Ack(seqs[0], seqs[2]); err != nil {
					t.Fatal(err)
				}
				q.Rewind()
			}, 10, []string{"b", "d"}},
			{"rewind again", q.Rewind, 1, []string{"b"}},
		}
		for _, s := range steps {
			if s.do != nil {
				s.do()
			}
			if got := payloads(nextN(t, q, s.max)); !equalStrings(got, s.want) {
				t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
			}
		}
	})

	t.Run("ack", func(t *testing.T) {
		cases := []struct {
			name      string
			acks      func(seqs []uint64) []uint64
			wantLeft  []string
			wantAcked int64
		}{
			{"in order", func(s []uint64) []uint64 { return s[:2] }, []string{"e", "c", "d"}, 2},
			{"out of order", func(s []uint64) []uint64 { return []uint64{s[3], s[0]} }, []string{"e", "b", "c"}, 2},
			{"duplicates", func(s []uint64) []uint64 { return []uint64{s[1], s[1], s[4], s[1]} }, []string{"a", "c", "d"}, 2},
			{"unknown", func(s []uint64) []uint64 { return []uint64{0, s[4] + 1000, s[2]} }, []string{"e", "a", "b", "d"}, 1},
			{"all", func(s []uint64) []uint64 { return s }, nil, 5},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				q := open(t, Options{})
				seqs := mustAppend(t, q, rec(Telemetry, "t", "a"), rec(Telemetry, "t", "b"), rec(Telemetry, "t", "c"),
					rec(Telemetry, "t", "d"), rec(Event, "x", "e"))
				nextN(t, q, 10)
				acks := tc.acks(seqs)
				// Ack in two calls to exercise batching across calls.
				if err := q.Ack(acks[:1]...); err != nil {
					t.Fatal(err)
				}
				if err := q.Ack(acks[1:]...); err != nil {
					t.Fatal(err)
				}
				st := q.Stats()
				left := int64(len(tc.wantLeft))
				var wantBytes int64
				for _, p := range tc.wantLeft {
					topic := "t"
					if p == "e" {
						topic = "x"
					}
					wantBytes += recordSize(topic, []byte(p))
				}
				if st.Records != left || st.Acked != tc.wantAcked || st.Bytes != wantBytes || st.Appended != 5 {
					t.Fatalf("stats = %+v, want records %d bytes %d acked %d", st, left, wantBytes, tc.wantAcked)
				}
				q.Rewind()
				var got []string
				if left > 0 {
					got = payloads(nextN(t, q, 10))
				}
				if !equalStrings(got, tc.wantLeft) {
					t.Fatalf("left %v, want %v", got, tc.wantLeft)
				}
				// Acking again changes nothing.
				if err := q.Ack(acks...); err != nil {
					t.Fatal(err)
				}
				if st2 := q.Stats(); st2.Records != st.Records || st2.Bytes != st.Bytes || st2.Acked != st.Acked {
					t.Fatalf("second ack changed stats: %+v -> %+v", st, st2)
				}
			})
		}
	})

	t.Run("blocking next", func(t *testing.T) {
		q := open(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := q.Next(ctx, 1)
			errc <- err
		}()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel = %v, want context.Canceled", err)
		}
		got := make(chan []Record, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			recs, _ := q.Next(ctx, 5)
			got <- recs
		}()
		mustAppend(t, q, rec(Event, "e", "wake"))
		if recs := <-got; !equalStrings(payloads(recs), []string{"wake"}) {
			t.Fatalf("blocked Next got %v", payloads(recs))
		}
	})

	t.Run("eviction by bytes", func(t *testing.T) {
		size := recordSize("t", []byte("p00"))
		q := open(t, Options{MaxBytes: 10 * size})
		var ev, tel []Record
		for i := range 3 {
			ev = append(ev, rec(Event, "t", fmt.Sprintf("e%02d", i)))
		}
		for i := range 10 {
			tel = append(tel, rec(Telemetry, "t", fmt.Sprintf("t%02d", i)))
		}
		mustAppend(t, q, ev...)
		mustAppend(t, q, tel...)
		st := q.Stats()
		if st.Records != 10 || st.Bytes != 10*size || st.EventRecords != 3 || st.EvictedTelemetry != 3 || st.EvictedEvents != 0 {
			t.Fatalf("after 13 records: %+v", st)
		}
		want := []string{"e00", "e01", "e02", "t03", "t04", "t05", "t06", "t07", "t08", "t09"}
		if got := payloads(nextN(t, q, 20)); !equalStrings(got, want) {
			t.Fatalf("kept %v, want %v", got, want)
		}
		// Ten more events push out all telemetry first, then the oldest events.
		var more []Record
		for i := 3; i < 13; i++ {
			more = append(more, rec(Event, "t", fmt.Sprintf("e%02d", i)))
		}
		mustAppend(t, q, more...)
		st = q.Stats()
		if st.Records != 10 || st.EventRecords != 10 || st.EvictedTelemetry != 10 || st.EvictedEvents != 3 || st.Bytes != 10*size {
			t.Fatalf("after 10 more events: %+v", st)
		}
		q.Rewind()
		want = []string{"e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10", "e11", "e12"}
		if got := payloads(nextN(t, q, 20)); !equalStrings(got, want) {
			t.Fatalf("kept %v, want %v", got, want)
		}
		// Acking an evicted seq is a no-op.
		if err := q.Ack(1, 4); err != nil {
			t.Fatal(err)
		}
		if st2 := q.Stats(); st2.Records != 10 || st2.Acked != 0 {
			t.Fatalf("ack of evicted seqs changed stats: %+v", st2)
		}
	})

	t.Run("eviction by age", func(t *testing.T) {
		clk := newFakeClock()
		q := open(t, Options{MaxAge: time.Hour, Now: clk.Now})
		mustAppend(t, q, rec(Telemetry, "t", "old1"), rec(Event, "e", "old2"))
		clk.Advance(30 * time.Minute)
		mustAppend(t, q, rec(Telemetry, "t", "mid"))
		clk.Advance(31 * time.Minute)
		mustAppend(t, q, rec(Telemetry, "t", "new"))
		st := q.Stats()
		if st.Records != 2 || st.EvictedTelemetry != 1 || st.EvictedEvents != 1 {
			t.Fatalf("stats = %+v", st)
		}
		if want := clk.Now().Add(-31 * time.Minute); !st.Oldest.Equal(want) {
			t.Fatalf("Oldest = %v, want %v", st.Oldest, want)
		}
		if got, want := payloads(nextN(t, q, 10)), []string{"mid", "new"}; !equalStrings(got, want) {
			t.Fatalf("kept %v, want %v", got, want)
		}
	})

	t.Run("too large", func(t *testing.T) {
		q := open(t, Options{MaxBytes: 100})
		err := q.Append(context.Background(), []Record{rec(Telemetry, "t", string(make([]byte, 200)))})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Append of oversized record = %v, want ErrTooLarge", err)
		}
		if err := q.Append(context.Background(), []Record{{Class: 7, Topic: "t"}}); err == nil {
			t.Fatal("Append with unknown class succeeded")
		}
	})

	t.Run("concurrent appenders", func(t *testing.T) {
		q := open(t, Options{})
		const workers, perWorker = 8, 40
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					c := Telemetry
					if i%5 == 0 {
						c = Event
					}
					batch := []Record{rec(c, "t", fmt.Sprintf("%d/%d", w, i)), rec(Telemetry, "t", fmt.Sprintf("%d/%db", w, i))}
					if err := q.Append(context.Background(), batch); err != nil {
						errs <- err
						return
					}
					if batch[1].Seq != batch[0].Seq+1 {
						errs <- fmt.Errorf("batch seqs %d, %d not consecutive", batch[0].Seq, batch[1].Seq)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		recs := drainAll(t, q)
		if len(recs) != workers*perWorker*2 {
			t.Fatalf("read %d records, want %d", len(recs), workers*perWorker*2)
		}
		seen := map[uint64]bool{}
		var maxSeq uint64
		for _, r := range recs {
			if seen[r.Seq] {
				t.Fatalf("seq %d twice", r.Seq)
			}
			seen[r.Seq] = true
			maxSeq = max(maxSeq, r.Seq)
		}
		if maxSeq != uint64(len(recs)) || q.Stats().LastSeq != maxSeq {
			t.Fatalf("seqs not dense: max %d for %d records, LastSeq %d", maxSeq, len(recs), q.Stats().LastSeq)
		}
	})

	t.Run("closed", func(t *testing.T) {
		q := open(t, Options{})
		mustAppend(t, q, rec(Telemetry, "t", "x"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			q.Next(ctx, 10) // takes x
			_, err := q.Next(ctx, 10)
			errc <- err
		}()
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Next after Close = %v, want ErrClosed", err)
		}
		if err := q.Append(context.Background(), []Record{rec(Telemetry, "t", "y")}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Append after Close = %v", err)
		}
		if err := q.Ack(1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Ack after Close = %v", err)
		}
		if _, err := q.Next(ctx, 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close = %v", err)
		}
		if err := q.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close = %v", err)
		}
	})
}

func TestMemory(t *testing.T) {
	runSuite(t, func(t *testing.T, opts Options) Queue {
		q := NewMemory(opts)
		t.Cleanup(func() { q.Close() })
		return q
	})
}

func TestBadger(t *testing.T) {
	runSuite(t, func(t *testing.T, opts Options) Queue {
		opts.Logger = testLogger(t)
		q, err := Open(t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Close() })
		return q
	})
}
