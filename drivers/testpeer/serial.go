package testpeer

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NeedFile fails t when path, installed by Debian package pkg, is missing;
// in the short tier it skips t instead (SkipShort).
func NeedFile(t testing.TB, path, pkg string) {
	t.Helper()
	SkipShort(t, pkg)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s not found (%v): `make test` installs Debian package %s", path, err, pkg)
	}
}

// PTYPair links two pseudo-terminals with socat and returns their paths:
// a serial line as a USB-RS232/RS485 adapter shows it to each side.
func PTYPair(t testing.TB) (peer, gw string) {
	t.Helper()
	NeedFile(t, "/usr/bin/socat", "socat")
	dir := t.TempDir()
	peer, gw = filepath.Join(dir, "peer"), filepath.Join(dir, "gw")
	cmd := exec.Command("/usr/bin/socat", "pty,raw,echo=0,link="+peer, "pty,raw,echo=0,link="+gw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		_, e1 := os.Stat(peer)
		_, e2 := os.Stat(gw)
		if e1 == nil && e2 == nil {
			return peer, gw
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("socat did not create the pseudo-terminals within 5 s")
	return "", ""
}

//go:embed rtu_peer.py
var rtuPeerScript []byte

// StartModbusRTU runs Debian's pymodbus as a Modbus RTU slave with the
// given unit id on the serial line port. tables maps "holding"/"input" to
// register address → words.
func StartModbusRTU(t testing.TB, port string, unit int, tables map[string]map[string][]uint16) {
	t.Helper()
	NeedFile(t, "/usr/lib/python3/dist-packages/pymodbus", "python3-pymodbus")
	// Debian's pymodbus imports serial_asyncio for its serial server but does
	// not depend on the package that provides it.
	NeedFile(t, "/usr/lib/python3/dist-packages/serial_asyncio", "python3-serial-asyncio")
	script := filepath.Join(t.TempDir(), "rtu_peer.py")
	if err := os.WriteFile(script, rtuPeerScript, 0o600); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(tables)
	cmd := exec.Command("/usr/bin/python3", script, port, fmt.Sprint(unit), string(spec))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		if line != "ready" {
			t.Fatalf("pymodbus RTU peer: %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("pymodbus RTU peer not ready within 20 s")
	}
}
