package buffer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	writerDirEnv   = "PRAXISGATE_BUFFER_WRITER_DIR"
	writerCountEnv = "PRAXISGATE_BUFFER_WRITER_COUNT"
)

// damagePayload is a reading with random content, so tables hold real
// bytes (JSON of one device compresses too well to make several tables).
func damagePayload(i int) []byte {
	var r [48]byte
	_, _ = rand.Read(r[:])
	return fmt.Appendf(nil, `{"i":%d,"device":"fridge-%d","noise":"%s"}`, i, i%7, hex.EncodeToString(r[:]))
}

// writeRecords appends n records in batches of 100 (every tenth record an
// event) and returns the seqs they got.
func writeRecords(ctx context.Context, d Queue, n int) ([]uint64, error) {
	var seqs []uint64
	for i := 0; i < n; i += 100 {
		batch := make([]Record, 0, 100)
		for j := i; j < min(i+100, n); j++ {
			c := Telemetry
			if j%10 == 0 {
				c = Event
			}
			batch = append(batch, Record{Class: c, Topic: "telemetry/x", Payload: damagePayload(j)})
		}
		if err := d.Append(ctx, batch); err != nil {
			return seqs, err
		}
		for _, r := range batch {
			seqs = append(seqs, r.Seq)
		}
	}
	return seqs, nil
}

// writerChild appends count records and exits without Close, as a killed
// daemon would: the last ones stay in badger's memtable log only. It
// checkpoints the seq file at every commit, so the parent knows exactly
// which seqs were issued. It prints the last seq.
func writerChild(dir, count string) int {
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	d.seqEvery = 0
	seqs, err := writeRecords(context.Background(), d, n)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(seqs[len(seqs)-1])
	return 0
}

// runWriterChild runs writerChild on dir and returns the last seq.
func runWriterChild(t *testing.T, dir string, n int) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerDirEnv+"="+dir, writerCountEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("writer child: %v", err)
	}
	last, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("writer child printed %q", out)
	}
	return last
}

// largestFile returns the biggest file in dir with the suffix.
func largestFile(t *testing.T, dir, suffix string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	best, size := "", int64(-1)
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && strings.HasSuffix(e.Name(), suffix) && info.Size() > size {
			best, size = filepath.Join(dir, e.Name()), info.Size()
		}
	}
	if best == "" {
		t.Fatalf("no *%s file in %s", suffix, dir)
	}
	return best
}

// overwrite writes b at off in path.
func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// dataEnd is the offset after the last non-zero byte of a file (badger's
// memtable logs are preallocated and zero beyond their entries).
func dataEnd(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	return int64(end)
}

// TestDamageIsRepairedAndReported writes thousands of records in several
// sessions (so there are several tables), damages the files the way a
// failing SD card or an interrupted copy does, and reopens: Open must not
// crash, must deliver every record it kept, must report what it lost with
// counts (and the counts must add up), and the seqs must continue above
// every seq issued before.
func TestDamageIsRepairedAndReported(t *testing.T) {
	const sessions, perSession = 3, 5000
	cases := []struct {
		name string
		// damage breaks dir; it returns whether records may be lost.
		damage func(t *testing.T, dir string) (mayLose bool)
		// crashed leaves the last session's records in the memtable log.
		crashed bool
	}{
		{"table truncated", func(t *testing.T, dir string) bool {
			p := largestFile(t, dir, ".sst")
			if err := os.Truncate(p, fileSize(t, p)/2); err != nil {
				t.Fatal(err)
			}
			return true
		}, false},
		{"table tail zeroed", func(t *testing.T, dir string) bool {
			p := largestFile(t, dir, ".sst")
			n := min(fileSize(t, p), 8<<10)
			overwrite(t, p, fileSize(t, p)-n, make([]byte, n))
			return true
		}, false},
		{"garbage in the middle of a table", func(t *testing.T, dir string) bool {
			p := largestFile(t, dir, ".sst")
			junk := make([]byte, 1024)
			_, _ = rand.Read(junk)
			overwrite(t, p, fileSize(t, p)/2, junk)
			return true
		}, false},
		{"MANIFEST deleted", func(t *testing.T, dir string) bool {
			if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
				t.Fatal(err)
			}
			return false
		}, false},
		{"MANIFEST half truncated", func(t *testing.T, dir string) bool {
			p := filepath.Join(dir, "MANIFEST")
			if err := os.Truncate(p, fileSize(t, p)/2); err != nil {
				t.Fatal(err)
			}
			return false
		}, false},
		{"key registry garbage", func(t *testing.T, dir string) bool {
			junk := make([]byte, 512)
			_, _ = rand.Read(junk)
			writeFile(t, filepath.Join(dir, "KEYREGISTRY"), junk)
			return false
		}, false},
		{"memtable log truncated after a crash", func(t *testing.T, dir string) bool {
			p := largestFile(t, dir, ".mem")
			if err := os.Truncate(p, dataEnd(t, p)/2); err != nil {
				t.Fatal(err)
			}
			return true
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "buffer")
			written := map[uint64]bool{}
			var lastIssued uint64
			for s := range sessions {
				if tc.crashed && s == sessions-1 {
					lastIssued = runWriterChild(t, dir, perSession)
					for q := lastIssued - perSession + 1; q <= lastIssued; q++ {
						written[q] = true
					}
					break
				}
				d := openT(t, dir, Options{})
				seqs, err := writeRecords(context.Background(), d, perSession)
				if err != nil {
					t.Fatal(err)
				}
				closeT(t, d)
				for _, q := range seqs {
					written[q] = true
				}
				lastIssued = seqs[len(seqs)-1]
			}
			mayLose := tc.damage(t, dir)

			opts := noticeOptions()
			opts.Logger = testLogger(t)
			d, err := Open(dir, opts)
			if err != nil {
				t.Fatalf("Open after damage: %v", err)
			}
			recs := drainAll(t, d)
			ns := noticesIn(recs)
			got := 0
			for _, r := range recs {
				if r.Topic == "event/box" {
					if r.Seq <= lastIssued {
						t.Fatalf("notice got seq %d, already issued before the damage (up to %d)", r.Seq, lastIssued)
					}
					continue
				}
				if !written[r.Seq] {
					t.Fatalf("record seq %d was never written", r.Seq)
				}
				got++
			}
			if len(ns) == 0 {
				t.Fatalf("no notice after %s; %d of %d records delivered", tc.name, got, len(written))
			}
			var lost, missingSeqs int64
			for _, n := range ns {
				t.Logf("notice seq %d: %s", n.seq, n.Message)
				lost += int64(num(n.Attrs["telemetry_lost"]) + num(n.Attrs["event_lost"]))
				m := int64(num(n.Attrs["missing_seqs"]))
				if upTo := int64(num(n.Attrs["may_be_missing_up_to"])); upTo > 0 {
					// the checkpoint-to-ceiling range counts as reported
					m = max(m, upTo-int64(num(n.Attrs["last_seq_found"])))
				}
				missingSeqs += m
			}
			t.Logf("%d of %d records delivered, %d reported lost, %d seqs reported missing", got, len(written), lost, missingSeqs)
			if !mayLose && got != len(written) {
				t.Fatalf("%d of %d records delivered after a repair that should keep all", got, len(written))
			}
			if int64(got)+lost+missingSeqs < int64(len(written)) {
				t.Fatalf("%d delivered + %d reported lost + %d seqs missing < %d written: a silent loss",
					got, lost, missingSeqs, len(written))
			}
			next := mustAppend(t, d, rec(Telemetry, "t", "after"))
			if next[0] <= lastIssued {
				t.Fatalf("seq %d handed out again (issued up to %d before)", next[0], lastIssued)
			}

			// The repair holds: acknowledge everything, and the next Open
			// finds nothing to repair and nothing left.
			seqs := []uint64{next[0]}
			for _, r := range recs {
				seqs = append(seqs, r.Seq)
			}
			if err := d.Ack(seqs...); err != nil {
				t.Fatal(err)
			}
			closeT(t, d)
			d = openT(t, dir, opts)
			defer closeT(t, d)
			if left := drainAll(t, d); len(left) != 0 {
				t.Fatalf("after the repair and acks, the next Open holds %d records, first %q", len(left), left[0].Payload)
			}
		})
	}
}

// num reads a JSON number (absent is 0).
func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
