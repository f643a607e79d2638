package testpeer

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TelegrafVersion is the Telegraf release the tests build: the RSS
// comparison of drivers/snmp and the Telegraf → Prometheus path of
// docs/integrations.
const TelegrafVersion = "v1.37.2"

var telegrafBuild sync.Mutex

// Telegraf returns a Telegraf binary built from the Go module proxy with
// only the given plugins (Telegraf's custom build tags, e.g.
// "inputs.mqtt_consumer", "parsers.json_v2"), which compiles in a minute
// instead of many. The binary is kept in the user cache directory
// (praxisgate-testpeer/telegraf-<version>-<hash of the plugins>), so only
// the first run on a machine pays for the build; it is built in a
// temporary directory and renamed into place, so tests of several packages
// running at once never see a half-written binary. Nothing is written into
// the project's go.mod. In the short tier it skips t (SkipShort).
func Telegraf(t testing.TB, plugins ...string) string {
	t.Helper()
	SkipShort(t, "telegraf (built with go install from the module proxy)")
	tags := append([]string{"custom"}, plugins...)
	sum := sha256.Sum256([]byte(TelegrafVersion + " " + strings.Join(tags, ",")))
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("telegraf: user cache dir: %v", err)
	}
	dir := filepath.Join(cache, "praxisgate-testpeer", "telegraf-"+TelegrafVersion+"-"+hex.EncodeToString(sum[:6]))
	bin := filepath.Join(dir, "telegraf")
	telegrafBuild.Lock()
	defer telegrafBuild.Unlock()
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("telegraf: %v", err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatalf("telegraf: %v", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "install", "-tags", strings.Join(tags, ","),
		"github.com/influxdata/telegraf/cmd/telegraf@"+TelegrafVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build telegraf %s with %s: %v\n%s", TelegrafVersion, strings.Join(tags, ","), err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "telegraf"), bin); err != nil {
		t.Fatalf("telegraf: %v", err)
	}
	return bin
}

// TelegrafProcess is a running Telegraf owned by one test.
type TelegrafProcess struct {
	// LogPath holds Telegraf's output of every start.
	LogPath string

	t    testing.TB
	bin  string
	conf string
	env  []string
	proc
}

// StartTelegraf runs bin (from Telegraf) with the config file conf and
// extra environment (NAME=value, for the ${NAME} references of the config)
// until the test ends. Telegraf serves no port of its own to wait for, so
// it returns once the process started; a Telegraf that exits early fails
// the test at cleanup with its log.
func StartTelegraf(t testing.TB, bin, conf string, env ...string) *TelegrafProcess {
	t.Helper()
	p := &TelegrafProcess{t: t, bin: bin, conf: conf, env: env, LogPath: filepath.Join(t.TempDir(), "telegraf.log")}
	t.Cleanup(func() {
		p.mu.Lock()
		exited := p.exited
		running := p.cmd != nil
		p.mu.Unlock()
		if running {
			select {
			case <-exited:
				t.Errorf("telegraf exited before the test ended:\n%s", p.Log())
			default:
			}
		}
		p.Stop()
		if t.Failed() {
			t.Logf("telegraf log:\n%s", p.Log())
		}
	})
	p.start()
	return p
}

func (p *TelegrafProcess) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("telegraf log: %v", err)
	}
	cmd := exec.Command(p.bin, "--config", p.conf)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if _, err := p.run(cmd, f); err != nil {
		p.t.Fatal(err)
	}
}

// Restart starts Telegraf again with the same config and environment
// after Stop or Kill (a stopped Telegraf is stopped first).
func (p *TelegrafProcess) Restart() {
	p.t.Helper()
	p.Stop()
	p.start()
}

// Log returns the tail of Telegraf's output.
func (p *TelegrafProcess) Log() string { return tail(p.LogPath, 6000) }

// tail returns the last n bytes of a file, or a note that it is missing.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
