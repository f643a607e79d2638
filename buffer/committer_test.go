package buffer

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The committer's timing decisions are tested with windows and delays of
// an hour: a test then fails by hanging into its context deadline instead
// of passing or failing by a few milliseconds of scheduling.
const (
	forever      = time.Hour
	testDeadline = 30 * time.Second
)

func appendOne(t *testing.T, d *DB, c Class) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	recs := []Record{{Class: c, Topic: "telemetry/x", Payload: []byte(`{"v":1}`)}}
	if err := d.Append(ctx, recs); err != nil {
		t.Fatalf("append %s: %v", c, err)
	}
	return recs[0]
}

// publishedEvents is the event count Stats would report, read without
// flushing the committer's inbox.
func publishedEvents(d *DB) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.class(Event).count
}

// waitUntil polls cond for up to testDeadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testDeadline); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, testDeadline)
		}
	}
}

func pendingAppendCount(d *DB) int {
	n, _ := d.pendingAppends()
	return n
}

// Lone appends trickling into an idle committer share one fsync: the
// first one lingers until lingerEnough have come.
func TestTrickleSharesOneFsync(t *testing.T) {
	d := openT(t, t.TempDir(), Options{CommitWindow: forever})
	defer closeT(t, d)
	var wg sync.WaitGroup
	for range lingerEnough {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
			defer cancel()
			if err := d.Append(ctx, []Record{{Class: Telemetry, Topic: "telemetry/x", Payload: []byte("{}")}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := d.syncs.Load(); got != 1 {
		t.Errorf("%d appends took %d fsyncs, want 1", lingerEnough, got)
	}
	if st := d.Stats(); st.Records != lingerEnough {
		t.Errorf("%d records stored, want %d", st.Records, lingerEnough)
	}
}

// An Event (an alarm) ends a linger: it and the telemetry already waiting
// are committed at once, together.
func TestEventEndsLinger(t *testing.T) {
	d := openT(t, t.TempDir(), Options{CommitWindow: forever})
	defer closeT(t, d)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		done <- d.Append(ctx, []Record{{Class: Telemetry, Topic: "telemetry/x", Payload: []byte("{}")}})
	}()
	waitUntil(t, "telemetry append in the inbox", func() bool { return pendingAppendCount(d) == 1 })
	ev := appendOne(t, d, Event)
	if err := <-done; err != nil {
		t.Fatalf("lingering telemetry append: %v", err)
	}
	if got := d.syncs.Load(); got != 1 {
		t.Errorf("telemetry and event took %d fsyncs, want 1 shared", got)
	}
	if ev.Seq != 2 {
		t.Errorf("event got seq %d, want 2 (after the telemetry that waited)", ev.Seq)
	}
}

// An appender that comes straight back after its answer (here: any time
// within an hour) does not linger: with the usual one appender there it
// goes at once, one fsync per call.
func TestReturningAppenderDoesNotLinger(t *testing.T) {
	d := openT(t, t.TempDir(), Options{CommitWindow: forever})
	defer closeT(t, d)
	d.returnWithin = forever
	appendOne(t, d, Event) // urgent: goes at once and sets lastCallers
	const n = 20
	for range n {
		appendOne(t, d, Telemetry)
	}
	if got := d.syncs.Load(); got != n+1 {
		t.Errorf("%d sequential appends took %d fsyncs, want %d", n+1, got, n+1)
	}
}

// Acks alone wait for the next append cycle; Stats flushes them.
func TestAcksRideAlongWithAppends(t *testing.T) {
	d := openT(t, t.TempDir(), Options{CommitWindow: forever})
	defer closeT(t, d)
	d.ackDelay = forever
	first := appendOne(t, d, Event)
	appendOne(t, d, Event)
	if err := d.Ack(first.Seq); err != nil {
		t.Fatal(err)
	}
	// Nothing but an append, a flush or the (hour-long) delay applies it.
	if got := publishedEvents(d); got != 2 {
		t.Fatalf("ack applied on its own: %d events stored, want 2", got)
	}
	appendOne(t, d, Event)
	if got := publishedEvents(d); got != 2 {
		t.Errorf("after an append cycle %d events stored, want 2 (3 appended, 1 acked)", got)
	}
	if err := d.Ack(first.Seq + 1); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.EventRecords != 1 || st.Acked != 2 {
		t.Errorf("after Stats: %d events stored, %d acked; want 1 and 2", st.EventRecords, st.Acked)
	}
	if got := d.syncs.Load(); got != 3 {
		t.Errorf("%d fsyncs for 3 appends, want 3: acks need none", got)
	}
}

// Acks are committed on their own after ackDelay, and at once when many
// are waiting.
func TestAcksCommittedWithoutAppends(t *testing.T) {
	t.Run("after the delay", func(t *testing.T) {
		d := openT(t, t.TempDir(), Options{CommitWindow: forever})
		defer closeT(t, d)
		d.ackDelay = time.Millisecond
		r := appendOne(t, d, Event)
		if err := d.Ack(r.Seq); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "ack applied", func() bool { return publishedEvents(d) == 0 })
	})
	t.Run("when many wait", func(t *testing.T) {
		d := openT(t, t.TempDir(), Options{CommitWindow: forever})
		defer closeT(t, d)
		d.ackDelay = forever
		recs := make([]Record, maxPendingAcks)
		for i := range recs {
			recs[i] = Record{Class: Event, Topic: "event/x", Payload: []byte("{}")}
		}
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		if err := d.Append(ctx, recs); err != nil {
			t.Fatal(err)
		}
		seqs := make([]uint64, len(recs))
		for i, r := range recs {
			seqs[i] = r.Seq
		}
		if err := d.Ack(seqs...); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "acks applied", func() bool { return publishedEvents(d) == 0 })
	})
}
