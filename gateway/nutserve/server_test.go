package nutserve

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/nut"
	"github.com/praxisgate/praxisgate/internal/nutwire"
)

// fakeUPS is a thread-safe variable source for the server.
type fakeUPS struct {
	mu   sync.Mutex
	vars map[string]map[string]string
}

func (f *fakeUPS) get() map[string]map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]string{}
	for n, v := range f.vars {
		cp := map[string]string{}
		for k, x := range v {
			cp[k] = x
		}
		out[n] = cp
	}
	return out
}

func (f *fakeUPS) set(ups, name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vars[ups][name] = value
}

const srvUser, srvPass = "upsmon-praxis", "gw-secret-1"

// startServer serves src on a free loopback port until the test ends.
func startServer(t *testing.T, src *fakeUPS, allow []netip.Prefix) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Allow: allow, Username: srvUser, Password: srvPass, UPSes: src.get}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// TestServerWithUpsc lists the served UPS and its variables with the real
// upsc from nut-client.
func TestServerWithUpsc(t *testing.T) {
	upsc := testpeer.NUTBinary(t, "upsc", "nut-client")
	src := &fakeUPS{vars: map[string]map[string]string{"usv-rack": dumpVars(t, "APC__Smart-UPS_750__usbhid-ups__2.8.0__01.dev")}}
	_, addr := startServer(t, src, nil)

	out, err := exec.Command(upsc, "-l", addr).Output()
	if err != nil || strings.TrimSpace(string(out)) != "usv-rack" {
		t.Fatalf("upsc -l: %v, output %q", err, out)
	}
	out, err = exec.Command(upsc, "usv-rack@"+addr).Output()
	if err != nil {
		t.Fatalf("upsc: %v: %s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		got[k] = v
	}
	want := src.get()["usv-rack"]
	if len(got) != len(want) {
		t.Errorf("upsc listed %d variables, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("upsc %s = %q, want %q", k, got[k], v)
		}
	}
	out, err = exec.Command(upsc, "usv-rack@"+addr, "battery.charge").Output()
	if err != nil || strings.TrimSpace(string(out)) != want["battery.charge"] {
		t.Errorf("upsc battery.charge: %v %q", err, out)
	}

	// The gateway's own nut driver reads the server the same way.
	d, err := nut.New(nut.Config{Host: addr, Username: srvUser, Password: srvPass}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Poll(ctx)
	if err != nil {
		t.Fatalf("nut driver against Server: %v", err)
	}
	if i := slices.IndexFunc(s.Metrics, func(m drivers.Metric) bool { return m.Name == "battery.charge" }); i < 0 || s.Metrics[i].Unit != "%" {
		t.Errorf("battery.charge via Server: %+v", s.Metrics)
	}
}

// TestServerRefusesOutsiders checks the address filter with upsc.
func TestServerRefusesOutsiders(t *testing.T) {
	upsc := testpeer.NUTBinary(t, "upsc", "nut-client")
	src := &fakeUPS{vars: map[string]map[string]string{"ups": {"ups.status": "OL"}}}
	_, addr := startServer(t, src, []netip.Prefix{netip.MustParsePrefix("192.168.10.0/24")})
	out, err := exec.Command(upsc, "ups@"+addr).CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "access denied") {
		t.Fatalf("upsc from a refused address: err %v, output %q", err, out)
	}
}

// TestServerWithUpsmon runs the real upsmon as a secondary against the
// server: it logs in with the configured user, and when the UPS goes on
// battery with a low battery it runs its shutdown command (a harmless
// touch of a file).
func TestServerWithUpsmon(t *testing.T) {
	upsmon := testpeer.NUTBinary(t, "upsmon", "nut-client")
	src := &fakeUPS{vars: map[string]map[string]string{"usv": {"ups.status": "OL", "battery.charge": "100"}}}
	srv, addr := startServer(t, src, nil)

	dir := t.TempDir()
	flag := filepath.Join(dir, "shutdown-ran")
	conf := strings.Join([]string{
		fmt.Sprintf("MONITOR usv@%s 1 %s %s secondary", addr, srvUser, srvPass),
		"MINSUPPLIES 1",
		fmt.Sprintf("SHUTDOWNCMD \"/usr/bin/touch %s\"", flag),
		"POWERDOWNFLAG " + filepath.Join(dir, "killpower"),
		"POLLFREQ 1", "POLLFREQALERT 1", "HOSTSYNC 1", "DEADTIME 5", "FINALDELAY 0",
	}, "\n") + "\n"
	for n, c := range map[string]string{"upsmon.conf": conf, "nut.conf": "MODE=netclient\n"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"NUT_CONFPATH=" + dir, "NUT_STATEPATH=" + dir, "NUT_ALTPIDPATH=" + dir}
	testpeer.StartProc(t, env, filepath.Join(dir, "upsmon.log"), upsmon, "-F", "-D", "-p")

	waitFor(t, "upsmon to log in", func() bool { return srv.numLogins("usv") == 1 })
	if _, err := os.Stat(flag); err == nil {
		t.Fatal("upsmon shut down while the UPS was on line")
	}
	src.set("usv", "ups.status", "OB DISCHRG")
	src.set("usv", "battery.charge", "40")
	// On battery alone is no reason to shut down; give upsmon a few polls.
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(flag); err == nil {
		t.Fatal("upsmon shut down on battery before the battery was low")
	}
	src.set("usv", "ups.status", "OB DISCHRG LB")
	waitFor(t, "upsmon to run its shutdown command", func() bool {
		_, err := os.Stat(flag)
		return err == nil
	})
}

// waitFor polls cond every 100 ms for at most 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 300 {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestServerProtocol checks replies line by line, including the refusals
// that keep the server read-only.
func TestServerProtocol(t *testing.T) {
	src := &fakeUPS{vars: map[string]map[string]string{
		"usv":   {"ups.status": "OB LB", "device.model": `Smart "UPS" 750`},
		"stale": {"battery.charge": "50"},
	}}
	_, addr := startServer(t, src, nil)
	steps := []struct{ send, want string }{
		{"VER", "praxisgate NUT-compatible server (read-only)"},
		{"NETVER", "1.3"},
		{"LIST UPS", "BEGIN LIST UPS|UPS stale \"UPS stale via praxisgate\"|UPS usv \"UPS usv via praxisgate\"|END LIST UPS"},
		{"GET VAR usv ups.status", `VAR usv ups.status "FSD OB LB"`},
		{"GET VAR usv device.model", `VAR usv device.model "Smart \"UPS\" 750"`},
		{"GET VAR usv nothing", "ERR VAR-NOT-SUPPORTED"},
		{"GET VAR nosuch ups.status", "ERR UNKNOWN-UPS"},
		{"GET VAR stale battery.charge", "VAR stale battery.charge \"50\""},
		{"LIST VAR stale", "ERR DATA-STALE"},
		{"GET TYPE usv device.model", "TYPE usv device.model STRING:15"},
		{"LIST RW usv", "BEGIN LIST RW usv|END LIST RW usv"},
		{"LOGIN usv", "ERR ACCESS-DENIED"},
		{"USERNAME " + srvUser, "OK"},
		{"USERNAME again", "ERR ALREADY-SET-USERNAME"},
		{"PASSWORD wrong", "OK"},
		{"LOGIN usv", "ERR ACCESS-DENIED"},
		{"FSD usv", "ERR ACCESS-DENIED"},
		{"SET VAR usv ups.id x", "ERR ACCESS-DENIED"},
		{"INSTCMD usv load.off", "ERR ACCESS-DENIED"},
		{"PRIMARY usv", "ERR ACCESS-DENIED"},
		{"STARTTLS", "ERR FEATURE-NOT-CONFIGURED"},
		{`GET VAR "usv`, "ERR INVALID-ARGUMENT"},
		{"FROB", "ERR UNKNOWN-COMMAND"},
		{"GET NUMLOGINS usv", "NUMLOGINS usv 0"},
		{"LOGOUT", "OK Goodbye"},
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for _, st := range steps {
		fmt.Fprintf(c, "%s\n", st.send)
		want := strings.Split(st.want, "|")
		var got []string
		for range want {
			l, err := nutwire.ReadLine(r)
			if err != nil {
				t.Fatalf("%s: %v", st.send, err)
			}
			got = append(got, l)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", st.send, got, want)
		}
	}

	// A correct login is counted, and a line past the limit ends the
	// connection with an error.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.SetDeadline(time.Now().Add(10 * time.Second))
	r2 := bufio.NewReader(c2)
	fmt.Fprintf(c2, "USERNAME %s\nPASSWORD %s\nLOGIN usv\nGET NUMLOGINS usv\n%s\n", srvUser, srvPass, strings.Repeat("x", nutwire.MaxLine+10))
	for _, want := range []string{"OK", "OK", "OK", "NUMLOGINS usv 1", "ERR INVALID-ARGUMENT"} {
		l, err := nutwire.ReadLine(r2)
		if err != nil || l != want {
			t.Fatalf("got %q (%v), want %q", l, err, want)
		}
	}
	if _, err := nutwire.ReadLine(r2); err == nil {
		t.Error("connection still open after an over-long line")
	}
}

func TestServerCheck(t *testing.T) {
	s := &Server{Username: "a b", Password: "two\nlines"}
	err := s.Check()
	if err == nil {
		t.Fatal("Check accepted a bad config")
	}
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if fe, ok := e.(*drivers.FieldError); ok {
			fields = append(fields, fe.Field)
		}
	}
	if !slices.Equal(fields, []string{"username", "password"}) {
		t.Errorf("fields = %v", fields)
	}
	if strings.Contains(err.Error(), "lines") {
		t.Error("the error reveals the password")
	}
}

func TestVarsFromMetrics(t *testing.T) {
	ms := []drivers.Metric{drivers.Num("battery.charge", 99, "%"), drivers.Text("ups.status", "OL CHRG"),
		drivers.Num("input.voltage", 230.5, "V"), drivers.Flag("ups.beeper", true), drivers.Text("ups.model", "UOD1-XL")}
	got := VarsFromMetrics(ms)
	want := map[string]string{"battery.charge": "99", "ups.status": "OL CHRG", "input.voltage": "230.5", "ups.beeper": "1", "ups.model": "UOD1-XL"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
