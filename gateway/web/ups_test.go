package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/upshid"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// upsBackend adds the optional UPS parts to the fake backend.
type upsBackend struct {
	*fakeBackend
	mu       sync.Mutex
	attached []drivers.Attached
	tests    []string
	fail     error
}

func (b *upsBackend) Attached() []drivers.Attached {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]drivers.Attached(nil), b.attached...)
}

func (b *upsBackend) SelfTest(_ context.Context, device string, deep bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	kind := "quick"
	if deep {
		kind = "deep"
	}
	b.tests = append(b.tests, device+" "+kind)
	return nil
}

func upsEnv(t *testing.T) (*env, *upsBackend) {
	e := newEnv(t)
	e.be.devices[1].SelfTest = true // usv
	ub := &upsBackend{fakeBackend: e.be}
	e.srv.be = ub
	e.login()
	return e, ub
}

func TestSelfTestButton(t *testing.T) {
	e, ub := upsEnv(t)
	_, body := e.get("/devices")
	if n := strings.Count(body, `form="selftest-form" name="device"`); n != 1 || !strings.Contains(body, `value="usv" title="Die USV prüft`) {
		t.Fatalf("want one self-test button, for the UPS (%d):\n%s", n, body)
	}
	resp, body := e.post("/devices/selftest", url.Values{"device": {"usv"}})
	wantRedirect(t, resp, "/devices")
	if _, body = e.get("/devices"); !strings.Contains(body, "Batterietest gestartet.") {
		t.Fatalf("no message after starting the test:\n%s", body)
	}
	// The page never starts the deep test (it drains the battery).
	resp, _ = e.post("/devices/selftest", url.Values{"device": {"usv"}, "deep": {"1"}})
	wantRedirect(t, resp, "/devices")
	if got := strings.Join(ub.tests, ","); got != "usv quick,usv quick" {
		t.Fatalf("self-tests started: %q", got)
	}
	audit, _ := os.ReadFile(e.srv.audit.path)
	if !strings.Contains(string(audit), `"action":"ups.selftest","detail":"usv (quick)"`) {
		t.Fatalf("self-test not audited:\n%s", audit)
	}
	// A fridge has no battery test; an unknown device neither.
	for _, dev := range []string{"kuehlschrank", "nope"} {
		resp, body = e.post("/devices/selftest", url.Values{"device": {dev}})
		wantStatus(t, resp, http.StatusNotFound, body)
	}
	ub.mu.Lock()
	ub.fail = errors.New("upshid: protocol error: this UPS declares no Test control")
	ub.mu.Unlock()
	resp, body = e.post("/devices/selftest", url.Values{"device": {"usv"}})
	wantStatus(t, resp, http.StatusBadGateway, body)
	if !strings.Contains(body, "Der Batterietest konnte nicht gestartet werden: upshid: protocol error") {
		t.Fatalf("failure not shown:\n%s", body)
	}
}

func TestAdoptAttachedUPS(t *testing.T) {
	e, ub := upsEnv(t)
	ub.attached = []drivers.Attached{
		{Key: "4B1948P07984", Title: "American Power Conversion Back-UPS ES 850G2 (051d:0002, USB)", ID: "usv-4b1948p07984",
			Adopt: drivers.Adoption{Driver: "upshid", Kind: "ups", Settings: map[string]string{"serial": "4B1948P07984"}}},
		{Key: "E1", Title: "Eaton 3S (0463:ffff, USB)", ID: "usv-e1", Adopted: "usv-server",
			Adopt: drivers.Adoption{Driver: "upshid", Kind: "ups", Settings: map[string]string{"serial": "E1"}}},
	}
	_, body := e.get("/devices/found")
	for _, w := range []string{"Am Gerät angeschlossen (USB)", "Back-UPS ES 850G2", "noch nicht überwacht", "usv-server"} {
		if !strings.Contains(body, w) {
			t.Errorf("found page lacks %q", w)
		}
	}
	if n := strings.Count(body, `href="/devices/adopt-attached?`); n != 1 {
		t.Fatalf("want one adopt link, for the UPS nobody reads (%d):\n%s", n, body)
	}
	resp, body := e.get("/devices/adopt-attached?driver=upshid&key=E1")
	wantStatus(t, resp, http.StatusNotFound, body)
	resp, body = e.get("/devices/adopt-attached?driver=upshid&key=4B1948P07984")
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, `value="usv-4b1948p07984"`) {
		t.Fatalf("adopt form:\n%s", body)
	}
	form := url.Values{"driver": {"upshid"}, "key": {"4B1948P07984"}, "id": {"Bad Id"}, "name": {"USV Empfang"}}
	resp, body = e.post("/devices/adopt-attached", form)
	wantStatus(t, resp, http.StatusUnprocessableEntity, body)
	form.Set("id", "usv-empfang")
	resp, body = e.post("/devices/adopt-attached", form)
	wantRedirect(t, resp, "/devices/found")
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatalf("config after adoption: %v", err)
	}
	last := cfg.Devices[len(cfg.Devices)-1]
	uc, ok := last.DriverConfig.(*upshid.Config)
	if last.ID != "usv-empfang" || last.Driver != "upshid" || last.Kind != "ups" || last.Name != "USV Empfang" || !ok || uc.Serial != "4B1948P07984" {
		t.Fatalf("adopted device %+v %+v", last, last.DriverConfig)
	}
	audit, _ := os.ReadFile(e.srv.audit.path)
	if !strings.Contains(string(audit), "as usv-empfang") {
		t.Fatal("adoption not audited")
	}
}
