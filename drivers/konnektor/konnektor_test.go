package konnektor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/konnektor/konnektorsim"
)

// TestHealthyPractice polls a well connector: product data, VPN, five
// cards with their days left, three terminals, and no alarm. The SIS
// tunnel is Offline, as on a real KoCoBox that does not use SIS: that
// alone must not alarm.
func TestHealthyPractice(t *testing.T) {
	r := startSim(t, konnektorsim.Options{})
	d := newDriver(t, r.cfg)
	s := poll(t, d)
	if len(s.Conditions) != 0 {
		t.Fatalf("healthy connector gave conditions: %+v", s.Conditions)
	}
	want := map[string]any{
		"device.firmware":                       "5.1.8",
		"device.model":                          "Konnektor-Simulator",
		"konnektor.product_type_version":        "5.1.0",
		"konnektor.event_service":               "7.2.1",
		"vpn.ti.online":                         true,
		"vpn.sis.status":                        "Offline",
		"vpn.sis.online":                        false,
		"konnektor.error_states.active":         0.0,
		"terminals.count":                       3.0,
		"terminals.connected":                   3.0,
		"terminal.ct_id_0176.ip":                "10.200.149.235",
		"terminal.ct_id_0176.mac":               "00-0D-F8-0C-86-52",
		"cards.smc_b":                           1.0,
		"cards.hba":                             1.0,
		"cards.smc_kt":                          3.0,
		"card.80276883110000118001.type":        "SMC-B",
		"card.80276883110000118001.holder":      "Praxis Dr. Beispiel",
		"card.80276883110000118001.cert_days":   700.0,
		"card.80276883110000118002.cert_days":   900.0,
		"card.80276883110000118001.cert_expiry": "2028-11-05",
	}
	for name, v := range want {
		got, ok := metric(s, name)
		if !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, v)
		}
	}
	if n, _ := metric(s, "konnektor.error_states"); n.(float64) < 34 {
		t.Errorf("error_states = %v, want every listed state counted", n)
	}
	// The eGK in terminal 2 was never asked for.
	if n := r.sim.PatientCardsServed(); n != 0 {
		t.Errorf("the simulator served %d patient cards", n)
	}
	for _, m := range s.Metrics {
		if strings.Contains(m.Name, "80276883110000095999") || m.Value == "Max Patient" {
			t.Errorf("patient card data in metric %s", m.Name)
		}
	}
	reqs := r.sim.Requests()
	if reqs["GetCards"] != 3 || reqs["GetCardTerminals"] != 1 || reqs["GetResourceInformation"] != 1 || reqs["connector.sds"] != 1 {
		t.Errorf("requests: %v", reqs)
	}
}

// TestScenarios drives the simulator through the states a practice meets.
func TestScenarios(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, s *konnektorsim.Sim)
		want  map[string]drivers.Severity // conditions that must be there
		none  []string                    // and conditions that must not
	}{
		{"VPN TI down", func(t *testing.T, s *konnektorsim.Sim) { s.SetVPN(false, false) },
			map[string]drivers.Severity{"konnektor.ec_no_vpn_ti_connection": drivers.Critical}, nil},
		{"SIS used and down", func(t *testing.T, s *konnektorsim.Sim) { s.SetSISMode(true) },
			map[string]drivers.Severity{"konnektor.ec_no_vpn_sis_connection": drivers.Critical}, nil},
		{"SIS not used, offline", func(t *testing.T, s *konnektorsim.Sim) { s.SetVPN(true, false) },
			nil, []string{"konnektor.ec_no_vpn_sis_connection"}},
		{"TSL expiring", func(t *testing.T, s *konnektorsim.Sim) { s.SetError("EC_TSL_Expiring", true) },
			map[string]drivers.Severity{"konnektor.ec_tsl_expiring": drivers.Info}, nil},
		{"TSL in grace period", func(t *testing.T, s *konnektorsim.Sim) { s.SetError("EC_TSL_Out_Of_Date_Within_Grace_Period", true) },
			map[string]drivers.Severity{"konnektor.ec_tsl_out_of_date_within_grace_period": drivers.Minor}, nil},
		{"NK certificate expiring", func(t *testing.T, s *konnektorsim.Sim) { s.SetError("EC_NK_Certificate_Expiring", true) },
			map[string]drivers.Severity{"konnektor.ec_nk_certificate_expiring": drivers.Minor}, nil},
		{"gSMC-KT expires soon", func(t *testing.T, s *konnektorsim.Sim) {
			s.SetError("EC_CardTerminal_gSMC-KT_Certificate_Expires_Soon(CT_ID_0177)", true)
		}, map[string]drivers.Severity{"konnektor.ec_cardterminal_gsmc-kt_certificate_expires_soon.ct_id_0177": drivers.Info}, nil},
		{"firmware update", func(t *testing.T, s *konnektorsim.Sim) { s.SetError("EC_FW_Update_Available", true) },
			map[string]drivers.Severity{"konnektor.ec_fw_update_available": drivers.Info}, nil},
		{"vendor state", func(t *testing.T, s *konnektorsim.Sim) { s.SetError("EC_OTHER_ERROR_STATE(2)", true) },
			map[string]drivers.Severity{"konnektor.ec_other_error_state.2": drivers.Minor}, nil},
		{"SMC-B in 50 days", func(t *testing.T, s *konnektorsim.Sim) { expire(t, s, "80276883110000118001", 50) },
			map[string]drivers.Severity{"card.80276883110000118001.cert_expiring": drivers.Minor},
			[]string{"card.80276883110000118001.cert_expiring_soon"}},
		{"SMC-B in 60 days", func(t *testing.T, s *konnektorsim.Sim) { expire(t, s, "80276883110000118001", 60) },
			map[string]drivers.Severity{"card.80276883110000118001.cert_expiring": drivers.Minor}, nil},
		{"SMC-B in 61 days", func(t *testing.T, s *konnektorsim.Sim) { expire(t, s, "80276883110000118001", 61) },
			nil, []string{"card.80276883110000118001.cert_expiring"}},
		{"HBA in 10 days", func(t *testing.T, s *konnektorsim.Sim) { expire(t, s, "80276883110000118002", 10) },
			map[string]drivers.Severity{"card.80276883110000118002.cert_expiring_soon": drivers.Major},
			[]string{"card.80276883110000118002.cert_expiring"}},
		{"SMC-KT expired", func(t *testing.T, s *konnektorsim.Sim) { expire(t, s, "80276003550000465863", -1) },
			map[string]drivers.Severity{"card.80276003550000465863.cert_expired": drivers.Critical}, nil},
		{"terminal gone, connector reports it", func(t *testing.T, s *konnektorsim.Sim) {
			if err := s.SetTerminalConnected("CT_ID_0178", false, true); err != nil {
				t.Fatal(err)
			}
		}, map[string]drivers.Severity{"konnektor.ec_cardterminal_not_available.ct_id_0178": drivers.Major},
			[]string{"terminal.ct_id_0178.unreachable"}},
		{"terminal gone, connector silent", func(t *testing.T, s *konnektorsim.Sim) {
			if err := s.SetTerminalConnected("CT_ID_0178", false, false); err != nil {
				t.Fatal(err)
			}
		}, map[string]drivers.Severity{"terminal.ct_id_0178.unreachable": drivers.Major}, nil},
		{"fatal state", func(t *testing.T, s *konnektorsim.Sim) { s.SetFatal(true) },
			map[string]drivers.Severity{"konnektor.ec_software_integrity_check_failed": drivers.Critical,
				"konnektor.cards.failed": drivers.Major, "konnektor.terminals.failed": drivers.Major}, nil},
		{"fault 4021", func(t *testing.T, s *konnektorsim.Sim) { s.SetFault("GetResourceInformation", "4021") },
			map[string]drivers.Severity{"konnektor.state.failed": drivers.Major}, nil},
		{"malformed cards", func(t *testing.T, s *konnektorsim.Sim) { s.SetMalformed("GetCards", true) },
			map[string]drivers.Severity{"konnektor.cards.failed": drivers.Major}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := startSim(t, konnektorsim.Options{})
			c.setup(t, r.sim)
			s := poll(t, newDriver(t, r.cfg))
			got := conds(s)
			for name, sev := range c.want {
				if g, ok := got[name]; !ok || g.Severity != sev {
					t.Errorf("condition %s: got %+v (present %v), want severity %s; all: %v", name, g, ok, sev, s.Conditions)
				}
			}
			for _, name := range c.none {
				if _, ok := got[name]; ok {
					t.Errorf("condition %s must not be there: %v", name, got[name])
				}
			}
			if len(c.want) == 0 && len(s.Conditions) != 0 {
				t.Errorf("unexpected conditions: %+v", s.Conditions)
			}
		})
	}
}

func expire(t *testing.T, s *konnektorsim.Sim, iccsn string, days int) {
	t.Helper()
	if err := s.SetCardExpiry(iccsn, testNow.AddDate(0, 0, days)); err != nil {
		t.Fatal(err)
	}
}

// TestFaultKeepsAlarms: a part that fails keeps its last conditions, so
// a card alarm is not cleared by a connector that refuses GetCards for a
// while; the fault's code is named.
func TestFaultKeepsAlarms(t *testing.T) {
	r := startSim(t, konnektorsim.Options{})
	expire(t, r.sim, "80276883110000118001", 12)
	d := newDriver(t, r.cfg)
	if _, ok := conds(poll(t, d))["card.80276883110000118001.cert_expiring_soon"]; !ok {
		t.Fatal("no expiry alarm")
	}
	r.sim.SetFault("GetCards", "4021")
	s := poll(t, d)
	got := conds(s)
	if _, ok := got["card.80276883110000118001.cert_expiring_soon"]; !ok {
		t.Errorf("expiry alarm lost while GetCards fails: %v", s.Conditions)
	}
	f, ok := got["konnektor.cards.failed"]
	if !ok || !strings.Contains(f.Message, "4021") || !strings.Contains(f.Message, "mandant_id") {
		t.Errorf("failure condition: %+v", f)
	}
	if v, _ := metric(s, "konnektor.cards.error_code"); v != "4021" {
		t.Errorf("error_code = %v", v)
	}
	r.sim.SetFault("GetCards", "")
	expire(t, r.sim, "80276883110000118001", 400)
	if s := poll(t, d); len(s.Conditions) != 0 {
		t.Errorf("after recovery: %v", s.Conditions)
	}
}

// TestSlowAnswers: a connector slower than the request timeout fails the
// parts that waited, not the gateway; answers within it are fine.
func TestSlowAnswers(t *testing.T) {
	r := startSim(t, konnektorsim.Options{})
	d := newDriver(t, r.cfg)
	poll(t, d)
	r.sim.SetDelay(300 * time.Millisecond)
	if s := poll(t, d); len(s.Conditions) != 0 {
		t.Errorf("slow but in time: %v", s.Conditions)
	}
	cfg := r.cfg
	cfg.Timeout = 100 * time.Millisecond
	_, err := newDriver(t, cfg).Poll(context.Background())
	if !errors.Is(err, drivers.ErrUnreachable) {
		t.Errorf("connector slower than the timeout: %v, want ErrUnreachable", err)
	}
}

// TestPollErrors covers what fails a whole poll.
func TestPollErrors(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		r := startSim(t, konnektorsim.Options{})
		d := newDriver(t, r.cfg)
		r.sim.Close()
		_, err := d.Poll(context.Background())
		if !errors.Is(err, drivers.ErrUnreachable) {
			t.Errorf("closed connector: %v", err)
		}
	})
	t.Run("malformed sds", func(t *testing.T) {
		r := startSim(t, konnektorsim.Options{})
		r.sim.SetMalformed("connector.sds", true)
		_, err := newDriver(t, r.cfg).Poll(context.Background())
		if !errors.Is(err, drivers.ErrProtocol) || !errors.Is(err, ErrMalformed) {
			t.Errorf("malformed connector.sds: %v", err)
		}
	})
	t.Run("wrong fingerprint", func(t *testing.T) {
		r := startSim(t, konnektorsim.Options{})
		cfg := r.cfg
		cfg.CAFile, cfg.Fingerprint = "", strings.Repeat("ab", 32)
		_, err := newDriver(t, cfg).Poll(context.Background())
		if err == nil || !strings.Contains(err.Error(), "fingerprint") {
			t.Errorf("wrong pin accepted: %v", err)
		}
	})
	t.Run("foreign CA", func(t *testing.T) {
		r := startSim(t, konnektorsim.Options{})
		other := startSim(t, konnektorsim.Options{})
		cfg := r.cfg
		cfg.CAFile = other.pki.CAFile
		_, err := newDriver(t, cfg).Poll(context.Background())
		if err == nil || !strings.Contains(err.Error(), "not trusted") {
			t.Errorf("certificate of another CA accepted: %v", err)
		}
	})
	t.Run("server name", func(t *testing.T) {
		r := startSim(t, konnektorsim.Options{})
		cfg := r.cfg
		cfg.ServerName = "konnektor.example"
		if _, err := newDriver(t, cfg).Poll(context.Background()); err == nil {
			t.Error("certificate without the configured server name accepted")
		}
		cfg.ServerName = "localhost"
		poll(t, newDriver(t, cfg))
	})
	t.Run("wrong password", func(t *testing.T) {
		r := startSim(t, konnektorsim.Options{Auth: "basic", Username: "praxisgate", Password: "richtig"})
		cfg := r.cfg
		cfg.Password = "falsch"
		_, err := newDriver(t, cfg).Poll(context.Background())
		if !errors.Is(err, drivers.ErrProtocol) || !strings.Contains(err.Error(), "authentication") {
			t.Errorf("wrong password: %v", err)
		}
		if strings.Contains(err.Error(), "falsch") {
			t.Error("the password is in the error")
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		r := startSim(t, konnektorsim.Options{Auth: "certificate"})
		cfg := r.cfg
		cfg.Auth, cfg.CertFile, cfg.KeyFile = "none", "", ""
		if _, err := newDriver(t, cfg).Poll(context.Background()); err == nil {
			t.Error("a connector demanding a client certificate answered without one")
		}
	})
}

// TestAuthModes: the same practice through each way a connector lets a
// client system in, and with a pinned certificate instead of a CA.
func TestAuthModes(t *testing.T) {
	for _, o := range []konnektorsim.Options{
		{Auth: "basic", Username: "praxisgate", Password: "s3cret-Konnektor"},
		{Auth: "certificate", Vendor: konnektorsim.Secunet},
		{Vendor: konnektorsim.RISE},
	} {
		t.Run(o.Auth+string(o.Vendor), func(t *testing.T) {
			r := startSim(t, o)
			s := poll(t, newDriver(t, r.cfg))
			if v, _ := metric(s, "cards.smc_kt"); v != 3.0 {
				t.Errorf("cards.smc_kt = %v", v)
			}
			cfg := r.cfg
			cfg.CAFile, cfg.Fingerprint = "", fingerprintOf(t, r.pki.ServerCert, r.pki.ServerKey)
			poll(t, newDriver(t, cfg))
		})
	}
}

// TestRealAnswers replays what real connectors sent through the parser.
func TestRealAnswers(t *testing.T) {
	dir := "testdata/third_party"
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sds := map[string]struct{ path, version, vendor, fw string }{
		"med-united/kocobox-ptv4.80.3-fw4.2.16_med-united.sds": {"/service/systeminformationservice", "7.2.0", "KOCOC", "4.2.16"},
		"med-united/rise-ptv5.0.2-fw4.2.8_med-united.sds":      {"/webservices/eventservice", "7.2.0", "RISEG", "4.2.8"},
		"med-united/secunet-ptv5.53.0-fw5.10.0_med-united.sds": {"/ws/EventService", "7.2.0", "SECUN", "5.10.0"},
		"cocard/kocobox-ptv5.1.0-fw5.1.8_cocard.sds":           {"/service/systeminformationservice", "7.2.0", "KOCOC", "5.1.8"},
	}
	d := &Driver{}
	d.base, _ = d.base.Parse("https://192.168.1.10:8443")
	for f, w := range sds {
		sd, err := ParseServiceDirectory(read(f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		loc, v, err := sd.EventServiceEndpoint()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		ep, err := d.endpoint(loc)
		if err != nil || ep != "https://192.168.1.10:8443"+w.path || v != w.version {
			t.Errorf("%s: endpoint %q version %q (%v), want path %s version %s", f, ep, v, err, w.path, w.version)
		}
		if sd.Product.VendorID != w.vendor || sd.Product.FWVersion != w.fw {
			t.Errorf("%s: product %+v", f, sd.Product)
		}
	}

	env, err := decode(opResourceInformation, read("cocard/GetResourceInformationResponse_connector.xml"))
	if err != nil {
		t.Fatal(err)
	}
	r := &reading{now: testNow, warn: 60, crit: 14}
	r.connector(env.Body.Resource.Connector)
	if n := len(env.Body.Resource.Connector.ErrorStates); n != 36 {
		t.Errorf("KoCoBox lists %d error states, want 36", n)
	}
	// Only EC_OTHER_ERROR_STATE(2) is true; SIS Offline must not alarm.
	if len(r.conds) != 1 || r.conds[0].Name != "konnektor.ec_other_error_state.2" || r.conds[0].Severity != drivers.Minor {
		t.Errorf("KoCoBox conditions: %+v", r.conds)
	}
	if v, _ := metric(drivers.Sample{Metrics: r.metrics}, "vpn.sis.status"); v != "Offline" {
		t.Errorf("vpn.sis.status = %v", v)
	}

	env, err = decode(opCardTerminals, read("cocard/GetCardTerminalsResponse.xml"))
	if err != nil {
		t.Fatal(err)
	}
	r = &reading{now: testNow, warn: 60, crit: 14, unavailable: map[string]bool{}}
	r.terminals(env.Body.Terminals.Terminals)
	r.finish()
	if len(r.conds) != 0 {
		t.Errorf("a never-connected terminal alarms: %+v", r.conds)
	}
	ms := drivers.Sample{Metrics: r.metrics}
	if v, _ := metric(ms, "terminal.ct_id_0176.firmware"); v != "3.8.2" {
		t.Errorf("terminal firmware = %v", v)
	}
	if v, _ := metric(ms, "terminal.ct_id_0000.connected"); v != false {
		t.Errorf("never-connected terminal connected = %v", v)
	}

	for _, f := range []string{"cocard/GetCardsResponse.xml", "med-united/GetCardsResponse_testcards_med-united.xml"} {
		env, err = decode(opCards, read(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		r = &reading{now: testNow, warn: 60, crit: 14}
		r.cards(env.Body.Cards.Cards)
		if len(env.Body.Cards.Cards) == 0 {
			t.Errorf("%s: no cards", f)
		}
		for _, c := range env.Body.Cards.Cards {
			if c.CertExpiration == "" {
				continue
			}
			if _, ok := metric(drivers.Sample{Metrics: r.metrics}, "card."+cardKey(c)+".cert_days"); !ok {
				t.Errorf("%s: no cert_days for %s", f, c.Iccsn)
			}
		}
	}
	// The med-united capture: the test SMC-B expired on 2025-01-22Z.
	if len(r.conds) == 0 {
		t.Error("expired test cards gave no condition")
	}
}

// TestConfig checks the config rules, "absent" apart from 0 included.
func TestConfig(t *testing.T) {
	good := func() Config {
		c := defaults()
		c.URL, c.Fingerprint = "https://192.168.1.10", strings.Repeat("0a:", 31)+"0a"
		c.MandantID, c.ClientSystemID, c.WorkplaceID = "M", "C", "W"
		return c
	}
	if err := func() error { c := good(); return c.check() }(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"http", func(c *Config) { c.URL = "http://192.168.1.10" }, "url"},
		{"path", func(c *Config) { c.URL = "https://192.168.1.10/connector.sds" }, "url"},
		{"no trust", func(c *Config) { c.Fingerprint = "" }, "ca_file"},
		{"bad pin", func(c *Config) { c.Fingerprint = "abc" }, "fingerprint"},
		{"basic without password", func(c *Config) { c.Auth, c.Username = "basic", "u" }, "password"},
		{"certificate without key", func(c *Config) { c.Auth, c.CertFile = "certificate", "c.pem" }, "key_file"},
		{"credentials with none", func(c *Config) { c.Password = "x" }, "auth"},
		{"unknown auth", func(c *Config) { c.Auth = "digest" }, "auth"},
		{"no workplace", func(c *Config) { c.WorkplaceID = "" }, "workplace_id"},
		{"long mandant", func(c *Config) { c.MandantID = strings.Repeat("m", 65) }, "mandant_id"},
		{"negative days", func(c *Config) { c.CertWarnDays = -1 }, "cert_warn_days"},
		{"critical after warn", func(c *Config) { c.CertCriticalDays = 90 }, "cert_critical_days"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
	}
	for _, tc := range cases {
		c := good()
		tc.edit(&c)
		err := c.check()
		var fe *drivers.FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
		}
	}
	// An explicit 0 is a value: alarm only on the day of expiry.
	c := good()
	c.CertWarnDays, c.CertCriticalDays = 0, 0
	if err := c.check(); err != nil {
		t.Errorf("0 days: %v", err)
	}
}

// TestVPNDownIsViaInternet: the VPN-down conditions are marked as lost
// connections, so the alarm engine can hold them back while the
// practice's internet, router or power is down; no other condition is.
func TestVPNDownIsViaInternet(t *testing.T) {
	r := startSim(t, konnektorsim.Options{})
	r.sim.SetSISMode(true)
	r.sim.SetVPN(false, false)
	if err := r.sim.SetCardExpiry("80276883110000118001", testNow.AddDate(0, 0, 10)); err != nil {
		t.Fatal(err)
	}
	r.sim.SetError("EC_TSL_Expiring", true)
	s := poll(t, newDriver(t, r.cfg))
	via := map[string]bool{}
	for _, c := range s.Conditions {
		if c.ViaInternet {
			via[c.Name] = true
		}
	}
	want := map[string]bool{"konnektor.ec_no_vpn_ti_connection": true, "konnektor.ec_no_vpn_sis_connection": true}
	if len(via) != len(want) || !via["konnektor.ec_no_vpn_ti_connection"] || !via["konnektor.ec_no_vpn_sis_connection"] {
		t.Fatalf("conditions marked ViaInternet: %v, want %v (all: %v)", via, want, conds(s))
	}
	if len(s.Conditions) <= len(via) {
		t.Fatalf("the test needs other conditions too: %v", conds(s))
	}
}
