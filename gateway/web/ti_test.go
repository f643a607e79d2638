package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/konnektor"
	"github.com/praxisgate/praxisgate/drivers/konnektor/konnektorsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// pollSim polls a simulated connector with the real driver and runs the
// sample through an alarm engine, as the gateway does: the TI card is then
// fed exactly what the running box would have.
func pollSim(t *testing.T, sim *konnektorsim.Sim, caFile string, e *alarm.Engine) (Device, []alarm.Alarm) {
	t.Helper()
	f, ok := drivers.Lookup("konnektor")
	if !ok {
		t.Fatal("driver konnektor not registered")
	}
	cfg := f.NewConfig().(*konnektor.Config)
	cfg.URL, cfg.CAFile = sim.URL(), caFile
	cfg.MandantID, cfg.ClientSystemID, cfg.WorkplaceID = "Mandant1", "praxisgate", "Monitoring"
	d, err := f.New(drivers.Device{ID: "tik", Kind: "konnektor"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := d.(interface{ Close() error }); ok {
		defer c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := d.Poll(ctx)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	s.Device, s.Time = "tik", time.Now()
	e.Observe(s, false)
	return Device{ID: "tik", Name: "Konnektor Empfang", Kind: "konnektor", Driver: "konnektor", At: s.Time, Metrics: s.Metrics}, e.Active()
}

// TestTICard: a connector with its TI VPN down, an SMC-B expiring in 12
// days, an HBA expired and a terminal gone, polled by the real driver from
// the simulator, is shown on the overview with what to do, in German and
// in English; a healthy connector is shown as such.
func TestTICard(t *testing.T) {
	pki := testpeer.NewTestPKI(t)
	sim, err := konnektorsim.Start(konnektorsim.Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	now := time.Now()
	sim.Practice(now)
	eng, err := alarm.NewEngine(alarm.Options{Devices: []config.Device{{ID: "tik", Interval: 5 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}

	e := newEnv(t)
	e.login()
	setTI := func() {
		dev, alarms := pollSim(t, sim, pki.CAFile, eng)
		e.be.mu.Lock()
		e.be.devices = append(e.be.devices[:2:2], dev)
		e.be.alarms = alarms
		e.be.mu.Unlock()
	}
	check := func(body string, want, not []string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("overview lacks %q", w)
			}
		}
		for _, w := range not {
			if strings.Contains(body, w) {
				t.Errorf("overview shows %q", w)
			}
		}
		if t.Failed() {
			i := strings.Index(body, `id="ti"`)
			t.Fatalf("TI card:\n%s", body[max(i, 0):])
		}
	}

	setTI()
	resp, body := e.get("/")
	wantStatus(t, resp, http.StatusOK, body)
	check(body, []string{`id="ti"`, "Konnektor Empfang", `id="ti-tik-state" class="ok">in Betrieb, keine Fehlerzustände`,
		`id="ti-tik-VPN-TI" class="ok">verbunden`, "nicht verbunden: wird offenbar nicht genutzt, kein Fehler",
		"Praxis Dr. Beispiel", "ORGA6100-0241000000B692", "10.200.149.235"},
		[]string{"Folgekarte bestellen", "nicht erreichbar:"})

	sim.SetVPN(false, false)
	if err := sim.SetCardExpiry("80276883110000118001", now.AddDate(0, 0, 12)); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetCardExpiry("80276883110000118002", now.AddDate(0, 0, -3)); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetTerminalConnected("CT_ID_0177", false, true); err != nil {
		t.Fatal(err)
	}
	setTI()
	_, body = e.get("/")
	check(body, []string{`id="ti-tik-VPN-TI" class="bad">getrennt: kein E-Rezept`,
		"SMC-B (Praxisausweis) läuft in 12 Tagen ab: Folgekarte bestellen",
		"HBA (Heilberufsausweis) ist abgelaufen: neue Karte stecken und freischalten",
		"nicht erreichbar: Strom und Netzwerkkabel prüfen, Terminal neu starten",
		`id="ti-tik-state" class="bad">Störung:`},
		[]string{"in Betrieb, keine Fehlerzustände"})

	e.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}})
	_, body = e.get("/")
	check(body, []string{"TI (telematics infrastructure)", "down: no e-prescriptions",
		"SMC-B (practice card) expires in 12 days: order the follow-up card",
		"HBA (health professional card) has expired: insert and activate the new card",
		"unreachable: check power and network cable, restart the terminal"},
		[]string{"läuft in", "Folgekarte"})

	// The connector gone: its state says so.
	e.be.mu.Lock()
	e.be.devices[2].Err = "poll: connection refused"
	e.be.mu.Unlock()
	_, body = e.get("/")
	check(body, []string{`id="ti-tik-state" class="bad">The connector does not answer`}, nil)
}

// TestTICardAbsentWithoutConnector: no konnektor device, no TI card.
func TestTICardAbsentWithoutConnector(t *testing.T) {
	e := newEnv(t)
	e.login()
	_, body := e.get("/")
	if strings.Contains(body, `id="ti"`) {
		t.Fatal("TI card shown without a connector")
	}
}

// TestTIVPNLines: what the card says of each VPN follows the connector's
// error-state alarms, not the raw status field.
func TestTIVPNLines(t *testing.T) {
	dev := func(ti, sis string) Device {
		return Device{ID: "tik", Driver: "konnektor", At: time.Now(),
			Metrics: []drivers.Metric{drivers.Text("vpn.ti.status", ti), drivers.Text("vpn.sis.status", sis)}}
	}
	for _, c := range []struct {
		name     string
		d        Device
		alarms   []string
		ti, sis  string // classes
		tiPrefix string
	}{
		{"both fine, SIS unused", dev("Online", "Offline"), nil, "ok", "", "verbunden"},
		{"TI down with its error state", dev("Offline", "Offline"), []string{"tik/konnektor.ec_no_vpn_ti_connection"}, "bad", "", "getrennt"},
		{"TI offline, alarm held back or not yet reported", dev("Offline", "Offline"), nil, "warn", "", "nicht verbunden (ohne Alarm"},
		{"SIS down with its error state", dev("Online", "Offline"), []string{"tik/konnektor.ec_no_vpn_sis_connection"}, "ok", "bad", "verbunden"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var al []alarm.Alarm
			for _, id := range c.alarms {
				al = append(al, alarm.Alarm{ID: id, Device: "tik"})
			}
			v := tiViews(langDE, []Device{c.d}, al)
			if len(v) != 1 || len(v[0].VPNs) != 2 {
				t.Fatalf("views %+v", v)
			}
			ti, sis := v[0].VPNs[0], v[0].VPNs[1]
			if ti.Class != c.ti || sis.Class != c.sis || !strings.HasPrefix(ti.Text, c.tiPrefix) {
				t.Fatalf("VPN-TI %+v, VPN-SIS %+v; want classes %q/%q and TI text %q…", ti, sis, c.ti, c.sis, c.tiPrefix)
			}
		})
	}
}
