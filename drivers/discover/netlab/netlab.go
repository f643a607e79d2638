// Package netlab builds a throw-away Ethernet segment out of Linux network
// namespaces for the discover tests and benchmarks: one namespace holding a
// bridge, one "sweeper" namespace where the code under test runs, and any
// number of host namespaces, each with a veth pair into the bridge and an
// address in a private test subnet. Nothing is configured outside these
// namespaces, so no test packet can reach a real network, and Close removes
// every namespace and process it created, also after a failed Build.
//
// It shells out to iproute2 (`ip`), which every test machine has, instead
// of speaking netlink itself: the commands double as documentation of the
// topology, and a failing one says exactly what went wrong.
package netlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CheckRoot returns a clear error when the caller cannot build namespaces.
func CheckRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("netlab: these tests build network namespaces, bridges and veth pairs and need root; run them as root (e.g. `sudo go test ./drivers/discover/...`, or `make test` in the appliance CI container)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("netlab: the `ip` command (Debian package iproute2) is missing; `make test` installs it")
	}
	return nil
}

// Options shape a LAN.
type Options struct {
	// Name is a short tag in the namespace names (letters and digits).
	Name string
	// Subnet is the test subnet, e.g. 10.77.0.0/24. The sweeper gets the
	// first host address.
	Subnet netip.Prefix
	// Hosts is the number of host namespaces to create at once.
	Hosts int
	// HostIP returns the address of host i (0-based); nil spreads the
	// hosts from the second address on.
	HostIP func(i int) netip.Addr
	// HostMAC returns the MAC of host i; nil uses 00:16:3e:xx:xx:xx.
	HostMAC func(i int) net.HardwareAddr
}

// Host is one host namespace.
type Host struct {
	NS  string
	IP  netip.Addr
	MAC net.HardwareAddr
	// port is the bridge-side veth name.
	port string
}

// LAN is a built segment. Its methods are safe for concurrent use.
type LAN struct {
	// Sweeper is the namespace the code under test runs in; its interface
	// is SweeperIface with address SweeperIP.
	Sweeper      string
	SweeperIface string
	SweeperIP    netip.Addr
	Subnet       netip.Prefix

	prefix string
	bridge string

	mu     sync.Mutex
	hosts  []*Host
	nextID int
	spaces []string // every namespace created, for Close
	procs  []*exec.Cmd
}

var seq struct {
	sync.Mutex
	n int
}

// Build creates the segment. On error everything created so far is
// removed again.
func Build(ctx context.Context, o Options) (lan *LAN, err error) {
	if err := CheckRoot(); err != nil {
		return nil, err
	}
	if !o.Subnet.Addr().Is4() || o.Subnet.Bits() < 16 || o.Subnet.Bits() > 30 {
		return nil, fmt.Errorf("netlab: subnet %s must be IPv4, /16 to /30", o.Subnet)
	}
	o.Subnet = o.Subnet.Masked()
	removeStale(ctx)
	seq.Lock()
	seq.n++
	n := seq.n
	seq.Unlock()
	l := &LAN{
		prefix:       fmt.Sprintf("pgd%d-%s%d", os.Getpid(), o.Name, n),
		SweeperIface: "eth0",
		Subnet:       o.Subnet,
	}
	l.bridge = l.prefix + "-br"
	l.Sweeper = l.prefix + "-sw"
	l.SweeperIP = o.Subnet.Addr().Next()
	defer func() {
		if err != nil {
			l.Close()
			lan = nil
		}
	}()
	for _, ns := range []string{l.bridge, l.Sweeper} {
		if err := l.addNS(ctx, ns); err != nil {
			return nil, err
		}
	}
	if err := run(ctx, "ip", "-n", l.bridge, "-batch", "-").stdin(
		"link set lo up\n" +
			"link add br0 type bridge forward_delay 0 stp_state 0\n" +
			"link set br0 up\n" +
			"link add vsw type veth peer name eth0 netns " + l.Sweeper + "\n" +
			"link set vsw master br0 up\n").do(); err != nil {
		return nil, err
	}
	if err := run(ctx, "ip", "-n", l.Sweeper, "-batch", "-").stdin(
		"link set lo up\n" +
			"addr add " + netip.PrefixFrom(l.SweeperIP, o.Subnet.Bits()).String() + " dev eth0\n" +
			"link set eth0 up\n").do(); err != nil {
		return nil, err
	}
	ip := l.SweeperIP
	for i := 0; i < o.Hosts; i++ {
		var addr netip.Addr
		if o.HostIP != nil {
			addr = o.HostIP(i)
		} else {
			ip = ip.Next()
			addr = ip
		}
		mac := defaultMAC(i)
		if o.HostMAC != nil {
			mac = o.HostMAC(i)
		}
		if _, err := l.AddHost(ctx, addr, mac); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// defaultMAC is a universally administered address under the Xensource
// prefix, so the vendor lookup has something to find and the host does not
// look randomised.
func defaultMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x00, 0x16, 0x3e, 0x50, byte(i >> 8), byte(i)}
}

// AddHost creates one more host namespace on the segment.
func (l *LAN) AddHost(ctx context.Context, ip netip.Addr, mac net.HardwareAddr) (*Host, error) {
	if !l.Subnet.Contains(ip) {
		return nil, fmt.Errorf("netlab: %s is outside %s", ip, l.Subnet)
	}
	l.mu.Lock()
	id := l.nextID
	l.nextID++
	l.mu.Unlock()
	h := &Host{NS: fmt.Sprintf("%s-h%d", l.prefix, id), IP: ip, MAC: mac, port: "v" + strconv.Itoa(id)}
	if err := l.addNS(ctx, h.NS); err != nil {
		return nil, err
	}
	if err := run(ctx, "ip", "-n", l.bridge, "-batch", "-").stdin(
		fmt.Sprintf("link add %s type veth peer name eth0 address %s netns %s\nlink set %s master br0 up\n",
			h.port, mac, h.NS, h.port)).do(); err != nil {
		return nil, err
	}
	if err := run(ctx, "ip", "-n", h.NS, "-batch", "-").stdin(
		"link set lo up\n" +
			"addr add " + netip.PrefixFrom(ip, l.Subnet.Bits()).String() + " dev eth0\n" +
			"link set eth0 up\n").do(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	return h, nil
}

// Hosts returns the hosts currently on the segment.
func (l *LAN) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// RemoveHost unplugs a host: its namespace (and veth pair) is deleted and
// any process started in it is killed first.
func (l *LAN) RemoveHost(ctx context.Context, h *Host) error {
	l.killIn(h.NS)
	if err := run(ctx, "ip", "netns", "del", h.NS).do(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.hosts {
		if x == h {
			l.hosts = append(l.hosts[:i], l.hosts[i+1:]...)
			break
		}
	}
	for i, ns := range l.spaces {
		if ns == h.NS {
			l.spaces = append(l.spaces[:i], l.spaces[i+1:]...)
			break
		}
	}
	return nil
}

// Command returns a command that runs inside namespace ns. Start it with
// l.Start to have Close kill it.
func (l *LAN) Command(ctx context.Context, ns string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Start starts cmd (made by Command) and remembers it for Close.
func (l *LAN) Start(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("netlab: start %v: %w", cmd.Args, err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, cmd)
	l.mu.Unlock()
	return nil
}

func (l *LAN) killIn(ns string) {
	l.mu.Lock()
	var keep, kill []*exec.Cmd
	for _, c := range l.procs {
		if len(c.Args) > 3 && c.Args[3] == ns {
			kill = append(kill, c)
		} else {
			keep = append(keep, c)
		}
	}
	l.procs = keep
	l.mu.Unlock()
	stop(kill)
}

// stop kills each process group and reaps it.
func stop(cmds []*exec.Cmd) {
	for _, c := range cmds {
		if c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	}
	for _, c := range cmds {
		_ = c.Wait()
	}
}

// Close kills the processes started in the LAN and deletes every
// namespace. It keeps going after errors and reports them all.
func (l *LAN) Close() error {
	l.mu.Lock()
	procs, spaces := l.procs, l.spaces
	l.procs, l.spaces, l.hosts = nil, nil, nil
	l.mu.Unlock()
	stop(procs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []error
	for i := len(spaces) - 1; i >= 0; i-- {
		if err := run(ctx, "ip", "netns", "del", spaces[i]).do(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *LAN) addNS(ctx context.Context, ns string) error {
	if err := run(ctx, "ip", "netns", "add", ns).do(); err != nil {
		return err
	}
	l.mu.Lock()
	l.spaces = append(l.spaces, ns)
	l.mu.Unlock()
	return nil
}

// removeStale deletes namespaces left by a test process that was killed
// before its cleanup ran (their names carry the dead process's pid).
func removeStale(ctx context.Context) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, "pgd")
		if !ok {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == nil || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // the owner is alive
		}
		_ = exec.CommandContext(ctx, "ip", "netns", "del", name).Run()
	}
}

// command is a small builder for iproute2 calls whose stderr becomes the
// error text.
type command struct {
	cmd *exec.Cmd
}

func run(ctx context.Context, name string, args ...string) *command {
	return &command{cmd: exec.CommandContext(ctx, name, args...)}
}

func (c *command) stdin(s string) *command {
	c.cmd.Stdin = strings.NewReader(s)
	return c
}

func (c *command) do() error {
	var stderr bytes.Buffer
	c.cmd.Stderr = &stderr
	if err := c.cmd.Run(); err != nil {
		return fmt.Errorf("netlab: %s: %w: %s", strings.Join(c.cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
