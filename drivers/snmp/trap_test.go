package snmp

import (
	"context"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
)

func snmptrapPath(tb testing.TB, name string) string {
	tb.Helper()
	testpeer.SkipShort(tb, "snmp ("+name+")")
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s not found: install the Debian package snmp (make test installs it): %v", name, err)
	}
	return p
}

// TestTrapsFromSnmptrap sends real traps with net-snmp's snmptrap and
// snmpinform to a device's Watch and checks the events, the community check
// and that traps from unknown sources are counted and dropped.
func TestTrapsFromSnmptrap(t *testing.T) {
	trap := snmptrapPath(t, "snmptrap")
	inform := snmptrapPath(t, "snmpinform")
	port, err := snmpsim.FreeUDPPort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cfg := DefaultConfig()
	cfg.Address = "127.0.0.1:1" // traps only; nothing is polled
	cfg.Community = "praxis"
	cfg.Traps.Listen = listen
	d, err := New(drivers.Device{ID: "usv"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// As after a first poll of an APC card.
	d.profiles, _ = cat.Expand("apc")

	events := make(chan drivers.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := d.Watch(ctx, func(e drivers.Event) { events <- e }); err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	// The shared receiver is the one Watch uses; wait until Watch has
	// subscribed so the first trap is not counted as unknown.
	rcv, release, err := acquireReceiver(listen, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	waitFor(t, func() bool {
		rcv.mu.RLock()
		defer rcv.mu.RUnlock()
		return len(rcv.subs) > 0
	})

	run := func(bin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(cmd.Environ(), "MIBS=", "MIBDIRS=/nonexistent")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
		}
	}
	next := func() drivers.Event {
		t.Helper()
		select {
		case e := <-events:
			if err := (&drivers.Sample{Events: []drivers.Event{e}}).Validate(); err != nil {
				t.Fatalf("invalid event: %v", err)
			}
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10 s")
		}
		return drivers.Event{}
	}

	// SNMPv2c linkDown with a varbind.
	run(trap, "-v2c", "-c", "praxis", listen, "", ".1.3.6.1.6.3.1.1.5.3", ".1.3.6.1.2.1.2.2.1.1.3", "i", "3")
	e := next()
	if e.Type != "snmp.trap" || e.Attrs["trap"] != "if.link_down" || e.Severity != drivers.Minor || e.Device != "usv" {
		t.Fatalf("v2c linkDown: %+v", e)
	}
	if vb, _ := e.Attrs["varbinds"].(map[string]any); vb[".1.3.6.1.2.1.2.2.1.1.3"] != "3" {
		t.Fatalf("varbinds = %v", e.Attrs["varbinds"])
	}

	// SNMPv1 enterprise-specific trap: APC "on battery" (318.0.5).
	run(trap, "-v1", "-c", "praxis", listen, ".1.3.6.1.4.1.318", "127.0.0.1", "6", "5", "")
	e = next()
	if e.Attrs["trap"] != "ups.on_battery" || e.Severity != drivers.Major || e.Attrs["trap_oid"] != ".1.3.6.1.4.1.318.0.5" {
		t.Fatalf("v1 APC trap: %+v", e)
	}

	// An inform is acknowledged (snmpinform fails without an answer).
	run(inform, "-v2c", "-c", "praxis", "-t", "2", "-r", "1", listen, "", ".1.3.6.1.6.3.1.1.5.1")
	if e = next(); e.Attrs["trap"] != "snmp.cold_start" {
		t.Fatalf("inform: %+v", e)
	}

	// Wrong community, and a source no device is configured for.
	before := rcv.Stats()
	run(trap, "-v2c", "-c", "guess", listen, "", ".1.3.6.1.6.3.1.1.5.3")
	run(trap, "-v2c", "-c", "praxis", "--clientaddr=127.0.0.9", listen, "", ".1.3.6.1.6.3.1.1.5.3")
	waitFor(t, func() bool {
		s := rcv.Stats()
		return s.Rejected > before.Rejected && s.Unknown > before.Unknown
	})
	select {
	case e := <-events:
		t.Fatalf("event from a rejected trap: %+v", e)
	default:
	}
	if s := rcv.Stats(); s.Routed != 3 {
		t.Fatalf("stats = %+v, want 3 routed", s)
	}
	if s := SharedTrapStats()[listen]; s.Unknown == 0 || s.Routed != 3 {
		t.Fatalf("shared stats = %+v", s)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestV3Traps sends SNMPv3 authPriv traps with snmptrap: the device's user
// and engine ID decode them; a wrong passphrase or another user does not.
func TestV3Traps(t *testing.T) {
	trap := snmptrapPath(t, "snmptrap")
	port, err := snmpsim.FreeUDPPort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	const engineID = "800000000102030405"
	cfg := DefaultConfig()
	cfg.Address = "127.0.0.1:1"
	cfg.Version = "3"
	cfg.Community = ""
	cfg.V3 = V3Config{User: "trapper", AuthProtocol: "SHA-256", AuthPassword: "trap-auth-pass", PrivProtocol: "AES", PrivPassword: "trap-priv-pass"}
	cfg.Traps = TrapConfig{Listen: listen, EngineID: engineID}
	d, err := New(drivers.Device{ID: "nas"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan drivers.Event, 8)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := d.Watch(ctx, func(e drivers.Event) { events <- e }); err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	rcv, release, err := acquireReceiver(listen, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	waitFor(t, func() bool {
		rcv.mu.RLock()
		defer rcv.mu.RUnlock()
		return len(rcv.subs) > 0
	})
	send := func(user, authPass string) {
		t.Helper()
		cmd := exec.Command(trap, "-v3", "-e", "0x"+engineID, "-u", user, "-l", "authPriv",
			"-a", "SHA-256", "-A", authPass, "-x", "AES", "-X", "trap-priv-pass",
			listen, "", ".1.3.6.1.6.3.1.1.5.3", ".1.3.6.1.2.1.2.2.1.1.2", "i", "2")
		cmd.Env = append(cmd.Environ(), "MIBS=", "MIBDIRS=/nonexistent")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("snmptrap: %v\n%s", err, out)
		}
	}
	send("trapper", "trap-auth-pass")
	select {
	case e := <-events:
		if e.Attrs["trap"] != "if.link_down" || e.Attrs["version"] != "3" {
			t.Fatalf("v3 trap event: %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no event for an authentic v3 trap; stats %+v", rcv.Stats())
	}
	before := rcv.Stats()
	send("trapper", "wrong-auth-pass")
	send("intruder", "trap-auth-pass")
	waitFor(t, func() bool { return rcv.Stats().Rejected >= before.Rejected+2 })
	select {
	case e := <-events:
		t.Fatalf("event from an unauthentic v3 trap: %+v", e)
	default:
	}
}

// TestTrapBeforeFirstPoll: a UPS-MIB "on battery" trap from a device that
// has never been read (its polls fail: nothing listens at its address) is
// still the major "UPS switched to battery", both with the profiles named
// in the config and with none (the trap OID names the profile). It used to
// arrive as a minor "Trap .1.3.6.1.2.1.33.2.0.1".
func TestTrapBeforeFirstPoll(t *testing.T) {
	trap := snmptrapPath(t, "snmptrap")
	for _, tc := range []struct {
		name     string
		profiles []string
	}{
		{"profiles in the config", []string{"ups-mib"}},
		{"profiles not known yet", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, err := snmpsim.FreeUDPPort("127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			listen := "127.0.0.1:" + strconv.Itoa(port)
			cfg := DefaultConfig()
			cfg.Address = "127.0.0.1:1" // nothing answers there
			cfg.Timeout = 100 * time.Millisecond
			cfg.Retries = 0
			cfg.Community = "praxis"
			cfg.Profiles = tc.profiles
			cfg.Traps.Listen = listen
			d, err := New(drivers.Device{ID: "usv"}, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := d.Profiles(); len(tc.profiles) > 0 && len(got) == 0 {
				t.Fatalf("configured profiles not in use before the first poll: %v", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, err := d.Poll(ctx); err == nil {
				t.Fatal("poll of a device that does not answer succeeded")
			}
			cancel()
			events := make(chan drivers.Event, 4)
			wctx, wcancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := d.Watch(wctx, func(e drivers.Event) { events <- e }); err != nil {
					t.Errorf("watch: %v", err)
				}
			}()
			defer func() { wcancel(); wg.Wait() }()
			rcv, release, err := acquireReceiver(listen, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			waitFor(t, func() bool {
				rcv.mu.RLock()
				defer rcv.mu.RUnlock()
				return len(rcv.subs) > 0
			})
			cmd := exec.Command(trap, "-v2c", "-c", "praxis", listen, "", ".1.3.6.1.2.1.33.2.0.1")
			cmd.Env = append(cmd.Environ(), "MIBS=", "MIBDIRS=/nonexistent")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("snmptrap: %v\n%s", err, out)
			}
			select {
			case e := <-events:
				if e.Attrs["trap"] != "ups.on_battery" || e.Severity != drivers.Major || e.Message != "UPS switched to battery" {
					t.Fatalf("trap before the first poll: %+v", e)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no event within 10 s")
			}
		})
	}
}
