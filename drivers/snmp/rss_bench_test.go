package snmp

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// BenchmarkRSSvsTelegraf compares memory with the tool a provider would
// otherwise deploy (issue 5): `praxisgate run` and a Telegraf v1.37.2 built
// with only inputs.snmp and outputs.mqtt do the same work one after the
// other: 10 APC agents (one snmpd on 10 loopback ports serving the real
// recording), the same OIDs every 10 s, published to a local Mosquitto.
// praxisgate also keeps every reading in its durable buffer. Reported: the
// steady RSS of each (mean and max over a minute after 30 s of warm-up) and
// the ratio. It builds praxisgate into a temporary directory and Telegraf
// from the module proxy (testpeer.Telegraf: 1-2 minutes the first time,
// then cached) and takes about 4 minutes:
//
//	go test -run '^$' -bench RSSvsTelegraf -benchtime 1x -timeout 30m ./drivers/snmp/
//
// Until the lead links drivers/snmp into drivers/all, praxisgate is built
// with a -overlay that adds the import, leaving the tree untouched.
func BenchmarkRSSvsTelegraf(b *testing.B) {
	if _, err := exec.LookPath("mosquitto"); err != nil {
		if _, err := os.Stat("/usr/sbin/mosquitto"); err != nil {
			b.Fatal("mosquitto not found: install the Debian package mosquitto (make test installs it)")
		}
	}
	tmp := b.TempDir()
	pg := buildPraxisgate(b, tmp)
	tg := testpeer.Telegraf(b, "inputs.snmp", "outputs.mqtt", "serializers.json")

	var addrs []string
	for range 10 {
		p, err := snmpsim.FreeUDPPort("127.0.0.1")
		if err != nil {
			b.Fatal(err)
		}
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(p))
	}
	startAgent(b, recordingPath(b, "apc_smt750x-nmc2"), snmpsim.AgentConfig{Addrs: addrs})
	mq := testpeer.StartMosquitto(b, testpeer.MosquittoOptions{})

	var pgMsgs, tgMsgs atomic.Int64
	opts := mqtt.NewClientOptions().AddBroker(mq.URL()).SetClientID("rss-observer")
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("praxisgate/v1/+/+/telemetry/#", 0, func(mqtt.Client, mqtt.Message) { pgMsgs.Add(1) })
		c.Subscribe("telegraf/#", 0, func(mqtt.Client, mqtt.Message) { tgMsgs.Add(1) })
	})
	cl := mqtt.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("observer: %v", tok.Error())
	}
	defer cl.Disconnect(100)

	cat, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	apc, _ := cat.Get("apc")

	for b.Loop() {
		// praxisgate
		var devs strings.Builder
		for i, a := range addrs {
			fmt.Fprintf(&devs, "  - {id: ups-%02d, driver: snmp, interval: 10s, snmp: {address: %q, profiles: [apc]}}\n", i, a)
		}
		pgCfg := filepath.Join(tmp, "praxisgate.yaml")
		writeText(b, pgCfg, fmt.Sprintf("site: bench\ngateway: rss\nstate_dir: %s\nlog: {level: warn}\nuplink: {broker: %q}\ndevices:\n%s",
			filepath.Join(tmp, "state"), mq.URL(), devs.String()))
		pgMean, pgMax := runAndSample(b, exec.Command(pg, "run", "-config", pgCfg))

		// Telegraf, the same OIDs (the apc profile's plus the system group
		// the driver reads every poll).
		var fields strings.Builder
		oids := []string{oidSysUpTime.String(), oidSysDescr.String(), oidSysName.String()}
		for _, v := range apc.Scalars {
			oids = append(oids, v.oid.String())
		}
		for i, o := range oids {
			fmt.Fprintf(&fields, "  [[inputs.snmp.field]]\n    oid = %q\n    name = \"f%02d\"\n", o, i)
		}
		agents := make([]string, len(addrs))
		for i, a := range addrs {
			agents[i] = strconv.Quote("udp://" + a)
		}
		tgCfg := filepath.Join(tmp, "telegraf.conf")
		writeText(b, tgCfg, fmt.Sprintf(`[agent]
  interval = "10s"
  flush_interval = "10s"
  omit_hostname = true
[[outputs.mqtt]]
  servers = [%q]
  topic = "telegraf/snmp"
  qos = 1
  data_format = "json"
[[inputs.snmp]]
  agents = [%s]
  version = 2
  community = "public"
  timeout = "2s"
  retries = 1
  path = []
%s`, strings.TrimPrefix(mq.URL(), "tcp://"), strings.Join(agents, ", "), fields.String()))
		tgMean, tgMax := runAndSample(b, exec.Command(tg, "--config", tgCfg))

		if pgMsgs.Load() == 0 || tgMsgs.Load() == 0 {
			b.Fatalf("messages at the broker: praxisgate %d, telegraf %d: both must publish", pgMsgs.Load(), tgMsgs.Load())
		}
		b.ReportMetric(pgMean, "praxisgate-MiB-rss")
		b.ReportMetric(pgMax, "praxisgate-MiB-rss-max")
		b.ReportMetric(tgMean, "telegraf-MiB-rss")
		b.ReportMetric(tgMax, "telegraf-MiB-rss-max")
		b.ReportMetric(pgMean/tgMean, "ratio")
		fmt.Printf("10 SNMP agents every 10 s to Mosquitto: praxisgate RSS %.1f MiB (max %.1f, %d messages), Telegraf %.1f MiB (max %.1f, %d messages), ratio %.2f\n",
			pgMean, pgMax, pgMsgs.Load(), tgMean, tgMax, tgMsgs.Load(), pgMean/tgMean)
	}
}

// runAndSample runs cmd for 30 s of warm-up and a minute of sampling its
// VmRSS every half second, then stops it; it returns mean and max in MiB.
func runAndSample(b *testing.B, cmd *exec.Cmd) (mean, max float64) {
	b.Helper()
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	select {
	case <-done:
		b.Fatalf("%s exited early:\n%s", cmd.Path, logs.String())
	case <-time.After(30 * time.Second):
	}
	var sum float64
	n := 0
	for range 120 {
		select {
		case <-done:
			b.Fatalf("%s exited:\n%s", cmd.Path, logs.String())
		case <-time.After(500 * time.Millisecond):
		}
		kb := statusKB(cmd.Process.Pid, "VmRSS:")
		sum += kb
		n++
		if kb > max {
			max = kb
		}
	}
	return sum / float64(n) / 1024, max / 1024
}

func statusKB(pid int, key string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				v, _ := strconv.ParseFloat(fs[0], 64)
				return v
			}
		}
	}
	return 0
}

// buildPraxisgate builds cmd/praxisgate; when drivers/all does not import
// this driver yet, an -overlay adds the import for this build only.
func buildPraxisgate(b *testing.B, tmp string) string {
	b.Helper()
	mod := moduleRoot(b)
	bin := filepath.Join(tmp, "praxisgate")
	args := []string{"build", "-o", bin}
	allPath := filepath.Join(mod, "drivers", "all", "all.go")
	src, err := os.ReadFile(allPath)
	if err != nil {
		b.Fatal(err)
	}
	const imp = `_ "github.com/praxisgate/praxisgate/drivers/snmp"`
	if !strings.Contains(string(src), imp) {
		patched := strings.Replace(string(src), "import (", "import (\n\t"+imp, 1)
		over := filepath.Join(tmp, "all.go")
		writeText(b, over, patched)
		ov := filepath.Join(tmp, "overlay.json")
		writeText(b, ov, fmt.Sprintf(`{"Replace":{%q:%q}}`, allPath, over))
		args = append(args, "-overlay", ov)
	}
	cmd := exec.Command("go", append(args, "./cmd/praxisgate")...)
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build praxisgate: %v\n%s", err, out)
	}
	return bin
}

func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for range 20 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	tb.Fatal("go.mod not found")
	return ""
}

func writeText(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}
