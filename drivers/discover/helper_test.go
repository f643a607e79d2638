package discover

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/praxisgate/praxisgate/drivers"
)

// The namespace tests re-execute the test binary inside a namespace (via
// `ip netns exec`), because a Go process cannot move all its threads into
// another network namespace. TestMain routes such a child to a helper.
const helperEnv = "PGD_DISCOVER_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "sweep":
		os.Exit(helperSweep())
	case "listen":
		os.Exit(helperListen())
	case "watch":
		os.Exit(helperWatch())
	case "garp":
		os.Exit(helperGARP())
	}
	os.Exit(m.Run())
}

// helperArgs are what a sweep child gets (JSON in PGD_DISCOVER_ARGS).
// Secrets travel as plain strings here because drivers.Secret redacts
// itself in JSON.
type helperArgs struct {
	Iface        string
	StateDir     string
	Communities  []string
	Ports        []int
	MissedSweeps int
	Rate         int
	AllowLarge   bool
}

// helperResult is what a sweep child prints on stdout.
type helperResult struct {
	Seconds float64
	Sample  drivers.Sample
	Hosts   []Host
	Err     string
}

// helperDriver builds the driver a child runs, from PGD_DISCOVER_ARGS.
func helperDriver() (*Driver, error) {
	var a helperArgs
	if err := json.Unmarshal([]byte(os.Getenv("PGD_DISCOVER_ARGS")), &a); err != nil {
		return nil, fmt.Errorf("helper args: %w", err)
	}
	cfg := Defaults()
	cfg.Interfaces = []string{a.Iface}
	cfg.ReverseDNS = false // no resolver inside the test namespaces
	cfg.Ports = a.Ports
	cfg.SNMP.Communities = nil
	for _, c := range a.Communities {
		cfg.SNMP.Communities = append(cfg.SNMP.Communities, drivers.Secret(c))
	}
	cfg.SNMP.Timeout = 500 * time.Millisecond
	// A closed port in a namespace answers with a reset at once, so a long
	// bound costs nothing here; the default 500 ms was missed by an open
	// one when CI's race-enabled run kept both cores busy.
	cfg.ProbeTimeout = 3 * time.Second
	if a.MissedSweeps > 0 {
		cfg.MissedSweeps = a.MissedSweeps
	}
	if a.Rate > 0 {
		cfg.Rate = a.Rate
	}
	cfg.AllowLarge = a.AllowLarge
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return New(drivers.Device{ID: "net", StateDir: a.StateDir}, cfg, log)
}

func helperSweep() int {
	d, err := helperDriver()
	var res helperResult
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		start := time.Now()
		res.Sample, err = d.Poll(ctx)
		res.Seconds = time.Since(start).Seconds()
		res.Hosts = d.Inventory()
	}
	if err != nil {
		res.Err = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 2
	}
	return 0
}

// helperWatch sweeps once (so the inventory is loaded), prints "ready",
// then prints every event Watch emits as one JSON line until killed.
func helperWatch() int {
	d, err := helperDriver()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	if _, err := d.Poll(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "poll:", err)
		return 2
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	go func() {
		err := d.Watch(ctx, func(e drivers.Event) {
			mu.Lock()
			defer mu.Unlock()
			enc.Encode(e)
		})
		fmt.Fprintln(os.Stderr, "watch:", err)
		os.Exit(2)
	}()
	time.Sleep(200 * time.Millisecond) // let Watch open its sockets
	fmt.Println("ready")
	select {}
}

// helperGARP sends one gratuitous ARP on eth0 claiming PGD_GARP_IP, as a
// spoofing tool would.
func helperGARP() int {
	ifi, err := net.InterfaceByName("eth0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, err := arp.Dial(ifi)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer c.Close()
	ip := netip.MustParseAddr(os.Getenv("PGD_GARP_IP"))
	p, err := arp.NewPacket(arp.OperationReply, ifi.HardwareAddr, ip, ethernet.Broadcast, ip)
	if err == nil {
		err = c.WriteTo(p, ethernet.Broadcast)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// helperListen accepts TCP connections on the ports in PGD_DISCOVER_PORTS
// until killed, printing "ready" once all listen: a stand-in for a
// printer's JetDirect port.
func helperListen() int {
	for _, p := range strings.Split(os.Getenv("PGD_DISCOVER_PORTS"), ",") {
		n, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "port:", err)
			return 2
		}
		ln, err := net.Listen("tcp4", ":"+strconv.Itoa(n))
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 2
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	fmt.Println("ready")
	select {}
}

// startAndWait starts cmd through start (so the LAN kills it at Close)
// and waits, at most d, for the line want on its stdout.
func startAndWait(cmd *exec.Cmd, start func(*exec.Cmd) error, want string, d time.Duration) error {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := start(cmd); err != nil {
		return err
	}
	got := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == want {
				got <- true
				return
			}
		}
		got <- false
	}()
	select {
	case ok := <-got:
		if !ok {
			return fmt.Errorf("%v exited before printing %q", cmd.Args, want)
		}
		return nil
	case <-time.After(d):
		return fmt.Errorf("%v did not print %q within %v", cmd.Args, want, d)
	}
}
