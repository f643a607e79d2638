package webbackend

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
	"github.com/praxisgate/praxisgate/gateway/selfupdate"
	"github.com/praxisgate/praxisgate/update"
)

// The web page's Update tab on a real self-update: off until the daemon
// hands its updater over, then the check finds the release, an install
// outside the window is deferred with the reason, and a forced install
// installs and restarts after the page could answer.
func TestWebBackendUpdate(t *testing.T) {
	dir := t.TempDir()
	repoURL, rootFile := gwtest.Publish(t, dir, "2.0.0")
	state := filepath.Join(dir, "state")
	gwtest.Provision(t, state, "1.0.0")
	h := time.Now().Hour()
	window := fmt.Sprintf("%02d:00-%02d:00", (h+2)%24, (h+3)%24) // not now
	cfg := gwtest.Load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: "tcp://127.0.0.1:1"}
web: {listen: "off"}
update: {repo: %q, insecure_http: true, root_file: %s, window: %q, channel: stable, dir: %s}
`, dir, repoURL, rootFile, window, state))
	g := gwtest.New(t, cfg, "1.0.0")
	be := New(g, nil, nil)
	ctx := context.Background()

	if st := be.UpdateStatus(); st.On || st.Version != "1.0.0" || !strings.Contains(st.Reason, "cannot update") {
		t.Fatalf("status before SetUpdater: %+v", st)
	}
	if _, err := be.UpdateInstall(ctx, true); err == nil {
		t.Fatal("install without an updater succeeded")
	}

	var restarts atomic.Int32
	u, err := selfupdate.New(g, selfupdate.Options{TrustedRoot: gwtest.ReadFile(t, rootFile), Restart: func() error { restarts.Add(1); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	be.SetUpdater(u)
	if st := be.UpdateStatus(); !st.On || st.Channel != "stable" || st.Window != window || st.Version != "1.0.0" {
		t.Fatalf("status: %+v", st)
	}
	if st, err := be.UpdateCheck(ctx); err != nil || st.State != update.StateAvailable || st.To != "2.0.0" || st.At.IsZero() {
		t.Fatalf("check: %+v %v", st, err)
	}
	if st, err := be.UpdateInstall(ctx, false); err != nil || st.State != update.StateDeferred || st.Reason != "outside the maintenance window" {
		t.Fatalf("install outside the window: %+v %v", st, err)
	}
	if st, err := be.UpdateInstall(ctx, true); err != nil || st.State != update.StateInstalled || st.To != "2.0.0" {
		t.Fatalf("forced install: %+v %v", st, err)
	}
	st := be.UpdateStatus()
	if st.State != update.StateInstalled {
		t.Fatalf("status after install: %+v", st)
	}
	// The page's history holds every step of the three presses, oldest first.
	var steps []string
	for _, s := range st.History {
		steps = append(steps, s.State)
	}
	if got := strings.Join(steps, ","); got != "checking,available,checking,available,deferred,checking,available,downloading,installed" {
		t.Fatalf("history %s", got)
	}
	if d := st.History[4]; d.Reason != "outside the maintenance window" || d.To != "2.0.0" || d.From != "1.0.0" || d.At.IsZero() {
		t.Fatalf("deferred step %+v", d)
	}
	gwtest.WaitFor(t, "restart after the grace", func() bool { return restarts.Load() == 1 })

	be.SetUpdater(nil)
	if st := be.UpdateStatus(); st.On {
		t.Fatalf("status after SetUpdater(nil): %+v", st)
	}
}

// A box without an update: section says just that.
func TestWebBackendUpdateNotConfigured(t *testing.T) {
	dir := t.TempDir()
	cfg := gwtest.Load(t, dir, fmt.Sprintf("site: s\ngateway: g\nstate_dir: %s\nuplink: {broker: \"tcp://127.0.0.1:1\"}\n", dir))
	g := gwtest.New(t, cfg, "1.0.0")
	be := New(g, nil, nil)
	st := be.UpdateStatus()
	if st.On || st.Reason != "no update: section in the config" {
		t.Fatalf("status: %+v", st)
	}
	if _, err := be.UpdateCheck(context.Background()); err == nil {
		t.Fatal("check without updates succeeded")
	}
}
