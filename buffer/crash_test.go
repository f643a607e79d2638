package buffer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	crashDirEnv = "PRAXISGATE_BUFFER_CRASH_DIR"
	crashRunEnv = "PRAXISGATE_BUFFER_CRASH_RUN"
	// crashChildLife bounds a child that nobody kills.
	crashChildLife = 20 * time.Second
)

// crashChild is the child side of TestCrashSafety. It opens the buffer,
// prints "O", then appends from several goroutines and prints
// "A <seq> <payload>" for each record only after Append returned nil. A
// reader acknowledges every third record (every record in odd runs), printing "K <seq>" before the
// Ack, so the parent treats it as possibly gone. Each line is one write(2)
// of less than PIPE_BUF bytes, so a SIGKILL cannot tear it.
func crashChild(dir, run string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var mu sync.Mutex
	say := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.WriteString(s)
	}
	d, err := Open(dir, Options{Logger: log, CommitWindow: 2 * time.Millisecond})
	if err != nil {
		say(fmt.Sprintf("E open: %v\n", strings.ReplaceAll(err.Error(), "\n", " ")))
		return 1
	}
	// Reclaim (DropPrefix) after every small drain, so kills also land in
	// the middle of one.
	d.reclaimMin = 50
	say("O\n")
	ctx, cancel := context.WithTimeout(context.Background(), crashChildLife)
	defer cancel()
	// Odd runs append in 30 ms bursts with 30 ms pauses and ack
	// everything, so the queue often drains to its tail (the case where a
	// forgotten last seq would be handed out again) and a reclaim runs
	// after each burst.
	odd := strings.IndexAny(run[len(run)-1:], "13579") == 0
	start := time.Now()
	pausing := func() bool { return odd && (time.Since(start)/(30*time.Millisecond))%2 == 1 }
	for g := range 4 {
		go func() {
			for i := 0; ctx.Err() == nil; i++ {
				if pausing() {
					time.Sleep(2 * time.Millisecond)
					continue
				}
				recs := make([]Record, 1+i%3)
				for j := range recs {
					c := Telemetry
					if (i+j)%7 == 0 {
						c = Event
					}
					recs[j] = Record{Class: c, Topic: "telemetry/crash", Payload: fmt.Appendf(nil, "%s/%d/%d/%d", run, g, i, j)}
				}
				if err := d.Append(ctx, recs); err != nil {
					if ctx.Err() == nil {
						say(fmt.Sprintf("E append: %v\n", err))
					}
					return
				}
				var b strings.Builder
				for _, r := range recs {
					fmt.Fprintf(&b, "A %d %s\n", r.Seq, r.Payload)
				}
				say(b.String())
			}
		}()
	}
	go func() {
		for ctx.Err() == nil {
			recs, err := d.Next(ctx, 50)
			if err != nil {
				return
			}
			for _, r := range recs {
				if odd || r.Seq%3 == 0 {
					say(fmt.Sprintf("K %d\n", r.Seq))
					if err := d.Ack(r.Seq); err != nil {
						say(fmt.Sprintf("E ack: %v\n", err))
					}
				}
			}
		}
	}()
	<-ctx.Done()
	return 0
}

// crashRun is what the parent learned from one child.
type crashRun struct {
	opened   bool
	openedIn time.Duration // from process start to the "O" line
	appended map[uint64]string
	acked    []uint64
	errs     []string
}

// TestCrashSafety kills a child that appends under load with SIGKILL at
// random moments, again and again on the same directory, then proves that
// every record the child was told is durable (and did not ack) is still
// there, and that no seq was ever handed out twice.
func TestCrashSafety(t *testing.T) {
	const runs = 24
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dir := filepath.Join(t.TempDir(), "buffer")

	stored := map[uint64]string{} // seq -> payload, over all runs
	acked := map[uint64]bool{}
	var prevMax uint64
	opened := 0
	var slowestOpen time.Duration
	for run := range runs {
		// Every fourth run is killed blind, possibly while Open replays the
		// previous crash; the others only after Open reported success.
		blind := run%4 == 3
		wait := time.Duration(50+rng.IntN(250)) * time.Millisecond
		if blind {
			// From process start: sometimes before Open, sometimes during
			// its replay of the last crash, sometimes well after.
			wait = time.Duration(rng.IntN(400)) * time.Millisecond
		}
		res := runCrashChild(t, dir, fmt.Sprintf("r%d", run), blind, wait)
		if len(res.errs) > 0 {
			t.Fatalf("run %d: child reported %v", run, res.errs)
		}
		if !blind && !res.opened {
			t.Fatalf("run %d: child never opened the buffer", run)
		}
		if res.opened {
			opened++
			slowestOpen = max(slowestOpen, res.openedIn)
		}
		var runMax uint64
		for seq, p := range res.appended {
			if seq <= prevMax {
				t.Fatalf("run %d: seq %d handed out again (earlier runs went up to %d)", run, seq, prevMax)
			}
			if q, dup := stored[seq]; dup && q != p {
				t.Fatalf("run %d: seq %d carries %q and %q", run, seq, q, p)
			}
			stored[seq] = p
			runMax = max(runMax, seq)
		}
		for _, s := range res.acked {
			acked[s] = true
		}
		prevMax = max(prevMax, runMax)
	}

	d := openT(t, dir, Options{})
	defer closeT(t, d)
	present := map[uint64]string{}
	for _, r := range drainAll(t, d) {
		if _, dup := present[r.Seq]; dup {
			t.Fatalf("seq %d read twice", r.Seq)
		}
		present[r.Seq] = string(r.Payload)
	}
	lost := 0
	for seq, p := range stored {
		got, ok := present[seq]
		if ok && got != p {
			t.Fatalf("seq %d: stored %q, read back %q", seq, p, got)
		}
		if !ok && !acked[seq] {
			lost++
			if lost <= 10 {
				t.Errorf("seq %d (%s) was confirmed durable, not acked, and is gone", seq, p)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d confirmed records lost", lost)
	}
	st := d.Stats()
	if st.Records != int64(len(present)) || st.LastSeq < prevMax {
		t.Fatalf("stats %+v disagree with %d records read, max seq confirmed %d", st, len(present), prevMax)
	}
	if len(stored) == 0 {
		t.Fatal("children never confirmed a record; the test proved nothing")
	}
	t.Logf("%d runs (%d opened, slowest start to open %v), %d records confirmed, %d acked, %d present, last seq %d",
		runs, opened, slowestOpen.Round(time.Millisecond), len(stored), len(acked), len(present), st.LastSeq)
}

// runCrashChild starts one child, kills it with SIGKILL after wait (counted
// from its "O" line unless blind) and returns what it printed.
func runCrashChild(t *testing.T, dir, run string, blind bool, wait time.Duration) crashRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+run)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	res := crashRun{appended: map[uint64]string{}}
	started := time.Now()
	openedc := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "O" {
				res.openedIn = time.Since(started)
			}
			parseCrashLine(sc.Text(), &res, openedc)
		}
	}()
	if !blind {
		select {
		case <-openedc:
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("run %s: no Open after 30s", run)
		}
	}
	time.Sleep(wait)
	_ = cmd.Process.Kill()
	<-done
	_ = cmd.Wait()
	if len(res.errs) > 0 && stderr.Len() > 0 {
		t.Logf("child %s stderr:\n%s", run, stderr.String())
	}
	return res
}

func parseCrashLine(line string, res *crashRun, openedc chan struct{}) {
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "O":
		res.opened = true
		close(openedc)
	case "E":
		res.errs = append(res.errs, rest)
	case "A":
		s, p, _ := strings.Cut(rest, " ")
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			res.errs = append(res.errs, "bad line "+line)
			return
		}
		if q, dup := res.appended[seq]; dup {
			res.errs = append(res.errs, fmt.Sprintf("seq %d confirmed twice in one run: %q, %q", seq, q, p))
		}
		res.appended[seq] = p
	case "K":
		seq, err := strconv.ParseUint(rest, 10, 64)
		if err != nil {
			res.errs = append(res.errs, "bad line "+line)
			return
		}
		res.acked = append(res.acked, seq)
	}
}
