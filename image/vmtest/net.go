package vmtest

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// NetModules are the kernel modules a guest started with Options.Net
// needs for its network card.
var NetModules = []string{"virtio_pci", "virtio_net"}

// HostAddr is the host's loopback as the guest sees it on qemu's
// user-mode network: a connection to HostAddr:port reaches 127.0.0.1:port
// on the host.
const HostAddr = "10.0.2.2"

// guestAddr is the address qemu's user-mode network expects its guest at.
var guestAddr = net.IPv4(10, 0, 2, 15).To4()

// NetUp, in a guest started with Options.Net, brings up lo and eth0 with
// the user-mode network's fixed address (there is no DHCP client in the
// guest; the kernel's ioctls do what `ip` would).
func NetUp() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat("/sys/class/net/eth0"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vmtest: eth0 did not appear (load %v)", NetModules)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vmtest: socket for interface setup: %w", err)
	}
	defer unix.Close(fd)
	if err := ifUp(fd, "lo"); err != nil {
		return err
	}
	set := func(req uint, what string, ip net.IP) error {
		ifr, err := unix.NewIfreq("eth0")
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(ip); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
			return fmt.Errorf("vmtest: set the %s of eth0: %w", what, err)
		}
		return nil
	}
	if err := set(unix.SIOCSIFADDR, "address", guestAddr); err != nil {
		return err
	}
	if err := set(unix.SIOCSIFNETMASK, "netmask", net.IPv4(255, 255, 255, 0).To4()); err != nil {
		return err
	}
	return ifUp(fd, "eth0")
}

// ifUp sets IFF_UP on an interface.
func ifUp(fd int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("vmtest: flags of %s: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("vmtest: bring %s up: %w", name, err)
	}
	return nil
}
