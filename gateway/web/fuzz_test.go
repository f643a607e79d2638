package web

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// FuzzRuleForm feeds the threshold form's fields through the same path
// postRule uses: local parsing, the YAML edit, and the config loader. It
// must never panic, whatever the loader accepts must round-trip, and the
// form's German/English field checks must accept it too.
func FuzzRuleForm(f *testing.F) {
	f.Add("8", "2", "15m", "0.5", "critical")
	f.Add("8,5", "", "1d2h", "", "major")
	f.Add("1e309", "-0", "-5m", "NaN", "sehr schlimm")
	f.Add("\"; rm -rf /", "{a: b}", "*alias", "&anchor x", "!!binary AAAA")
	f.Fuzz(func(t *testing.T, above, below, forDur, hyst, sev string) {
		f := ruleForm{Above: strings.TrimSpace(above), Below: strings.TrimSpace(below), For: strings.TrimSpace(forDur),
			Hysteresis: strings.TrimSpace(hyst), Severity: strings.TrimSpace(sev)}
		edits, fields := ruleEdits(0, f, langEN)
		if len(fields) > 0 {
			return
		}
		out, err := applyEdits([]byte(testConfig), edits)
		if err != nil {
			return
		}
		cfg, err := config.Parse(out, "/tmp/fuzz/praxisgate.yaml")
		if err != nil {
			return
		}
		// The form's own checks are never stricter than the loader: a
		// value the daemon would take is never refused on the page.
		if msgs := checkRule(f, false, langEN); len(msgs) > 0 {
			t.Fatalf("form refuses %+v, which the loader accepts: %v", f, msgs)
		}
		r := cfg.Alarms[0]
		if n, ok := parseNumber(f.Above); ok && f.Above != "" && (r.Above == nil || fmtNum(*r.Above) != fmtNum(mustFloat(n))) {
			t.Fatalf("above %q saved as %v", above, r.Above)
		}
		if string(r.Severity) != f.Severity && f.Severity != "" {
			t.Fatalf("severity %q saved as %q", sev, r.Severity)
		}
	})
}

func mustFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// FuzzCertUpload feeds arbitrary bytes as CA, certificate and key.
func FuzzCertUpload(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte{}, []byte{})
	f.Add([]byte{}, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("garbage"), []byte("-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n"), []byte("x"))
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ca, cert, key []byte) {
		probs := checkUpload(certUpload{CA: ca, Cert: cert, Key: key}, nil, now)
		for field, p := range probs {
			if p == nil || p.Key == "" || tr(langDE, p.Key) == p.Key {
				t.Fatalf("%s: problem without a catalog message: %+v", field, p)
			}
		}
		if len(cert) > 0 && len(probs) == 0 && len(key) == 0 {
			t.Fatal("certificate without key accepted")
		}
	})
}

// FuzzPasswordHash: stored hashes come from a file an attacker with disk
// access could edit; a malformed one must not panic or exhaust memory.
func FuzzPasswordHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "pw")
	f.Add("$argon2id$v=19$m=4194304,t=16,p=255$AA$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$$$$$", "x")
	f.Fuzz(func(t *testing.T, stored, pw string) {
		if strings.Contains(stored, "m=") && len(stored) > 0 {
			// keep each run cheap: the parser caps memory at 4 GiB, far
			// more than a fuzz worker may take; skip large m values here.
			var m uint32
			if i := strings.Index(stored, "m="); i >= 0 {
				for _, c := range stored[i+2:] {
					if c < '0' || c > '9' {
						break
					}
					m = m*10 + uint32(c-'0')
					if m > 1<<16 {
						return
					}
				}
			}
		}
		checkPassword(stored, pw)
	})
}

// FuzzAdoptForm: whatever the technician types as id, name and profile
// becomes quoted YAML in a new device entry; the edited file must still be
// YAML, and what the loader accepts must carry the typed values unchanged.
func FuzzAdoptForm(f *testing.F) {
	f.Add("usv-rack", "USV im Rack", "")
	f.Add("drucker", "Drucker \"Empfang\"\n- id: evil", "synology")
	f.Add("x: y", "{a: [b]}", "]]")
	f.Fuzz(func(t *testing.T, id, name, profile string) {
		if !utf8.ValidString(id) || !utf8.ValidString(name) || !utf8.ValidString(profile) {
			return // refused before any handler runs (TestInvalidUTF8Refused)
		}
		// The snmp section is replaced by a sim one: the loader would
		// reject most profiles anyway, and the sim driver needs no network.
		sim := mapping("scenario", "room")
		if profile != "" {
			sim = mapping("scenario", profile)
		}
		kv := []any{"id", id, "name", name, "driver", "sim", "sim", sim}
		out, err := applyEdits([]byte(testConfig), []edit{appendTo(mapping(kv...), "devices")})
		if err != nil {
			t.Fatalf("edit failed: %v", err)
		}
		cfg, err := config.Parse(out, "/tmp/fuzz/praxisgate.yaml")
		if err != nil {
			return
		}
		last := cfg.Devices[len(cfg.Devices)-1]
		if last.ID != id || last.Name != name {
			t.Fatalf("typed id %q name %q, loaded %q %q", id, name, last.ID, last.Name)
		}
	})
}

// FuzzSettingsForm: the settings form's checks of site, gateway and broker
// URL never panic and never refuse what the config loader accepts, so the
// page's own messages only ever stand in for the loader's.
func FuzzSettingsForm(f *testing.F) {
	f.Add("praxis-test", "gw-01", "mqtts://mqtt.example.com:8883")
	f.Add("Praxis Müller", "gw 1", "ftp://example")
	f.Add("a", "b", "tls://user:pw@host:99999/x?y#z")
	f.Add("x", "y", "ws://[::1]:80/mqtt")
	f.Fuzz(func(t *testing.T, site, gw, broker string) {
		site, gw, broker = strings.TrimSpace(site), strings.TrimSpace(gw), strings.TrimSpace(broker)
		if !utf8.ValidString(site + gw + broker) {
			return
		}
		keys := []string{checkSlug(site), checkSlug(gw), checkBroker(broker)}
		for _, k := range keys {
			if k != "" && tr(langDE, k) == k {
				t.Fatalf("message key %q not in the catalog", k)
			}
		}
		edits := []edit{setStr(site, "site"), setStr(gw, "gateway"), setStr(broker, "uplink", "broker")}
		out, err := applyEdits([]byte(testConfig), edits)
		if err != nil {
			return
		}
		if _, err := config.Parse(out, "/tmp/fuzz/praxisgate.yaml"); err != nil {
			return
		}
		for i, k := range keys {
			if k != "" {
				t.Fatalf("field %d: form says %s for site=%q gateway=%q broker=%q, which the loader accepts", i, k, site, gw, broker)
			}
		}
	})
}

// FuzzFridgeForm: the fridge profile form never panics, and refuses
// nothing the loader accepts as long as the effective band (with the
// defaults for empty fields) is a band; that one check the form adds.
func FuzzFridgeForm(f *testing.F) {
	f.Add("8", "2", "15m", "0.5", "critical")
	f.Add("", "9", "", "", "")
	f.Add("7,5", "-0", "1d", "1e3", "minor")
	f.Fuzz(func(t *testing.T, high, low, delay, hyst, sev string) {
		ff := ruleForm{Above: strings.TrimSpace(high), Below: strings.TrimSpace(low), For: strings.TrimSpace(delay),
			Hysteresis: strings.TrimSpace(hyst), Severity: strings.TrimSpace(sev)}
		edits, fields := fridgeEdits(ff, langDE)
		if len(fields) > 0 {
			return
		}
		out, err := applyEdits([]byte(testConfig), edits)
		if err != nil {
			return
		}
		cfg, err := config.Parse(out, "/tmp/fuzz/praxisgate.yaml")
		if err != nil {
			return
		}
		fp := cfg.Fridge.Effective()
		if *fp.High <= *fp.Low {
			return
		}
		cmp := ff
		if cmp.Above == "" {
			cmp.Above = fmtNum(*fp.High)
		}
		if cmp.Below == "" {
			cmp.Below = fmtNum(*fp.Low)
		}
		if msgs := checkRule(cmp, true, langEN); len(msgs) > 0 {
			t.Fatalf("form refuses %+v, which the loader accepts: %v", ff, msgs)
		}
	})
}
