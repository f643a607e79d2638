package vmtest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A power-cut test runs a workload in the guest on a disk image, cuts the
// power while it writes, boots again on the same image and checks that
// everything the workload acknowledged before the cut is there. The guest
// half acknowledges with Round.Ack only what its storage promised durable
// (after fsync, after the buffer's Append returned); the host collects the
// acknowledgements from the console, so a record counts as acknowledged
// only if the acknowledgement left the machine before the power went, as
// with a broker's PUBACK.
//
// Rounds alternate the two ways to cut: the host kills qemu (the guest
// kernel's page cache and whatever qemu had not yet written are lost), or
// the guest resets itself with sysrq b (no sync). qemu writes the disk
// image through the host's page cache (cache=writeback), so the disk
// itself never loses a write it completed; what is tested is the guest:
// its file system, its fsyncs and the workload's use of them.

// CutReport sums up PowerCuts.
type CutReport struct {
	Cuts     int             // power cuts done
	Acked    int             // acknowledgements collected over all rounds
	Verified []int           // what each boot's check reported (Round.Verified)
	Boot     []time.Duration // qemu start to init, per boot
	// Keys are all acknowledgements, in order.
	Keys []string
}

// PowerCuts runs the calling top-level test in cuts+1 boots on one disk:
// each boot checks what the earlier boots acknowledged, then writes and
// acknowledges until its power is cut after a random number of
// acknowledgements (between minAcks and 2*minAcks); the last boot only
// checks. It fails t when a boot's check fails or a boot is not cut.
// opts.Disks may name the disk image; otherwise an empty 256 MiB ext4
// image is made (the guest's DiskModules are added either way).
func PowerCuts(t *testing.T, opts Options, cuts, minAcks int) CutReport {
	t.Helper()
	return PowerCutsOwed(t, opts, cuts, minAcks, nil)
}

// PowerCutsOwed is PowerCuts for a workload that hands its records on
// (publishes them to a broker the host runs) and so no longer holds every
// record it acknowledged: before each boot, owed gets every
// acknowledgement so far and returns those the next boot must still find
// (the ones that did not arrive at the host); Round.Acked holds only
// those. A nil owed keeps them all.
func PowerCutsOwed(t *testing.T, opts Options, cuts, minAcks int, owed func(acked []string) []string) CutReport {
	t.Helper()
	dir := t.TempDir()
	if len(opts.Disks) == 0 {
		disk := filepath.Join(dir, "disk.img")
		if err := Ext4Image(disk, 256); err != nil {
			t.Fatal(err)
		}
		opts.Disks = []string{disk}
	}
	opts.Modules = append(append([]string(nil), DiskModules...), opts.Modules...)
	var rep CutReport
	var acked []string
	baseEnv, baseFiles := opts.Env, opts.Files
	for r := 0; r <= cuts; r++ {
		final := r == cuts
		byGuest := r%2 == 1
		cutAfter := minAcks + rand.IntN(minAcks+1)
		ackFile := filepath.Join(dir, fmt.Sprintf("acked-%d.txt", r))
		must := acked
		if owed != nil {
			must = owed(append([]string(nil), acked...))
		}
		if err := os.WriteFile(ackFile, []byte(strings.Join(must, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		o := opts
		o.Files = append(append([]string(nil), baseFiles...), ackFile)
		o.Env = append(append([]string(nil), baseEnv...),
			"VMTEST_ROUND="+strconv.Itoa(r), "VMTEST_FINAL="+strconv.FormatBool(final),
			"VMTEST_CUT_BY_GUEST="+strconv.FormatBool(byGuest), "VMTEST_CUT_AFTER="+strconv.Itoa(cutAfter),
			"VMTEST_ACKED="+ackFile)
		var mu sync.Mutex
		var fresh []string
		verified := -1
		cut := make(chan struct{})
		var once sync.Once
		o.Console = func(line string) {
			if k, ok := strings.CutPrefix(line, ackPrefix); ok {
				mu.Lock()
				fresh = append(fresh, k)
				n := len(fresh)
				mu.Unlock()
				if !final && !byGuest && n >= cutAfter {
					once.Do(func() { close(cut) })
				}
			}
			if v, ok := strings.CutPrefix(line, verifiedPrefix); ok {
				n, _ := strconv.Atoi(v)
				mu.Lock()
				verified = n
				mu.Unlock()
			}
		}
		m, err := StartTest(t, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		ended := make(chan struct{})
		go func() {
			select {
			case <-cut:
				// Cut at a random moment of the next write, not
				// right after an acknowledgement.
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				m.Kill()
			case <-ended:
			}
		}()
		res, err := m.Wait()
		close(ended)
		if err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		mu.Lock()
		acked = append(acked, fresh...)
		rep.Verified = append(rep.Verified, verified)
		n := len(fresh)
		mu.Unlock()
		rep.Boot = append(rep.Boot, res.Boot)
		how := "host killed qemu"
		if byGuest {
			how = "guest sysrq reset"
		}
		switch {
		case final && res.ExitCode != 0:
			t.Fatalf("round %d (final check): guest test failed, exit %d", r, res.ExitCode)
		case final:
			t.Logf("round %d: final check of %d acknowledged records passed", r, len(acked))
		case !res.Killed:
			t.Fatalf("round %d: the guest ended (exit %d) instead of being cut; its check or workload failed (console above)", r, res.ExitCode)
		default:
			rep.Cuts++
			t.Logf("round %d: checked %d, acknowledged %d more, then power cut (%s)", r, verified, n, how)
		}
		if verified < 0 {
			t.Fatalf("round %d: the guest reported no check (Round.Verified)", r)
		}
	}
	rep.Acked = len(acked)
	rep.Keys = acked
	return rep
}

const (
	ackPrefix      = "vmtest: ack "
	verifiedPrefix = "vmtest: verified "
)

// Round is the guest half's view of one boot of PowerCuts.
type Round struct {
	// Index counts boots from 0.
	Index int
	// Final is the last boot: check, do not write.
	Final bool
	// Acked is every acknowledgement the host saw in earlier boots, in
	// order (under PowerCutsOwed, those still owed); each must still hold.
	Acked []string

	byGuest  bool
	cutAfter int
	mu       sync.Mutex
	acks     int
}

// CutRound, in the guest, reads the round PowerCuts started.
func CutRound(t testing.TB) *Round {
	t.Helper()
	r := &Round{}
	var err error
	if r.Index, err = strconv.Atoi(os.Getenv("VMTEST_ROUND")); err != nil {
		t.Fatalf("vmtest: not started by PowerCuts (VMTEST_ROUND): %v", err)
	}
	r.Final = os.Getenv("VMTEST_FINAL") == "true"
	r.byGuest = os.Getenv("VMTEST_CUT_BY_GUEST") == "true"
	r.cutAfter, _ = strconv.Atoi(os.Getenv("VMTEST_CUT_AFTER"))
	f, err := os.Open(os.Getenv("VMTEST_ACKED"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() != "" {
			r.Acked = append(r.Acked, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

// Verified tells the host how many records the boot's check found intact.
func (r *Round) Verified(n int) { fmt.Printf("%s%d\n", verifiedPrefix, n) }

// Ack acknowledges one durable record to the host; key is what the next
// boot gets back in Acked (one line). In a round the guest cuts itself,
// Ack cuts the power after enough acknowledgements and does not return.
// Ack may be called from several goroutines.
func (r *Round) Ack(key string) error {
	if strings.ContainsAny(key, "\r\n") {
		return fmt.Errorf("vmtest: ack key %q has a line break", key)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Printf("%s%s\n", ackPrefix, key)
	r.acks++
	if r.byGuest && r.acks >= r.cutAfter {
		return CutPower()
	}
	return nil
}
