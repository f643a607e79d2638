package nutserve

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"

	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
)

// The NUT server of a running gateway, read with the real upsc: a UPS
// polled fine is served with its variables, a UPS whose poll fails is
// served as stale (ERR DATA-STALE, as docs/drivers/nut.md promises), not
// dropped (which clients read as ERR UNKNOWN-UPS: a UPS that does not
// exist) and never as a healthy UPS on line.
func TestServeGatewayUPSes(t *testing.T) {
	upsc := testpeer.NUTBinary(t, "upsc", "nut-client")
	port, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := gwtest.Load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: "tcp://127.0.0.1:1"}
web: {listen: "off"}
devices:
  - {id: usv-ok, driver: sim, kind: ups, interval: 1s, sim: {scenario: ups}}
  - {id: usv-kaputt, driver: sim, kind: ups, interval: 1s, sim: {scenario: ups, failures: [{at: 0s, for: 24h}]}}
nut_server:
  listen: "127.0.0.1:%d"
  username: upsmon
  password: geheim-genug
  ups: {ok: usv-ok, kaputt: usv-kaputt}
`, dir, port))
	g, _ := gwtest.Start(t, cfg)
	gwtest.WaitFor(t, "both UPSes polled", func() bool {
		n := 0
		for _, l := range g.Latest() {
			if l.Sample.Device == "usv-ok" && l.Err == "" || l.Sample.Device == "usv-kaputt" && l.Err != "" {
				n++
			}
		}
		return n == 2
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, cfg.NUTServer, g, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	var out []byte
	gwtest.WaitFor(t, "the NUT server answering", func() bool {
		out, err = exec.Command(upsc, "-l", addr).Output()
		return err == nil
	})
	if got := strings.Fields(string(out)); len(got) != 2 || got[0] != "kaputt" || got[1] != "ok" {
		t.Fatalf("upsc -l: %q, want both UPSes", out)
	}
	out, err = exec.Command(upsc, "ok@"+addr, "ups.status").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("upsc ok: %v %q", err, out)
	}
	for _, v := range []string{"", "ups.status"} {
		args := []string{"kaputt@" + addr}
		if v != "" {
			args = append(args, v)
		}
		out, err = exec.Command(upsc, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Data stale") {
			t.Fatalf("upsc %v on the failing UPS: err %v, output %q; want Data stale", args, err, out)
		}
	}
}
