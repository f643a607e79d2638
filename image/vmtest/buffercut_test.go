//go:build vmtest

package vmtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
)

// TestPowerCutBuffer cuts the power while eight goroutines append to the
// badger buffer (package buffer as it is), each acknowledging a record
// only after Append returned. After every cut the buffer must open without
// repair and hold every acknowledged record under its seq with its
// payload; a seq handed out again would show as a changed payload.
func TestPowerCutBuffer(t *testing.T) {
	if InGuest() {
		guestBuffer(t)
		return
	}
	// 20 cuts in the gate (issue 17); `make powercut-soak` runs 200.
	cuts := 20
	if s := os.Getenv("VMTEST_BUFFER_CUTS"); s != "" {
		cuts, _ = strconv.Atoi(s)
	}
	rep := PowerCuts(t, Options{MemoryMiB: 768}, cuts, 40)
	t.Logf("%d power cuts, %d acknowledged records, all found after each cut; checks found %v", rep.Cuts, rep.Acked, rep.Verified)
}

func guestBuffer(t *testing.T) {
	r := CutRound(t)
	if err := MountDisk("/dev/vda", "/mnt", "ext4"); err != nil {
		t.Fatal(err)
	}
	db, err := buffer.Open("/mnt/buffer", buffer.Options{})
	if err != nil {
		t.Fatalf("the buffer does not open after the power cut: %v", err)
	}
	defer db.Close()
	st := db.Stats()
	got := map[uint64]string{}
	for int64(len(got)) < st.Records {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		recs, err := db.Next(ctx, 1000)
		cancel()
		if err != nil {
			t.Fatalf("read back after %d of %d records: %v", len(got), st.Records, err)
		}
		for _, rec := range recs {
			if _, dup := got[rec.Seq]; dup {
				t.Fatalf("seq %d read twice", rec.Seq)
			}
			got[rec.Seq] = rec.Topic + "|" + string(rec.Payload)
		}
	}
	lost, changed := 0, 0
	var maxSeq uint64
	for _, k := range r.Acked {
		s, want, ok := strings.Cut(k, ":")
		seq, err := strconv.ParseUint(s, 10, 64)
		if !ok || err != nil {
			t.Fatalf("bad ack %q", k)
		}
		maxSeq = max(maxSeq, seq)
		have, ok := got[seq]
		switch {
		case !ok:
			lost++
			t.Errorf("acknowledged seq %d (%s) is lost", seq, want)
		case have != want:
			changed++
			t.Errorf("acknowledged seq %d holds %q, want %q", seq, have, want)
		}
	}
	if st.LastSeq < maxSeq {
		t.Errorf("last seq %d is below the acknowledged seq %d: seqs would be handed out again", st.LastSeq, maxSeq)
	}
	t.Logf("buffer: %d records, last seq %d; %d acknowledged: %d lost, %d changed", st.Records, st.LastSeq, len(r.Acked), lost, changed)
	if t.Failed() {
		t.FailNow()
	}
	r.Verified(len(got))
	if r.Final {
		return
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100000 {
				class, topic := buffer.Telemetry, fmt.Sprintf("telemetry/dev%d", g)
				if i%10 == 0 {
					class, topic = buffer.Event, fmt.Sprintf("event/dev%d", g)
				}
				payload := fmt.Sprintf("boot%d-g%d-i%d-%s", r.Index, g, i, strings.Repeat("x", 64))
				recs := []buffer.Record{{Class: class, Topic: topic, Payload: []byte(payload)}}
				if err := db.Append(context.Background(), recs); err != nil {
					errs <- err
					return
				}
				if err := r.Ack(fmt.Sprintf("%d:%s|%s", recs[0].Seq, topic, payload)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Fatal("the power was not cut")
}
