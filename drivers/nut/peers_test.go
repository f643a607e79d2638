package nut

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// Helpers that start real NUT programs (Debian's nut-server and
// nut-client) on loopback ports with configs generated in t.TempDir().

// repoRoot walks up from the package directory to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("go.mod not found above the test directory")
	return ""
}

// sharedDump returns the path of a NUT DDL dump kept in the repository's
// third-party test data (drivers/testdata/third_party/nut-ddl).
func sharedDump(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "drivers", "testdata", "third_party", "nut-ddl", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data %s missing: %v", name, err)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// upsd is a running upsd with dummy-ups drivers.
type upsd struct {
	addr string
	dir  string
	env  []string
}

// startUpsd serves each dump (UPS name → .dev path) through dummy-ups and
// upsd on a free loopback port. users is the upsd.users content.
func startUpsd(t *testing.T, dumps map[string]string, users string) *upsd {
	t.Helper()
	drv := testpeer.NUTBinary(t, "dummy-ups", "nut-server")
	daemon := testpeer.NUTBinary(t, "upsd", "nut-server")
	dir := t.TempDir()
	port := freePort(t)
	var conf strings.Builder
	for name, path := range dumps {
		fmt.Fprintf(&conf, "[%s]\n  driver = dummy-ups\n  port = %s\n  desc = \"test %s\"\n", name, path, name)
	}
	files := map[string]string{
		"ups.conf":    conf.String(),
		"upsd.conf":   fmt.Sprintf("LISTEN 127.0.0.1 %d\n", port),
		"upsd.users":  users,
		"nut.conf":    "MODE=standalone\n",
		"upsmon.conf": "",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"NUT_CONFPATH=" + dir, "NUT_STATEPATH=" + dir, "NUT_ALTPIDPATH=" + dir}
	me := currentUser(t)
	for name := range dumps {
		testpeer.StartProc(t, env, filepath.Join(dir, "dummy-ups-"+name+".log"), drv, "-a", name, "-u", me, "-F")
	}
	testpeer.StartProc(t, env, filepath.Join(dir, "upsd.log"), daemon, "-u", me, "-F")
	u := &upsd{addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, env: env}
	for name := range dumps {
		u.waitReady(t, name)
	}
	return u
}

// waitReady asks upsd until the UPS's driver is connected and has data
// (bounded: 200 tries, about 20 s).
func (u *upsd) waitReady(t *testing.T, ups string) {
	t.Helper()
	var last string
	for range 200 {
		c, err := net.DialTimeout("tcp", u.addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			fmt.Fprintf(c, "GET VAR %s ups.status\n", ups)
			line, _ := readLine(bufio.NewReader(c))
			c.Close()
			// dummy-ups says WAIT until it has read its file.
			if strings.HasPrefix(line, "VAR ") && !strings.Contains(line, "WAIT") {
				return
			}
			last = line
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("upsd never served %s (last answer %q)", ups, last)
}
