package web

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers/discover"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func TestInventoryAdoptAndIgnore(t *testing.T) {
	e := newEnv(t)
	e.login()
	_, body := e.get("/devices")
	if !strings.Contains(body, `href="/devices/found"`) {
		t.Error("devices page does not link the inventory")
	}
	_, body = e.get("/devices/found")
	for _, w := range []string{"Im Netz gefunden", "192.168.10.31", "American Power Conversion",
		"Überwachen (SNMP)", "Als bekannt markieren", "unbekannt"} {
		if !strings.Contains(body, w) {
			t.Errorf("devices page lacks %q", w)
		}
	}
	// the phone does not speak SNMP: no adopt link for it
	if strings.Count(body, `href="/devices/adopt?`) != 2 {
		t.Errorf("want adopt links for the two SNMP hosts only")
	}
	resp, body := e.get("/devices/adopt?source=netz&mac=00:c0:b7:01:02:03")
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, `value="apc-rack-usv"`) || !strings.Contains(body, "American Power Conversion") {
		t.Fatalf("adopt form:\n%s", body)
	}
	resp, body = e.get("/devices/adopt?source=netz&mac=da:11:22:33:44:55")
	wantStatus(t, resp, http.StatusNotFound, body)

	adopt := url.Values{"source": {"netz"}, "mac": {"00:c0:b7:01:02:03"}, "id": {"usv-rack"}, "name": {"USV im Rack"}}
	resp, body = e.post("/devices/adopt", adopt)
	wantRedirect(t, resp, "/devices/found")
	// The daemon runs an adopted device at once (gateway.applyDevices).
	if _, body = e.get("/devices/found"); !strings.Contains(body, "Gespeichert und sofort aktiv.") {
		t.Fatalf("no live-apply message after adoption:\n%s", body)
	}
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatalf("config after adoption: %v", err)
	}
	last := cfg.Devices[len(cfg.Devices)-1]
	if last.ID != "usv-rack" || last.Driver != "snmp" || last.Kind != "ups" || last.Name != "USV im Rack" {
		t.Fatalf("adopted device %+v", last)
	}
	data, _ := os.ReadFile(e.cfgPath)
	if !strings.Contains(string(data), `address: "192.168.10.31"`) {
		t.Fatalf("config after adoption:\n%s", data)
	}
	if dc := cfg.Devices[2].DriverConfig.(*discover.Config); dc.Adopted["00:c0:b7:01:02:03"] != "usv-rack" {
		t.Fatalf("discovery device's adopted map %v", dc.Adopted)
	}
	audit, _ := os.ReadFile(e.srv.audit.path)
	if !strings.Contains(string(audit), "device.adopt") {
		t.Fatal("adoption not audited")
	}

	// a bad slug refused by the form; a taken id and an unknown profile by the config loader
	for _, tt := range []struct{ id, profile, want string }{
		{"kuehlschrank", "", "duplicate"},
		{"Drucker Empfang", "", "nur Kleinbuchstaben"},
		{"drucker", "gibt-es-nicht", "gibt-es-nicht"},
	} {
		form := url.Values{"source": {"netz"}, "mac": {"3c:2a:f4:00:00:01"}, "id": {tt.id}, "profile": {tt.profile}}
		resp, body = e.post("/devices/adopt", form)
		wantStatus(t, resp, http.StatusUnprocessableEntity, body)
		if !strings.Contains(strings.ToLower(body), strings.ToLower(tt.want)) {
			t.Errorf("adopt as %q/%q: page lacks %q", tt.id, tt.profile, tt.want)
		}
	}
	// a host not in the inventory, or one without SNMP
	for _, mac := range []string{"00:00:00:00:00:01", "da:11:22:33:44:55"} {
		resp, body = e.post("/devices/adopt", url.Values{"source": {"netz"}, "mac": {mac}, "id": {"x"}})
		wantStatus(t, resp, http.StatusNotFound, body)
	}

	resp, _ = e.post("/devices/ignore", url.Values{"host": {"netz da:11:22:33:44:55"}})
	wantRedirect(t, resp, "/devices/found")
	data, _ = os.ReadFile(e.cfgPath)
	if !strings.Contains(string(data), `"da:11:22:33:44:55"`) || !strings.Contains(string(data), `"00:11:32:aa:bb:cc"`) {
		t.Fatalf("known_macs after ignore:\n%s", data)
	}
	if _, err := config.Load(e.cfgPath); err != nil {
		t.Fatal(err)
	}
	// a known host cannot be ignored again
	resp, body = e.post("/devices/ignore", url.Values{"host": {"netz 3c:2a:f4:00:00:01"}})
	wantStatus(t, resp, http.StatusNotFound, body)
}

func TestSuggestID(t *testing.T) {
	for _, tt := range []struct {
		h    Host
		want string
	}{
		{Host{Name: "APC-Rack-USV"}, "apc-rack-usv"},
		{Host{Name: "Drucker Empfang (Büro)"}, "drucker-empfang-buero"},
		{Host{Kind: "printer", MAC: "3c:2a:f4:00:00:01"}, "printer-000001"},
		{Host{Name: strings.Repeat("langer-name-", 10)}, "langer-name-langer-name-langer-name-lang"},
	} {
		if got := suggestID(tt.h); got != tt.want {
			t.Errorf("suggestID(%+v) = %q, want %q", tt.h, got, tt.want)
		}
	}
}
