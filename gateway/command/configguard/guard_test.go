package configguard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

const oldCfg = `site: praxis-a
gateway: gw-01
uplink:
  broker: tcp://127.0.0.1:1883
  username: gw
  password: geheim # the broker password
`

const newCfg = `site: praxis-a
gateway: gw-01
uplink:
  broker: tcp://127.0.0.1:1884
  username: gw
  password: geheim
`

func setup(t *testing.T) (*Guard, *time.Time) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "praxisgate.yaml")
	if err := os.WriteFile(path, []byte(oldCfg), 0o640); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	g := New(path, nil)
	g.Now = func() time.Time { return now }
	g.Poll = time.Millisecond
	return g, &now
}

func fileIs(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("%s =\n%s\nwant\n%s", path, b, want)
	}
}

func TestStageRefusesInvalid(t *testing.T) {
	g, _ := setup(t)
	for _, bad := range []string{"site: [", "site: x\n", "gateway: g\nsite: s\nuplink: {broker: tcp://h:1}\nnope: 1\n"} {
		if err := g.Stage("c1", []byte(bad), time.Minute); err == nil {
			t.Errorf("Stage(%q) accepted", bad)
		}
	}
	fileIs(t, g.Path, oldCfg)
	if _, err := os.Stat(g.markerPath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("marker written for a refused config")
	}
}

func TestConfirm(t *testing.T) {
	g, _ := setup(t)
	if err := g.Stage("c1", []byte(newCfg), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := g.Stage("c2", []byte(newCfg), time.Minute); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Stage = %v, want ErrBusy", err)
	}
	fileIs(t, g.Path, newCfg)
	fileIs(t, g.previousPath(), oldCfg)
	if st, err := os.Stat(g.Path); err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode of the new file: %v %v, want 0640 like the old one", st.Mode(), err)
	}
	cfg, p, err := g.Load(config.Load)
	if err != nil || p == nil || cfg.Uplink.Broker != "tcp://127.0.0.1:1884" {
		t.Fatalf("Load = %v, %+v, %v", cfg, p, err)
	}
	var got Outcome
	g.Watch(context.Background(), p, func() bool { return true }, func(o Outcome) { got = o }, func() { t.Fatal("restart") })
	if !got.Applied || got.ID != "c1" {
		t.Fatalf("outcome %+v", got)
	}
	fileIs(t, g.Path, newCfg)
	if _, p, _ := g.Load(config.Load); p != nil {
		t.Fatal("marker left after confirm")
	}
}

func TestRevertWhenUplinkStaysDown(t *testing.T) {
	g, now := setup(t)
	if err := g.Stage("c1", []byte(newCfg), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, p, err := g.Load(config.Load)
	if err != nil {
		t.Fatal(err)
	}
	polls, restarted := 0, false
	g.Watch(context.Background(), p, func() bool {
		polls++
		if polls == 3 {
			*now = now.Add(2 * time.Minute)
		}
		return false
	}, func(o Outcome) { t.Fatal("reported before the uplink is up") }, func() { restarted = true })
	if !restarted {
		t.Fatal("no restart after revert")
	}
	fileIs(t, g.Path, oldCfg)
	// The restarted daemon reports the revert once connected.
	_, p, err = g.Load(config.Load)
	if err != nil || p == nil || p.State != StateReverted {
		t.Fatalf("after revert Load: %+v %v", p, err)
	}
	var got Outcome
	g.Watch(context.Background(), p, func() bool { return true }, func(o Outcome) { got = o }, func() { t.Fatal("restart") })
	if got.Applied || !strings.Contains(got.Reason, "did not come back within 1m") {
		t.Fatalf("outcome %+v", got)
	}
}

func TestLoadRevertsBrokenOrExpired(t *testing.T) {
	t.Run("load fails", func(t *testing.T) {
		g, _ := setup(t)
		if err := g.Stage("c1", []byte(newCfg), time.Minute); err != nil {
			t.Fatal(err)
		}
		calls := 0
		cfg, p, err := g.Load(func(path string) (*config.Config, error) {
			calls++
			if calls == 1 {
				return nil, errors.New("ca_file vanished")
			}
			return config.Load(path)
		})
		if err != nil || cfg.Uplink.Broker != "tcp://127.0.0.1:1883" || p.State != StateReverted || !strings.Contains(p.Reason, "ca_file vanished") {
			t.Fatalf("Load = %+v, %+v, %v", cfg, p, err)
		}
	})
	t.Run("deadline passed while crash-looping", func(t *testing.T) {
		g, now := setup(t)
		if err := g.Stage("c1", []byte(newCfg), time.Minute); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(time.Hour)
		cfg, p, err := g.Load(config.Load)
		if err != nil || cfg.Uplink.Broker != "tcp://127.0.0.1:1883" || p.State != StateReverted {
			t.Fatalf("Load = %+v, %+v, %v", cfg, p, err)
		}
	})
}

func TestRedact(t *testing.T) {
	in := `site: s
anchors:
  pw: &pw hunter2
uplink:
  password: geheim
  password_file: /etc/pw
devices:
  - id: printer
    snmp: {community: public, v3: {auth_passphrase: a1, priv_passphrase: p1}}
  - id: nas
    httpjson: {password: *pw}
`
	out, err := RedactYAML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"geheim", "public", "a1", "p1", "hunter2"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("secret %q left in\n%s", secret, out)
		}
	}
	if !strings.Contains(string(out), "/etc/pw") {
		t.Errorf("file path redacted:\n%s", out)
	}
	// Round trip: an edited get-config output keeps the current secrets.
	edited := strings.Replace(string(out), "site: s", "site: t", 1)
	back, err := Unredact([]byte(edited), []byte(strings.Replace(in, "*pw", "nas-pw", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"site: t", "geheim", "public", "a1", "p1", "nas-pw"} {
		if !strings.Contains(string(back), want) {
			t.Errorf("%q missing after Unredact:\n%s", want, back)
		}
	}
	if _, err := Unredact([]byte("uplink: {token: '[redacted]'}\n"), []byte("site: s\n")); err == nil {
		t.Error("placeholder without a current value accepted")
	}
}
