package webbackend

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// The web page on a real gateway: it shows the sim fridge's readings and
// alarm, a test poll goes through the scheduler, and acknowledging the
// alarm on the page reaches the provider both as alarm.acked and as the
// audit event web.change.
func TestWebBackend(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	s := gwtest.SubscribeAll(t, mq.URL())
	cfg := gwtest.Load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: fridge, name: Impfstoff, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge, speed: 120, episodes: [{at: 1m, for: 60m}]}}
  - {id: spare, driver: sim, disabled: true, sim: {scenario: room}}
alarms:
  - {device: fridge, metric: temperature, above: 8, for: 1s, severity: critical}
`, dir, mq.URL()))
	g := gwtest.New(t, cfg, "test")
	be := New(g, nil, nil)
	gwtest.Run(t, g)
	gwtest.WaitFor(t, "alarm raised", func() bool { return len(be.Alarms()) == 1 })

	devs := be.Devices()
	if len(devs) != 2 || devs[0].ID != "fridge" || devs[0].Name != "Impfstoff" || devs[0].Kind != "fridge" || len(devs[0].Metrics) == 0 || devs[0].At.IsZero() {
		t.Fatalf("devices %+v", devs)
	}
	if !devs[1].Disabled {
		t.Fatalf("disabled device not marked: %+v", devs[1])
	}
	sample, err := be.PollNow(context.Background(), "fridge")
	if err != nil || len(sample.Metrics) == 0 {
		t.Fatalf("test poll: %v %+v", err, sample)
	}
	if _, err := be.PollNow(context.Background(), "nope"); err == nil {
		t.Fatal("test poll of an unknown device succeeded")
	}
	gwtest.WaitFor(t, "connected and self telemetry", func() bool { st := be.Status(); return st.Connected && len(st.Health) > 0 })
	if st := be.Status(); st.Version != "test" || st.Boot == "" || st.Started.IsZero() {
		t.Fatalf("status %+v", st)
	}

	srv, err := web.New(web.Options{Backend: be, ColdChain: be.ColdChain(), Dir: filepath.Join(dir, "web"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	c := ts.Client()
	c.Jar, _ = cookiejar.New(nil)
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	var csrf string
	do := func(method, path string, form url.Values) string {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = c.Get(ts.URL + path)
		} else {
			form.Set("csrf", csrf)
			resp, err = c.PostForm(ts.URL+path, form)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if m := token.FindSubmatch(b); m != nil {
			csrf = string(m[1])
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d\n%s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	do(http.MethodGet, "/setup", nil)
	do(http.MethodPost, "/setup", url.Values{"code": {srv.SetupCode()}, "user": {"admin"}, "password": {"ein-langes-passwort"}, "confirm": {"ein-langes-passwort"}})
	do(http.MethodPost, "/login", url.Values{"user": {"admin"}, "password": {"ein-langes-passwort"}})
	page := do(http.MethodGet, "/", nil)
	if !strings.Contains(page, "Impfstoff") || !strings.Contains(page, "°C") {
		t.Fatalf("overview lacks the fridge:\n%s", page)
	}
	// The fridge's cold-chain record: no finished day yet, so the header.
	if csv := do(http.MethodGet, "/coldchain.csv?device=fridge", nil); !strings.HasPrefix(csv, "\ufeffDatum;Gerät;") {
		t.Fatalf("cold-chain CSV: %q", csv)
	}
	if ff := be.ColdChain().Fridges(); len(ff) != 1 || ff[0] != "fridge" {
		t.Fatalf("fridges %v", ff)
	}
	id := be.Alarms()[0].ID
	// The fridge's alarm is acknowledged in the name typed, with the
	// comment the cold-chain record needs.
	page = do(http.MethodPost, "/alarms/ack", url.Values{"id": {id}, "user": {"MW"}, "comment": {"Tür war offen, Ware geprüft"}})
	if !strings.Contains(page, "quittiert von MW: „Tür war offen, Ware geprüft“") {
		t.Fatalf("alarms page after ack:\n%s", page)
	}
	gwtest.WaitFor(t, "alarm.acked at the broker", func() bool {
		return s.Count("/event/fridge", `"type":"alarm.acked"`) == 1 && s.Count("/event/fridge", `"comment":"Tür war offen, Ware geprüft"`) == 1
	})
	if today := be.ColdChain().Today(time.Now()); len(today) != 1 || len(today[0].Acks) != 1 || today[0].Acks[0].User != "MW" {
		t.Fatalf("acknowledgement not in the day's record: %+v", today)
	}
	gwtest.WaitFor(t, "audit event at the broker", func() bool {
		return s.Count("/event/gateway", `"type":"web.change"`, `"action":"alarm.ack"`, `"user":"admin"`) == 1
	})
}

// RunWeb serves the page on the configured addresses: HTTPS, and plain
// HTTP that redirects.
func TestRunWeb(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	httpsPort, _ := testpeer.FreePort()
	httpPort, _ := testpeer.FreePort()
	cfg := gwtest.Load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
web: {listen: "127.0.0.1:%d", redirect_listen: "127.0.0.1:%d"}
`, dir, mq.URL(), httpsPort, httpPort))
	g, _ := gwtest.Start(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- New(g, nil, nil).Serve(ctx, Options{Logs: func() []string { return []string{"a log line"} }})
	}()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var resp *http.Response
	gwtest.WaitFor(t, "web page up", func() bool {
		var err error
		resp, err = c.Get(fmt.Sprintf("https://127.0.0.1:%d/", httpsPort))
		return err == nil
	})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/setup" {
		t.Fatalf("first visit: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://127.0.0.1:%d/", httpsPort); resp.Header.Get("Location") != want {
		t.Fatalf("plain HTTP redirects to %q, want %q", resp.Header.Get("Location"), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "web", "https.crt")); err != nil {
		t.Fatalf("certificate not in <state_dir>/web: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
