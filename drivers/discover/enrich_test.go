package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
	"github.com/praxisgate/praxisgate/drivers"
)

func TestEnrichPortsAndDNS(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	open := ln.Addr().(*net.TCPAddr).Port
	closed, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	e := &enricher{
		ports:        []int{closedPort, open},
		probeTimeout: time.Second,
		dial:         (&net.Dialer{}).DialContext,
		parallel:     4,
		lookupAddr: func(ctx context.Context, addr string) ([]string, error) {
			if addr == "127.0.0.1" {
				return []string{"drucker\x00-1.praxis.lan."}, nil
			}
			return nil, errors.New("nxdomain")
		},
	}
	got := e.run(context.Background(), obsOf(macA, "127.0.0.1", macB, "127.0.0.2"))
	if a := got[macA]; a.DNSName != "drucker -1.praxis.lan" || len(a.OpenPorts) != 1 || a.OpenPorts[0] != open {
		t.Errorf("127.0.0.1: %+v", a)
	}
	if b, ok := got[macB]; !ok || b.DNSName != "" {
		t.Errorf("127.0.0.2: %+v %v", b, ok)
	}
}

func TestIdentityFromVars(t *testing.T) {
	id := identityFromVars([]gosnmp.SnmpPDU{
		{Name: "." + oidSysDescr, Type: gosnmp.OctetString, Value: []byte("HP ETHERNET\r\nMULTI-ENVIRONMENT\x00")},
		{Name: "." + oidSysObjectID, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.11.2.3.9.1"},
		{Name: "." + oidSysName, Type: gosnmp.NoSuchObject},
	})
	if id == nil || id.SysDescr != "HP ETHERNET MULTI-ENVIRONMENT" || id.SysObjectID != ".1.3.6.1.4.1.11.2.3.9.1" || id.SysName != "" {
		t.Errorf("identity %+v", id)
	}
	if identityFromVars([]gosnmp.SnmpPDU{{Name: oidSysName, Type: gosnmp.NoSuchInstance}}) != nil {
		t.Error("an agent that answered nothing gave an identity")
	}
}

// TestSNMPv3AgainstSnmpd asks a real net-snmp agent on loopback with an
// SNMPv3 user (SHA/AES), after a wrong community, and checks the secrets
// never appear in what the prober reports.
func TestSNMPv3AgainstSnmpd(t *testing.T) {
	snmpd := requirePeer(t, "snmpd", "snmpd")
	dir := t.TempDir()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	conf := filepath.Join(dir, "snmpd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("agentAddress udp:127.0.0.1:%d\n"+
		"createUser monitor SHA geheim-auth-1 AES geheim-priv-1\n"+
		"rouser monitor priv\n"+
		"sysName usv-rack\nsysDescr APC Web/SNMP Management Card\nsysObjectID .1.3.6.1.4.1.318.1.3.27\n", port)), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, snmpd, "-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "log"), "-p", filepath.Join(dir, "pid"))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "MIBS=", "MIBDIRS="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	p := &snmpProber{cfg: SNMPConfig{
		Communities: []drivers.Secret{"public"},
		Users:       []SNMPUser{{User: "monitor", AuthProtocol: "SHA", AuthPassword: "geheim-auth-1", PrivProtocol: "AES", PrivPassword: "geheim-priv-1"}},
		Port:        port, Timeout: 300 * time.Millisecond,
	}}
	var id *SNMPIdentity
	for i := 0; i < 50 && id == nil; i++ {
		id = p.identify(ctx, "127.0.0.1")
		if id == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if id == nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("no identity from snmpd; log:\n%s", log)
	}
	if id.SysName != "usv-rack" || id.Via != "v3 user monitor" {
		t.Errorf("identity %+v", id)
	}
	h := &Host{SNMP: id}
	if k, _ := classify(h); k != KindUPSCard {
		t.Errorf("kind %s", k)
	}
	if s := fmt.Sprintf("%+v", *id); strings.Contains(s, "geheim") {
		t.Errorf("secret in identity: %s", s)
	}
}

func FuzzCleanText(f *testing.F) {
	f.Add("HP ETHERNET\r\n\x00\xff MULTI", 255)
	f.Add("Kühlschrank", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1024 {
			return
		}
		got := cleanText(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("cleanText(%q, %d) = %q", s, n, got)
		}
	})
}

// TestEnrichOutOfTime: a host whose probe is cut short by the deadline is
// left out, so it stays due instead of being stored as "nothing open".
func TestEnrichOutOfTime(t *testing.T) {
	e := &enricher{
		ports:        []int{9100},
		probeTimeout: time.Second,
		parallel:     1,
		dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if got := e.run(ctx, obsOf(macA, "192.0.2.1")); len(got) != 0 {
		t.Errorf("got %v, want nothing stored", got)
	}
}
