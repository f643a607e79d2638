package check

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// childEnv makes the test binary, re-executed inside the gateway's network
// namespace with `ip netns exec`, run the checks listed in it (JSON) and
// print one result line each, instead of the tests.
const childEnv = "PRAXISGATE_CHECK_NETNS_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// childResult is what the child reports per check.
type childResult struct {
	Metrics     map[string]float64
	Err         string
	Unreachable bool
	Protocol    bool
}

func runChild(spec string) int {
	var child struct {
		WaitFor string
		Checks  []Config
	}
	if err := json.Unmarshal([]byte(spec), &child); err != nil {
		fmt.Println("bad spec:", err)
		return 2
	}
	// The server in the other namespace starts concurrently.
	if child.WaitFor != "" {
		for i := 0; i < 100; i++ {
			c, err := net.DialTimeout("tcp", child.WaitFor, 100*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	out := json.NewEncoder(os.Stdout)
	for _, cfg := range child.Checks {
		var r childResult
		d, err := New(drivers.Device{ID: "x"}, cfg, nil)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			var s drivers.Sample
			s, err = d.Poll(ctx)
			cancel()
			r.Metrics = map[string]float64{}
			for _, m := range s.Metrics {
				r.Metrics[m.Name], _ = m.Float()
			}
		}
		if err != nil {
			r.Err = err.Error()
			r.Unreachable = errors.Is(err, drivers.ErrUnreachable)
			r.Protocol = errors.Is(err, drivers.ErrProtocol)
		}
		out.Encode(r)
	}
	return 0
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// netnsPair builds two namespaces joined by a veth pair: "gw" (the
// gateway, 10.251.7.1) and "host" (a practice server, 10.251.7.2).
func netnsPair(t *testing.T) (gw, host string) {
	t.Helper()
	testpeer.SkipShort(t, "root (network namespaces)")
	ip := "/usr/sbin/ip"
	if _, err := os.Stat(ip); err != nil {
		ip = "/sbin/ip"
		if _, err := os.Stat(ip); err != nil {
			t.Fatalf("ip not found: `make test` installs Debian package iproute2")
		}
	}
	tag := fmt.Sprintf("pgchk%d", os.Getpid())
	gw, host = tag+"g", tag+"h"
	run(t, ip, "netns", "add", gw)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", gw).Run() })
	run(t, ip, "netns", "add", host)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", host).Run() })
	run(t, ip, "link", "add", "vg", "netns", gw, "type", "veth", "peer", "name", "vh", "netns", host)
	run(t, ip, "-n", gw, "addr", "add", "10.251.7.1/24", "dev", "vg")
	run(t, ip, "-n", host, "addr", "add", "10.251.7.2/24", "dev", "vh")
	for _, ns := range []string{gw, host} {
		run(t, ip, "-n", ns, "link", "set", "lo", "up")
	}
	run(t, ip, "-n", gw, "link", "set", "vg", "up")
	run(t, ip, "-n", host, "link", "set", "vh", "up")
	// Let every group of the gateway namespace open datagram ICMP
	// sockets, as systemd-based distributions do; the sysctl is per
	// namespace, so the machine's own setting is untouched.
	run(t, ip, "netns", "exec", gw, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
	return gw, host
}

// TestNamespaces checks a practice server in its own network namespace
// from the gateway's namespace: ping over both socket kinds, a host that
// does not exist (no ARP answer: total loss), a TCP port that is open and
// one that is closed, and an HTTP server.
func TestNamespaces(t *testing.T) {
	gw, host := netnsPair(t)
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s missing: `make test` installs Debian package python3", py)
	}
	srv := exec.Command("ip", "netns", "exec", host, py, "-m", "http.server", "8080", "--bind", "10.251.7.2", "--directory", t.TempDir())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()

	fast := func(c Config) Config {
		c.Count, c.Spacing, c.Timeout = 3, 50*time.Millisecond, time.Second
		return c
	}
	cfg := func(method, hostname string, port int, url, mode string) Config {
		c := defaults()
		c.Method, c.Host, c.Port, c.URL, c.ICMPMode = method, hostname, port, url, mode
		return fast(c)
	}
	checks := []Config{
		cfg("icmp", "10.251.7.2", 0, "", "auto"),
		cfg("icmp", "10.251.7.2", 0, "", "unprivileged"),
		cfg("icmp", "10.251.7.2", 0, "", "raw"),
		cfg("icmp", "10.251.7.99", 0, "", "auto"),
		cfg("tcp", "10.251.7.2", 8080, "", "auto"),
		cfg("tcp", "10.251.7.2", 8081, "", "auto"),
		cfg("http", "", 0, "http://10.251.7.2:8080/", "auto"),
	}
	results := runInNetns(t, gw, "10.251.7.2:8080", checks)
	up := func(i int, what string) {
		r := results[i]
		if r.Err != "" || r.Metrics["loss"] != 0 || r.Metrics["latency"] <= 0 {
			t.Errorf("%s: %+v, want answered without loss", what, r)
		}
	}
	down := func(i int, what string) {
		r := results[i]
		if !r.Unreachable {
			t.Errorf("%s: %+v, want ErrUnreachable", what, r)
		}
	}
	up(0, "ping auto (ping_group_range admits us: unprivileged)")
	up(1, "ping unprivileged")
	up(2, "ping raw")
	down(3, "ping of an absent host")
	up(4, "tcp to the open port")
	down(5, "tcp to a closed port")
	up(6, "http")
	if results[6].Metrics["http.status"] != 200 {
		t.Errorf("http status %v", results[6].Metrics["http.status"])
	}

	// The host namespace keeps the kernel default "1 0": auto must fall
	// back to a raw socket, and a forced unprivileged socket must fail
	// with a permission error, not be mistaken for an unreachable host.
	results = runInNetns(t, host, "", []Config{
		cfg("icmp", "10.251.7.1", 0, "", "auto"),
		cfg("icmp", "10.251.7.1", 0, "", "unprivileged"),
	})
	if r := results[0]; r.Err != "" || r.Metrics["loss"] != 0 {
		t.Errorf("ping auto with ping_group_range closed: %+v, want a raw ping without loss", r)
	}
	if r := results[1]; r.Err == "" || r.Unreachable || !strings.Contains(r.Err, "not permitted") {
		t.Errorf("unprivileged ping with ping_group_range closed: %+v, want a permission error", r)
	}
}

// runInNetns re-executes the test binary inside namespace ns to run checks
// there and returns one result per check.
func runInNetns(t *testing.T, ns, waitFor string, checks []Config) []childResult {
	t.Helper()
	spec, _ := json.Marshal(map[string]any{"WaitFor": waitFor, "Checks": checks})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("ip", "netns", "exec", ns, self)
	child.Env = append(os.Environ(), childEnv+"="+string(spec))
	child.Stderr = os.Stderr
	out, err := child.Output()
	if err != nil {
		t.Fatalf("child in %s: %v\n%s", ns, err, out)
	}
	var results []childResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r childResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		results = append(results, r)
	}
	if len(results) != len(checks) {
		t.Fatalf("child gave %d results for %d checks: %s", len(results), len(checks), out)
	}
	return results
}
