package testpeer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// CurrentNATSVersion is the nats-server CurrentNATS builds. Debian's
// package (2.9.10) predates the MQTT and JetStream fixes the durable
// configuration in docs/integrations/nats.md relies on, so the tests of that
// configuration run a current release built from the Go module proxy.
const CurrentNATSVersion = "v2.15.3"

var currentNATS struct {
	once sync.Once
	bin  string
	err  error
}

// CurrentNATS returns a nats-server CurrentNATSVersion binary, building it
// with `go install` on first use. The build (about 30 s on one core with a
// cold module cache) is cached in the user's cache directory, so later runs
// and other packages reuse it; a cached binary is used only if it reports
// the expected version.
func CurrentNATS(t testing.TB) string {
	t.Helper()
	SkipShort(t, "nats-server "+CurrentNATSVersion+" (built from the Go module proxy)")
	currentNATS.once.Do(func() { currentNATS.bin, currentNATS.err = buildCurrentNATS() })
	if currentNATS.err != nil {
		t.Fatalf("nats-server %s: %v", CurrentNATSVersion, currentNATS.err)
	}
	return currentNATS.bin
}

func buildCurrentNATS() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("user cache dir: %w", err)
	}
	dir := filepath.Join(cache, "praxisgate-testpeer", "nats-server-"+CurrentNATSVersion)
	bin := filepath.Join(dir, "nats-server")
	if natsVersionIs(bin, CurrentNATSVersion) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	// Build into a private directory and rename, so a test in another
	// worktree building at the same moment never runs a half-written file.
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	defer os.RemoveAll(gobin)
	cmd := exec.Command("go", "install", "github.com/nats-io/nats-server/v2@"+CurrentNATSVersion)
	// Outside any module, so the project's go.mod stays untouched.
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install github.com/nats-io/nats-server/v2@%s: %w\n%s", CurrentNATSVersion, err, out)
	}
	if err := os.Rename(filepath.Join(gobin, "nats-server"), bin); err != nil {
		return "", fmt.Errorf("install nats-server: %w", err)
	}
	if !natsVersionIs(bin, CurrentNATSVersion) {
		return "", fmt.Errorf("%s does not report version %s", bin, CurrentNATSVersion)
	}
	return bin, nil
}

// natsVersionIs reports whether bin runs and prints version want.
func natsVersionIs(bin, want string) bool {
	out, err := exec.Command(bin, "--version").Output()
	return err == nil && strings.TrimSpace(string(bytes.TrimPrefix(out, []byte("nats-server: ")))) == want
}
