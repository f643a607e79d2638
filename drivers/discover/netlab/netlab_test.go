package netlab

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBuildPingClose builds a small segment, checks that the sweeper
// reaches a host over the bridge, and that Close leaves no namespace.
func TestBuildPingClose(t *testing.T) {
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
