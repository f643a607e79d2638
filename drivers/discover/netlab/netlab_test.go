package netlab

import (
	"context"
	"fmt"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBuildPingClose builds a small segment, checks that the sweeper
// reaches a host over the bridge, and that Close leaves no namespace.
func TestBuildPingClose(t *testing.T) {
	testpeer.SkipShort(t, "root (network namespaces)")
	if err := CheckRoot(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lan, err := Build(ctx, Options{Name: "t", Subnet: netip.MustParsePrefix("10.201.0.0/24"), Hosts: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer lan.Close()
	hosts := lan.Hosts()
	if len(hosts) != 3 || hosts[2].IP != netip.MustParseAddr("10.201.0.4") {
		t.Fatalf("hosts = %v", hosts)
	}
	out, err := lan.Command(ctx, lan.Sweeper, "ip", "neigh", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip neigh: %v: %s", err, out)
	}
	// arping is not installed everywhere; a TCP connect to a closed port
	// resolves the neighbour just as well and gets a RST back.
	out, _ = lan.Command(ctx, lan.Sweeper, "bash", "-c", "exec 3<>/dev/tcp/10.201.0.3/9; true").CombinedOutput()
	out, err = lan.Command(ctx, lan.Sweeper, "ip", "neigh", "show", "10.201.0.3").CombinedOutput()
	if err != nil || !strings.Contains(string(out), hosts[1].MAC.String()) {
		t.Fatalf("sweeper did not resolve host 2 (%s): %v %s", hosts[1].MAC, err, out)
	}
	if err := lan.RemoveHost(ctx, hosts[0]); err != nil {
		t.Fatal(err)
	}
	if err := lan.Close(); err != nil {
		t.Fatal(err)
	}
	list, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(list), lan.prefix) {
		t.Fatalf("namespaces left after Close:\n%s", list)
	}
}

// TestBuildFailureCleansUp: a Build that fails half-way (host 2 gets an
// address outside the subnet) must leave no namespace behind.
func TestBuildFailureCleansUp(t *testing.T) {
	testpeer.SkipShort(t, "root (network namespaces)")
	if err := CheckRoot(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := Build(ctx, Options{Name: "fail", Subnet: netip.MustParsePrefix("10.202.0.0/24"), Hosts: 3,
		HostIP: func(i int) netip.Addr {
			if i == 2 {
				return netip.MustParseAddr("10.203.0.1")
			}
			return netip.AddrFrom4([4]byte{10, 202, 0, byte(10 + i)})
		}})
	if err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("err = %v, want an address outside the subnet", err)
	}
	list, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(list), fmt.Sprintf("pgd%d-fail", os.Getpid())) {
		t.Fatalf("namespaces left after a failed Build:\n%s", list)
	}
}
