package discover

import (
	"context"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSweepVsPeers compares one ARP sweep of a 50-host /24 namespace
// LAN with the two tools a technician would otherwise use, arp-scan and
// nmap, run in the same namespace on the same segment in the same run.
// Times are wall-clock of the whole command (process start included for
// all three). Issue 4 wants ours no slower than the faster of the two.
func BenchmarkSweepVsPeers(b *testing.B) {
	arpScan := requirePeer(b, "arp-scan", "arp-scan")
	nmap := requirePeer(b, "nmap", "nmap")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lan := buildLAN(b, ctx, "bench", "10.78.0.0/24", 50, nil)
	want := len(lan.Hosts())

	var ours, inner, scan, nm time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, wall := sweepIn(b, ctx, lan, helperArgs{}) // ARP only: no ports, no SNMP
		if res.Err != "" {
			b.Fatal(res.Err)
		}
		if got := metric(res.Sample, "discover.hosts"); got != float64(want) {
			b.Fatalf("sweep found %v of %d hosts", got, want)
		}
		ours += wall
		inner += time.Duration(res.Seconds * float64(time.Second))

		t0 := time.Now()
		out, err := lan.Command(ctx, lan.Sweeper, arpScan, "--localnet", "-I", lan.SweeperIface).CombinedOutput()
		scan += time.Since(t0)
		if err != nil {
			b.Fatalf("arp-scan: %v\n%s", err, out)
		}
		if n := countArpScan(string(out)); n != want {
			b.Logf("arp-scan found %d of %d hosts", n, want)
		}

		t0 = time.Now()
		// -n: no reverse DNS, which would only slow nmap down and has no
		// server to ask inside the namespace.
		out, err = lan.Command(ctx, lan.Sweeper, nmap, "-sn", "-PR", "-n", lan.Subnet.String()).CombinedOutput()
		nm += time.Since(t0)
		if err != nil {
			b.Fatalf("nmap: %v\n%s", err, out)
		}
		if n := countNmap(string(out)); n != want {
			b.Logf("nmap found %d of %d hosts (besides itself)", n, want)
		}
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()/n, "ours_s")
	b.ReportMetric(inner.Seconds()/n, "ours_poll_s")
	b.ReportMetric(scan.Seconds()/n, "arpscan_s")
	b.ReportMetric(nm.Seconds()/n, "nmap_s")
	b.ReportMetric(ours.Seconds()/scan.Seconds(), "ours/arpscan")
	b.ReportMetric(ours.Seconds()/nm.Seconds(), "ours/nmap")
	b.Logf("50-host /24: ours %.3fs (poll %.3fs), arp-scan %.3fs, nmap %.3fs; ours/arp-scan %.2f, ours/nmap %.2f",
		ours.Seconds()/n, inner.Seconds()/n, scan.Seconds()/n, nm.Seconds()/n, ours.Seconds()/scan.Seconds(), ours.Seconds()/nm.Seconds())
}

// BenchmarkSweep22 sweeps a /22 (1022 addresses) holding 50 hosts spread
// over all four /24s; issue 4 wants it done within 8 s.
func BenchmarkSweep22(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	base := netip.MustParseAddr("10.79.0.0")
	lan := buildLAN(b, ctx, "b22", "10.79.0.0/22", 50, func(i int) netip.Addr {
		return from32(as32(base) + 2 + uint32(i)*20) // .2, .22, ... up to 10.79.3.214
	})
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, wall := sweepIn(b, ctx, lan, helperArgs{})
		if res.Err != "" {
			b.Fatal(res.Err)
		}
		if got := metric(res.Sample, "discover.hosts"); got != 50 {
			b.Fatalf("/22 sweep found %v of 50 hosts", got)
		}
		total += wall
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "sweep22_s")
	b.Logf("/22 with 50 hosts: %.3fs per sweep", total.Seconds()/float64(b.N))
}

var arpScanLine = regexp.MustCompile(`(?m)^\d+\.\d+\.\d+\.\d+\t`)

func countArpScan(out string) int {
	// arp-scan prints duplicates as extra lines marked (DUP: n); count
	// distinct addresses.
	seen := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if arpScanLine.MatchString(l) {
			seen[strings.Fields(l)[0]] = true
		}
	}
	return len(seen)
}

var nmapUp = regexp.MustCompile(`\((\d+) hosts? up\)`)

func countNmap(out string) int {
	m := nmapUp.FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n - 1 // nmap counts the scanning host itself
}
