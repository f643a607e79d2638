package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/drivers/ups/upssim"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
	"github.com/praxisgate/praxisgate/update"
)

// TestPowerCutNight plays the night of issue 17 with the real daemon,
// compressed into a few minutes: praxisgate 2.0.0 (a release build) runs
// under "update supervise" with an APC UPS on a pseudo-terminal (upssim)
// a fridge sensor on the practice's own MQTT broker (Tasmota), the UPS's
// network card (snmpd, SNMPv3) and a NAS (snmpd, SNMPv2c), alarms by SMS
// over a cellular modem on a pseudo-terminal (modemsim, issue 18), and
// publishes to the provider's Mosquitto.
//
//   - mains fails: the UPS goes on battery (no SMS: the provider is
//     reachable and alerts people itself);
//   - the uplink is cut: the provider's broker goes away, and the box
//     sends the on-battery alarm by SMS to contact 1;
//   - the fridge warms past its limit: an SMS to contact 1 names it;
//   - the UPS card and the NAS restart, each with a new engine id;
//   - the box loses power: the supervisor and the daemon are SIGKILLed;
//     the UPS loses power too and comes back in APC power-up (dumb) mode,
//     and the USB modem is unplugged with the box;
//   - power returns: the modem re-enumerates under another pty name, the
//     box starts again and, the fridge still warm and its alarm not
//     acknowledged, sends the fridge SMS to contact 1 again; contact 1
//     replies "OK <code>", which acknowledges the alarm; the update server
//     offers 3.0.0, which hangs at every start before READY=1 (held back
//     first while the restored alarms stand: the next check, a minute
//     later, installs it);
//   - 3.0.0 is rolled back, the fridge cools down, the uplink returns.
//
// It checks that no acknowledged record is lost (every seq up to the last
// reaches the provider, but for ranges the buffer itself reported as
// skipped after the unclean stop), that every alarm raised and cleared
// reaches the provider raised before cleared and in seq order, that every
// device is read again within 60 s of power returning (by the readings'
// own timestamps), that the cold-chain record verifies and counts the
// outage as time without data, and that the box ends on 2.0.0. For the
// SMS: none went out while the provider was reachable, contact 2 (an hour
// later in the chain) got none, the modem was found again after the
// restart, and every SMS the modem accepted reached the provider as a
// notify.sent event, in seq order with the alarm's own events and after
// its raise, with the reply as alarm.acked and notify.acked. It prints the night's timeline.
func TestPowerCutNight(t *testing.T) {
	testpeer.SkipShort(t, "mosquitto, snmpd, pseudo-terminals, real daemon builds")
	t.Parallel() // a box of its own; mostly waiting for restarts and the update's recheck
	playNight(t, newHostRig(t))
}

// BenchmarkPowerCutNight plays the night once per iteration and reports,
// per device, the time from its coming back (its agent restarted, or
// power returned) to its first reading, by the readings' timestamps.
// Run: go test ./cmd/praxisgate -run '^$' -bench PowerCutNight -benchtime 1x
func BenchmarkPowerCutNight(b *testing.B) {
	benchNight(b, "BenchmarkPowerCutNight", func(tb testing.TB) nightRig { return newHostRig(tb) })
}

// benchNight plays the night b.N times on rigs made by rig and reports
// the mean time each device took to be read again.
func benchNight(b *testing.B, name string, rig func(testing.TB) nightRig) {
	sum := map[string]time.Duration{}
	for range b.N {
		for k, d := range playNight(b, rig(b)) {
			sum[k] += d
		}
	}
	keys := make([]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := sum[k].Seconds() / float64(b.N)
		b.ReportMetric(s, "s_read_again_"+k)
		fmt.Printf("%s: %s read again %.2f s after coming back (mean of %d)\n", name, k, s, b.N)
	}
}

// nightRig is where the night's box runs and what is plugged into it,
// its UPS and its SMS modem: the box's processes on this machine with an
// APC UPS and the modem on pseudo-terminals (hostRig, power cut by
// SIGKILL), or the appliance in a qemu guest with a USB UPS through uhid
// whose power is really cut (vmRig, night_vm_test.go). The peers (both
// brokers, the SNMP agents, the update server) run on this machine's
// loopback either way.
type nightRig interface {
	// upsDevice is the UPS's entry in the device list, modemPort the
	// modem's device path on the box.
	upsDevice() string
	modemPort() string
	// peer is how the box reaches a peer listening on this machine's
	// loopback (a URL or host:port).
	peer(addr string) string
	// prepare provisions the box with release 2.0.0 (bin) in state,
	// seeds the fridge's cold-chain record with yesterday, and keeps cfg
	// (files the config names) for the boots.
	prepare(t testing.TB, state, cfg, bin string, files ...string)
	// boot starts the box: "update supervise" and the daemon it runs.
	boot(t testing.TB)
	// mainsFail puts the UPS on battery.
	mainsFail(t testing.TB)
	// powerCut takes the box's power (and its USB devices'); powerReturn
	// brings mains back, the devices back on the bus and boots the box.
	// Both say what happened, for the timeline.
	powerCut(t testing.TB) string
	powerReturn(t testing.TB) string
	// submits are the SMS the modem accepted over the night; deliver
	// hands the modem an incoming SMS.
	submits() []modemsim.Submit
	deliver(t testing.TB, from, text string)
	// readFile reads a file of the box's state directory; linked is the
	// version "current" points at.
	readFile(t testing.TB, rel string) ([]byte, error)
	linked(t testing.TB) (string, error)
	// verifyColdChain runs "praxisgate coldchain verify" on the box.
	verifyColdChain(t testing.TB) (string, error)
	// stop stops the box with SIGTERM (a clean shutdown).
	stop(t testing.TB)
	// logs is the box's output so far.
	logs() string
	// patience scales the hang guards of waits on the box.
	patience() time.Duration
}

// playNight plays the night on rig and returns how long each device took
// to be read again after it came back ("nas/agent" after its agent
// restarted, "nas/power" after the box's power returned).
func playNight(t testing.TB, rig nightRig) map[string]time.Duration {
	t.Helper()
	readAgain := map[string]time.Duration{}
	start := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon output:\n%s", rig.logs())
		}
	})
	var tl timeline
	tl.start = start
	f := newUpdateFixtureWith(t, testpeer.MosquittoOptions{Persistence: true})
	sensors := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	fridge := newFridgeSensor(t, sensors.URL())
	// The UPS's network card (SNMPv3) and the NAS (SNMPv2c), real snmpd
	// serving LibreNMS recordings.
	upsCard := startNightAgent(t, "eaton-mgeups_9px", snmpsim.AgentConfig{Communities: []string{}, Users: []snmpsim.User{nightV3User}, EngineID: "night-ups-card-1"})
	nas := startNightAgent(t, "qnap", snmpsim.AgentConfig{Communities: []string{nightCommunity}, EngineID: "night-nas-1"})
	patience := rig.patience()

	// The provider's repository: empty for now.
	ctx := context.Background()
	repo := newEmptyRepo(t)
	const gw = "gw-night"
	root := "praxisgate/v1/praxis-test/" + gw + "/"
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	hanging := buildFaulty(t, "3.0.0")
	// A fridge reading holds for 5 s (stale_after): a longer gap is time
	// without data in the cold-chain record.
	extra := fmt.Sprintf(`fridge: {delay: 2s, stale_after: 5s}
devices:
  - %s
  - {id: fridge, driver: mqttsensor, kind: fridge, interval: 1s, mqttsensor: {broker: %q, source: tasmota, topic: tasmota_fridge, stale_after: 30s}}
  - id: upscard
    driver: snmp
    interval: 1s
    snmp: {address: %q, version: "3", timeout: 500ms, retries: 1, v3: {user: %s, auth_protocol: %s, auth_password: %s, priv_protocol: %s, priv_password: %s}}
  - {id: nas, driver: snmp, interval: 1s, snmp: {address: %q, version: 2c, community: %s, timeout: 500ms, retries: 1}}
`, rig.upsDevice(), rig.peer(sensors.URL()), rig.peer(upsCard.Addr()), nightV3User.Name, nightV3User.Auth, nightV3User.AuthPass, nightV3User.Priv, nightV3User.PrivPass,
		rig.peer(nas.Addr()), nightCommunity)
	// Alarms by SMS: critical to contact 1, contact 2 an hour later (not
	// within the night's minutes), major to contact 1; while the uplink
	// has been down 2 s (1m by default: the night is compressed).
	extra += fmt.Sprintf(`notify:
  modem: {port: %s, health_interval: 5s}
  contacts:
    - {name: %s, number: "%s"}
    - {name: %s, number: "%s"}
  chains:
    critical: {contacts: [%s, %s], delay: 1h}
    major: {contacts: [%s], delay: 1h}
  uplink_down_after: 2s
  sms_per_hour: 30
`, rig.modemPort(), nightContact1, nightNumber1, nightContact2, nightNumber2, nightContact1, nightContact2, nightContact1)
	// updateConfig with checks every minute: an install held back by a
	// gate (critical alarm, UPS on battery) is tried again within the night.
	nightConfig := strings.Replace(updateConfig, "interval: 1h", "interval: 1m", 1)
	cfg := writeFile(t, dir, "praxisgate.yaml", fmt.Sprintf(nightConfig, gw, state, rig.peer(f.mq.URL()), freeAddr(t),
		rig.peer(repo.url), repo.rootFile, "00:00-24:00", "60s", extra))
	// The fridge's record already holds yesterday, so verify has a chain
	// to check after the night.
	rig.prepare(t, state, cfg, f.bins["2.0.0"], repo.rootFile)

	// Evening: everything runs.
	rig.boot(t)
	tl.add("box on 2.0.0 started")
	f.sub.waitFor(t, "2.0.0 online", root+"status", `"state":"online","version":"2.0.0"`)
	f.sub.waitFor(t, "the UPS read", root+"telemetry/ups", `"device":"ups"`)
	for _, dev := range nightDevices {
		f.sub.waitFor(t, "the "+dev+" read", root+"telemetry/"+dev, `"device":"`+dev+`"`)
	}
	tl.add("online, UPS, fridge, UPS card and NAS read")
	f.sub.waitFor(t, "the SMS modem's health", root+"telemetry/"+nightModem, `"modem.sim"`, `"READY"`)
	tl.add("the SMS modem answers (SIM ready)")

	rig.mainsFail(t)
	tl.add("mains fails: UPS on battery")
	f.sub.waitFor(t, "ups.on_battery raised", root+"event/ups", `"type":"alarm.raised"`, "ups.on_battery")
	tl.add("provider has the on-battery alarm")

	f.mq.Stop()
	uplinkCut := time.Now()
	tl.add("uplink cut (provider's broker down)")
	fridge.set(9.5)
	tl.add("fridge warms to 9.5 °C (limit 8 °C, delay 2 s)")
	// The UPS shuts the servers down: the UPS card and the NAS restart,
	// both with a new engine id.
	agentsBack := map[string]time.Time{}
	for _, a := range []struct {
		dev, eid string
		agent    *snmpsim.Agent
	}{{"upscard", "night-ups-card-2", upsCard}, {"nas", "night-nas-2", nas}} {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := a.agent.Restart(rctx, func(c *snmpsim.AgentConfig) { c.EngineID = a.eid })
		cancel()
		if err != nil {
			t.Fatalf("restart the %s's snmpd: %v", a.dev, err)
		}
		agentsBack[a.dev] = time.Now()
		tl.add(a.dev + " (snmpd) restarted with the new engine id " + a.eid)
	}
	// The practice is told by SMS now; the provider sees the alarms later.
	fridgeSMS := waitSMS(t, rig, "the fridge alarm by SMS to "+nightContact1, time.Time{}, nightNumber1, "fridge")
	if !strings.Contains(fridgeSMS.Text, "ALARM kritisch: fridge: Temperatur 9,5 über Grenze 8.") {
		t.Errorf("the fridge SMS does not say which fridge and what in German: %q", fridgeSMS.Text)
	}
	waitSMS(t, rig, "the on-battery alarm by SMS to "+nightContact1, time.Time{}, nightNumber1, "ALARM schwer: ups: USV läuft auf Batterie")
	time.Sleep(8 * time.Second)

	cut := time.Now()
	tl.add(rig.powerCut(t))
	time.Sleep(10 * time.Second)

	// The provider publishes 3.0.0, which hangs at every start.
	mustCall(ctx, t, releaseCmd, "add", "-repo", repo.dir, "-keys", repo.keys, "-file", hanging, "-version", "3.0.0",
		"-os", runtime.GOOS, "-arch", runtime.GOARCH, "-rollout", "100")
	back := time.Now()
	tl.add(rig.powerReturn(t) + "; 3.0.0 (hangs before READY=1) is offered")

	// The fridge is still warm and its alarm unacknowledged: the chain
	// starts anew through the modem found again, and contact 1's reply
	// acknowledges the alarm, all while the uplink is still down.
	again := waitSMS(t, rig, "the fridge SMS after the restart", back, nightNumber1, "fridge")
	m := regexp.MustCompile(`Antwort OK (\d{4})$`).FindStringSubmatch(again.Text)
	if m == nil {
		t.Fatalf("no acknowledgement code in %q", again.Text)
	}
	rig.deliver(t, nightNumber1, "OK "+m[1])
	tl.add(nightContact1 + " replies by SMS: OK " + m[1])
	nightWait(t, "the fridge alarm acknowledged by SMS", patience*60*time.Second, func() bool {
		b, err := rig.readFile(t, alarm.StateFileName)
		return err == nil && fridgeAckedBy(b, "sms:"+nightContact1)
	})
	tl.add("the box has the fridge alarm acknowledged by sms:" + nightContact1)
	fridge.set(5.0)
	tl.add("the fridge cools to 5 °C")

	nightWait(t, "3.0.0 installed", patience*150*time.Second, func() bool {
		s, err := rigState(t, rig)
		return err == nil && s.Trial != nil
	})
	tl.add("3.0.0 installed, on trial")
	nightWait(t, "3.0.0 rolled back to 2.0.0", patience*150*time.Second, func() bool {
		s, err := rigState(t, rig)
		return err == nil && s.Committed == "2.0.0" && s.Trial == nil && s.IsFailed("3.0.0")
	})
	tl.add("3.0.0 rolled back to 2.0.0 (started 3 times without READY=1)")

	f.mq.Restart()
	upAgain := time.Now()
	tl.add("uplink returns")

	events := root + "event/gateway"
	f.sub.waitForAfter(t, "2.0.0 online again", root+"status", upAgain.Add(-time.Second), `"state":"online","version":"2.0.0"`)
	f.sub.waitFor(t, "update.rolled_back reported", events, `"type":"update.rolled_back"`, `"from":"3.0.0"`, `"to":"2.0.0"`)
	tl.add("provider has the rollback")
	f.sub.waitFor(t, "ups.on_battery cleared", root+"event/ups", `"type":"alarm.cleared"`, "ups.on_battery")
	f.sub.waitFor(t, "fridge alarm raised", root+"event/fridge", `"type":"alarm.raised"`)
	f.sub.waitFor(t, "fridge alarm cleared", root+"event/fridge", `"type":"alarm.cleared"`)
	tl.add("provider has every alarm cleared")
	// What the practice was told and that it acknowledged.
	f.sub.waitFor(t, "notify.sent of the on-battery SMS", root+"event/ups", `"type":"notify.sent"`, `"contact":"`+nightContact1+`"`)
	f.sub.waitFor(t, "notify.sent of the fridge SMS", root+"event/fridge", `"type":"notify.sent"`, `"contact":"`+nightContact1+`"`)
	f.sub.waitFor(t, "notify.acked of the reply", root+"event/fridge", `"type":"notify.acked"`, `"contact":"`+nightContact1+`"`, `"code":"`+m[1]+`"`)
	f.sub.waitFor(t, "alarm.acked by SMS", root+"event/fridge", `"type":"alarm.acked"`, `"by":"sms:`+nightContact1+`"`)
	tl.add("provider has what the practice was told by SMS and its acknowledgement")

	// The SNMP devices read again after their restart, every device read
	// again after power returned: by the readings' own timestamps.
	for _, dev := range []string{"upscard", "nas"} {
		at := f.sub.waitForAfter(t, dev+" read after its restart", root+"telemetry/"+dev, agentsBack[dev], `"device":"`+dev+`"`)
		d := at.Sub(agentsBack[dev])
		readAgain[dev+"/agent"] = d
		tl.addAt(at, fmt.Sprintf("%s read again, %.1f s after its agent came back", dev, d.Seconds()))
		if d > 60*time.Second {
			t.Errorf("%s read again only %.1f s after its agent came back (spec: 60 s)", dev, d.Seconds())
		}
	}
	for _, dev := range append(nightDevices, nightModem) {
		at := f.sub.waitForAfter(t, dev+" read after power returned", root+"telemetry/"+dev, back, `"device":"`+dev+`"`)
		d := at.Sub(back)
		readAgain[dev+"/power"] = d
		tl.addAt(at, fmt.Sprintf("%s read again, %.1f s after power returned", dev, d.Seconds()))
		if d > 60*time.Second {
			t.Errorf("%s read again only %.1f s after power returned (spec: 60 s)", dev, d.Seconds())
		}
	}
	rig.stop(t)
	tl.add("box stopped cleanly")

	// Nothing acknowledged was lost: every seq reached the provider but
	// for ranges the buffer reported as skipped.
	seqs, skipped := seqsAt(t, f.sub, root)
	var maxSeq uint64
	for s := range seqs {
		maxSeq = max(maxSeq, s)
	}
	var missing []uint64
	for s := uint64(1); s <= maxSeq; s++ {
		if !seqs[s] && !skipped.covers(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d seqs never reached the provider and were not reported as skipped: %v", len(missing), head(missing, 20))
	}
	for _, dev := range []string{"ups", "fridge"} {
		alarmTimeline(t, &tl, f.sub, root+"event/"+dev, dev)
	}
	// Alarms: raised before cleared, in seq order as they arrived.
	checkAlarmOrder(t, f.sub, root+"event/ups", "ups.on_battery")
	checkAlarmOrder(t, f.sub, root+"event/fridge", "")
	nSMS := checkSMS(t, &tl, rig.submits(), f.sub, root, uplinkCut)

	// The cold-chain record verifies and counts the outage as no data.
	out, err := rig.verifyColdChain(t)
	if err != nil {
		t.Errorf("praxisgate coldchain verify: %v\n%s", err, out)
	}
	tl.add("praxisgate coldchain verify: " + strings.TrimSpace(out))
	day, err := rig.readFile(t, filepath.Join(coldchain.DirName, "fridge", "day.json"))
	if err != nil {
		t.Fatalf("the cold-chain day in progress: %v", err)
	}
	noData := noDataSince(t, day, f.sub, root, cut)
	if noData <= 0 {
		t.Errorf("the cold-chain day counts no time without data after the power cut (%.2f min)", noData)
	}

	if s, err := rigState(t, rig); err != nil || s.Committed != "2.0.0" {
		t.Errorf("the box ends on %+v (%v), want 2.0.0 committed", s, err)
	}
	if cur, err := rig.linked(t); err != nil || cur != "2.0.0" {
		t.Errorf("current -> %q (%v), want 2.0.0", cur, err)
	}
	if strings.Contains(rig.logs(), "DATA RACE") {
		t.Error("the race detector reported a race in the daemon")
	}
	tl.add(fmt.Sprintf("checked: %d seqs at the provider (%d skipped by the buffer after the cut), none missing; %d SMS, each a notify.sent at the provider; cold chain verified, %.2f min without data since the cut; ends on 2.0.0",
		len(seqs), skipped.count(), nSMS, noData))
	t.Logf("the night:\n%s", tl.String())
	return readAgain
}

// timeline is the night's log: t+seconds and what happened.
type timeline struct {
	mu    sync.Mutex
	start time.Time
	lines []tlLine
}

type tlLine struct {
	at   time.Time
	what string
}

func (tl *timeline) add(what string) { tl.addAt(time.Now(), what) }

func (tl *timeline) addAt(at time.Time, what string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.lines = append(tl.lines, tlLine{at, what})
}

func (tl *timeline) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	ls := append([]tlLine(nil), tl.lines...)
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].at.Before(ls[j].at) })
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  t+%6.1f s  %s\n", l.at.Sub(tl.start).Seconds(), l.what)
	}
	return b.String()
}

// nightBox is the box: "update supervise" and the daemon it runs, in a
// process group of their own, so a power cut kills both at once.
type nightBox struct {
	cmd  *exec.Cmd
	done chan error
}

// startNightBox starts the box from its state directory; startTimeout is
// how long a start may take until READY=1.
func startNightBox(t testing.TB, state, cfg string, logs io.Writer, startTimeout string) *nightBox {
	t.Helper()
	argv := []string{filepath.Join(state, "committed", "praxisgate"), "update", "supervise", "-state", state,
		"-restart-delay", "1s", "-watchdog", "30s", "-start-timeout", startTimeout, "--", "run", "-config", cfg}
	b := &nightBox{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan error, 1)}
	b.cmd.Env = append(withoutServiceManager(os.Environ()), "PRAXISGATE_FAULT=hang-at-start")
	b.cmd.Stdout, b.cmd.Stderr = logs, logs
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	})
	return b
}

// powerCut kills the supervisor and the daemon at once (SIGKILL to the
// group): nothing runs its shutdown.
func (b *nightBox) powerCut() {
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.done
	// The daemon may outlive the supervisor's reaping by a moment.
	for range 100 {
		if syscall.Kill(-b.cmd.Process.Pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *nightBox) stop(t testing.TB) {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the box did not stop within 30 s of SIGTERM")
	}
}

// rigState reads the box's update state.
func rigState(t testing.TB, rig nightRig) (update.State, error) {
	var s update.State
	b, err := rig.readFile(t, "state.json")
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// hostRig runs the box's processes on this machine: an APC Smart-UPS on a
// pseudo-terminal (upssim) and the USB LTE stick as a modem on a
// pseudo-terminal behind a by-id style link (modemsim). A power cut is
// SIGKILL of the supervisor and the daemon; the UPS comes back in APC
// power-up (dumb) mode and the modem under another pty name.
type hostRig struct {
	ups        *upssim.Sim
	sms        *modemsim.Sim
	state, cfg string
	box        *nightBox
	out        syncBuffer
	modemAt    string // the modem's pty before the power cut
}

func newHostRig(t testing.TB) *hostRig {
	t.Helper()
	r := &hostRig{}
	var err error
	if r.ups, err = upssim.New(upssim.Options{Protocol: upssim.APCSmart, Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.ups.Close() })
	if r.sms, err = modemsim.New(modemsim.Options{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.sms.Close() })
	return r
}

func (r *hostRig) upsDevice() string {
	return fmt.Sprintf("{id: ups, driver: ups, interval: 1s, ups: {port: %s, protocol: apcsmart}}", r.ups.Path())
}
func (r *hostRig) modemPort() string          { return r.sms.Path() }
func (r *hostRig) peer(addr string) string    { return addr }
func (r *hostRig) patience() time.Duration    { return 1 }
func (r *hostRig) logs() string               { return r.out.String() }
func (r *hostRig) submits() []modemsim.Submit { return r.sms.Submits() }

func (r *hostRig) prepare(t testing.TB, state, cfg, bin string, _ ...string) {
	t.Helper()
	r.state, r.cfg = state, cfg
	mustCall(context.Background(), t, updateCmd, "provision", "-state", state, "-version", "2.0.0", "-binary", bin)
	seedColdChain(t, filepath.Join(state, coldchain.DirName), "fridge")
}

func (r *hostRig) boot(t testing.TB) { r.box = startNightBox(t, r.state, r.cfg, &r.out, "10s") }

func (r *hostRig) mainsFail(testing.TB) {
	r.ups.Update(func(s *upssim.State) { s.OnBattery, s.InputV = true, 0 })
}

func (r *hostRig) powerCut(t testing.TB) string {
	r.box.powerCut()
	r.ups.Update(func(s *upssim.State) { s.Dumb = true })
	r.modemAt = r.sms.Target()
	if err := r.sms.Unplug(); err != nil {
		t.Fatal(err)
	}
	return "power cut: supervisor and daemon SIGKILLed; the UPS restarts in power-up (dumb) mode; the USB modem loses power"
}

func (r *hostRig) powerReturn(t testing.TB) string {
	r.ups.Update(func(s *upssim.State) { s.OnBattery, s.InputV = false, 230.1 })
	// The stick re-enumerates: the by-id link points at another pty.
	if err := r.sms.Replug(); err != nil {
		t.Fatal(err)
	}
	if r.sms.Target() == r.modemAt {
		t.Errorf("the modem came back under the same pty %s", r.modemAt)
	}
	r.boot(t)
	return fmt.Sprintf("power returns: mains back, the modem re-enumerates (%s -> %s), box starts 2.0.0", r.modemAt, r.sms.Target())
}

func (r *hostRig) deliver(t testing.TB, from, text string) {
	if err := r.sms.Deliver(from, text, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func (r *hostRig) readFile(_ testing.TB, rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(r.state, rel))
}

func (r *hostRig) linked(testing.TB) (string, error) { return (&update.Layout{Dir: r.state}).Linked() }

func (r *hostRig) verifyColdChain(testing.TB) (string, error) {
	return verifyColdChainAt(r.state)
}

func (r *hostRig) stop(t testing.TB) { r.box.stop(t) }

// verifyColdChainAt runs "praxisgate coldchain verify" in process on the
// record under state.
func verifyColdChainAt(state string) (string, error) {
	var out strings.Builder
	err := coldchainCmd(context.Background(), []string{"verify", "-dir", filepath.Join(state, coldchain.DirName)}, &out, &out)
	return out.String(), err
}

// fridgeSensor is a Tasmota DS18B20 on the practice's broker, reporting
// twice a second.
type fridgeSensor struct {
	temp atomic.Value // float64
}

func newFridgeSensor(t testing.TB, url string) *fridgeSensor {
	t.Helper()
	s := &fridgeSensor{}
	s.temp.Store(5.0)
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("tasmota-%d", time.Now().UnixNano())))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("sensor connect: %v", tok.Error())
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p := fmt.Sprintf(`{"Time":"%s","DS18B20":{"Id":"01144BF6A5AA","Temperature":%.1f},"TempUnit":"C"}`,
					time.Now().Format("2006-01-02T15:04:05"), s.temp.Load().(float64))
				cl.Publish("tele/tasmota_fridge/SENSOR", 0, false, p)
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		cl.Disconnect(100)
	})
	return s
}

func (s *fridgeSensor) set(v float64) { s.temp.Store(v) }

// newEmptyRepo is a repository made with "praxisgate release init",
// served on loopback, with no release yet.
func newEmptyRepo(t testing.TB) *releaseRepo {
	t.Helper()
	d := t.TempDir()
	r := &releaseRepo{dir: filepath.Join(d, "repo"), keys: filepath.Join(d, "keys")}
	mustCall(context.Background(), t, releaseCmd, "init", "-repo", r.dir, "-keys", r.keys)
	serveRepo(t, r, d)
	return r
}

// seqRanges are the seq ranges the buffer reported as skipped.
type seqRanges [][2]uint64

func (r seqRanges) covers(s uint64) bool {
	for _, x := range r {
		if s >= x[0] && s <= x[1] {
			return true
		}
	}
	return false
}

func (r seqRanges) count() uint64 {
	var n uint64
	for _, x := range r {
		n += x[1] - x[0] + 1
	}
	return n
}

// seqsAt collects every seq the provider received under root, and the
// ranges of buffer.seq_skipped events.
func seqsAt(t testing.TB, e *eventLog, root string) (map[uint64]bool, seqRanges) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	seqs := map[uint64]bool{}
	var skipped seqRanges
	for topic, msgs := range e.msgs {
		if !strings.HasPrefix(topic, root) {
			continue
		}
		for _, m := range msgs {
			var p struct {
				Seq   *uint64        `json:"seq"`
				Type  string         `json:"type"`
				Attrs map[string]any `json:"attrs"`
			}
			if json.Unmarshal([]byte(m), &p) != nil || p.Seq == nil {
				continue
			}
			seqs[*p.Seq] = true
			if p.Type == "buffer.seq_skipped" {
				lo, _ := p.Attrs["may_be_missing_first_seq"].(float64)
				hi, _ := p.Attrs["may_be_missing_up_to"].(float64)
				skipped = append(skipped, [2]uint64{uint64(lo), uint64(hi)})
			}
		}
	}
	return seqs, skipped
}

// checkAlarmOrder: on topic, the alarm events containing cond and the
// notifications about them (notify.*) arrive in seq order, the alarm
// events a raise first and a clear last, the notifications after the
// raise. (An SMS already on its way when the alarm clears is recorded
// after the clear, so that order is not asked for.)
func checkAlarmOrder(t testing.TB, e *eventLog, topic, cond string) {
	t.Helper()
	e.mu.Lock()
	msgs := append([]string(nil), e.msgs[topic]...)
	e.mu.Unlock()
	var last uint64
	var kinds []string
	seen := map[uint64]bool{}
	for _, m := range msgs {
		var p struct {
			Seq  uint64 `json:"seq"`
			Type string `json:"type"`
		}
		if json.Unmarshal([]byte(m), &p) != nil || !strings.Contains(m, cond) ||
			!strings.HasPrefix(p.Type, "alarm.") && !strings.HasPrefix(p.Type, "notify.") {
			continue
		}
		if seen[p.Seq] {
			continue // a byte-identical resend after a lost PUBACK
		}
		seen[p.Seq] = true
		if p.Seq < last {
			t.Errorf("%s: %s seq %d arrived after seq %d", topic, p.Type, p.Seq, last)
		}
		last = p.Seq
		if strings.HasPrefix(p.Type, "notify.") {
			if len(kinds) == 0 {
				t.Errorf("%s: %s seq %d before the alarm was raised", topic, p.Type, p.Seq)
			}
			continue
		}
		kinds = append(kinds, p.Type)
	}
	if len(kinds) < 2 || kinds[0] != "alarm.raised" || kinds[len(kinds)-1] != "alarm.cleared" {
		t.Errorf("%s: alarm events %v, want raised first and cleared last", topic, kinds)
	}
}

// noDataSince reads the fridge's day in progress and returns the minutes
// without data it counts since the power cut: the day's uncovered time up
// to its last reading, less what was uncovered before the cut (the time
// before the daemon's first reading of the day).
func noDataSince(t testing.TB, b []byte, e *eventLog, root string, cut time.Time) float64 {
	t.Helper()
	var d struct {
		Date    string    `json:"date"`
		Covered float64   `json:"covered_seconds"`
		LastAt  time.Time `json:"last_at"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the cold-chain day in progress: %v", err)
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	dayStart, err := time.ParseInLocation(time.DateOnly, d.Date, loc)
	if err != nil {
		t.Fatalf("the cold-chain day in progress: date %q: %v", d.Date, err)
	}
	first := e.waitFor(t, "the first fridge reading", root+"telemetry/fridge", `"device":"fridge"`)
	if first.Before(dayStart) || cut.Before(dayStart) {
		t.Fatalf("the night crossed midnight in Europe/Berlin (day %s, first reading %s): run it again", d.Date, first)
	}
	uncovered := d.LastAt.Sub(dayStart).Seconds() - d.Covered
	before := first.Sub(dayStart).Seconds()
	return math.Round((uncovered-before)/60*100) / 100
}

func head(s []uint64, n int) []uint64 {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// serveRepo serves r on loopback and writes its root as the box's
// provisioned root file.
func serveRepo(t testing.TB, r *releaseRepo, d string) {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	root, err := os.ReadFile(filepath.Join(r.dir, "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.rootFile = writeFile(t, d, "update-root.json", string(root))
}

// seedColdChain writes yesterday's day (Europe/Berlin, the daemon's
// default) into the fridge's record: readings every 10 minutes, the day
// closed, as a box that ran the day before would have left it.
func seedColdChain(t testing.TB, dir, device string) {
	t.Helper()
	loc, err := time.LoadLocation(coldchain.DefaultTimezone)
	if err != nil {
		t.Fatal(err)
	}
	y := time.Now().In(loc).AddDate(0, 0, -1)
	day := time.Date(y.Year(), y.Month(), y.Day(), 0, 0, 0, 0, loc)
	r, err := coldchain.New(coldchain.Options{Dir: dir, Location: loc, Now: func() time.Time { return day },
		Fridges: []coldchain.Fridge{{ID: device, Metric: "temperature", Low: 2, High: 8, Interval: 10 * time.Minute, Hold: 30 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	at := day.Add(time.Minute)
	for ; at.Before(day.AddDate(0, 0, 1)); at = at.Add(10 * time.Minute) {
		r.Observe(drivers.Sample{Device: device, Kind: "fridge", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", 5.0, "°C")}})
		r.Tick(at)
	}
	if evs := r.Tick(day.AddDate(0, 0, 1).Add(time.Second)); len(evs) != 1 {
		t.Fatalf("closing yesterday gave %d events, want 1", len(evs))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// alarmTimeline adds the alarm and notify events on topic to the
// timeline at the time the box stamped them (those of the outage reached
// the provider only when the uplink returned).
func alarmTimeline(t testing.TB, tl *timeline, e *eventLog, topic, dev string) {
	t.Helper()
	e.mu.Lock()
	msgs := append([]string(nil), e.msgs[topic]...)
	e.mu.Unlock()
	seen := map[uint64]bool{}
	for _, m := range msgs {
		var p struct {
			Seq     uint64    `json:"seq"`
			TS      time.Time `json:"ts"`
			Type    string    `json:"type"`
			Message string    `json:"message"`
		}
		if json.Unmarshal([]byte(m), &p) != nil || seen[p.Seq] ||
			!strings.HasPrefix(p.Type, "alarm.") && !strings.HasPrefix(p.Type, "notify.") {
			continue
		}
		seen[p.Seq] = true
		tl.addAt(p.TS, fmt.Sprintf("  (box) %s %s seq %d: %s", dev, p.Type, p.Seq, p.Message))
	}
}

// nightDevices are the box's devices; nightModem is the SMS modem's
// health source (config.NotifyDevice).
var nightDevices = []string{"ups", "fridge", "upscard", "nas"}

const nightModem = "sms-modem"

// The practice's SMS contacts: 1 gets every alarm, 2 critical ones an
// hour after 1.
const (
	nightContact1, nightNumber1 = "Praxis-Handy", "+4915112345678"
	nightContact2, nightNumber2 = "Bereitschaft", "+4917098765432"
)

// waitSMS waits for an SMS the modem accepted after after, to number,
// whose text contains part (a hang guard of 60 s).
func waitSMS(t testing.TB, rig nightRig, what string, after time.Time, number, part string) modemsim.Submit {
	t.Helper()
	var got modemsim.Submit
	nightWait(t, what, rig.patience()*60*time.Second, func() bool {
		for _, s := range rig.submits() {
			if s.At.After(after) && s.To == number && strings.Contains(s.Text, part) {
				got = s
				return true
			}
		}
		return false
	})
	return got
}

// fridgeAckedBy reports whether the box's persisted active alarms (the
// file alarm.StateFileName, b) hold the fridge's alarm acknowledged by by.
func fridgeAckedBy(b []byte, by string) bool {
	var as []alarm.Alarm
	if json.Unmarshal(b, &as) != nil {
		return false
	}
	for _, a := range as {
		if a.Device == "fridge" && a.Acked && a.AckedBy == by {
			return true
		}
	}
	return false
}

// checkSMS checks the night's SMS against what the provider received and
// adds them to the timeline: none went out before the uplink was cut
// (while the provider could alert people itself), none to contact 2 (an
// hour later in the chain, and a restart starts the chain anew at contact
// 1), and every SMS the modem accepted is a notify.sent event at the
// provider (a long message: one event for its parts), so the provider
// knows whom the box told. It returns how many SMS the modem accepted.
func checkSMS(t testing.TB, tl *timeline, subs []modemsim.Submit, e *eventLog, root string, uplinkCut time.Time) int {
	t.Helper()
	names := map[string]string{nightNumber1: nightContact1, nightNumber2: nightContact2}
	atModem := map[string]int{}
	for _, s := range subs {
		tl.addAt(s.At, fmt.Sprintf("SMS to %s (%s): %s", names[s.To], s.Coding, s.Text))
		if s.At.Before(uplinkCut) {
			t.Errorf("an SMS went out while the uplink was up: %+v", s)
		}
		if s.To != nightNumber1 {
			t.Errorf("an SMS to %s (%s), want only %s's: %+v", s.To, names[s.To], nightContact1, s)
		}
		// Only what the night disturbed may raise an alarm: the fridge it
		// warmed, the UPS it took mains from, and the UPS card and NAS it
		// restarted (slow to answer again under emulation: their
		// "does not answer" is true). An SMS about anything else (the
		// modem, the box) woke someone for nothing.
		if !slices.ContainsFunc(nightDevices, func(dev string) bool { return strings.Contains(s.Text, ": "+dev+": ") }) {
			t.Errorf("an SMS about something the night did not do: %q", s.Text)
		}
		atModem[names[s.To]]++
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	told := map[string]int{}
	seen := map[uint64]bool{}
	for topic, msgs := range e.msgs {
		if !strings.HasPrefix(topic, root+"event/") {
			continue
		}
		for _, m := range msgs {
			var p struct {
				Seq   uint64 `json:"seq"`
				Type  string `json:"type"`
				Attrs struct {
					Contact string  `json:"contact"`
					Channel string  `json:"channel"`
					Parts   float64 `json:"parts"`
					Test    bool    `json:"test"`
				} `json:"attrs"`
			}
			if json.Unmarshal([]byte(m), &p) != nil || p.Type != "notify.sent" || p.Attrs.Channel != "sms" || p.Attrs.Test || seen[p.Seq] {
				continue
			}
			seen[p.Seq] = true
			told[p.Attrs.Contact] += max(int(p.Attrs.Parts), 1)
		}
	}
	for _, c := range []string{nightContact1, nightContact2} {
		if told[c] != atModem[c] {
			t.Errorf("%s: the modem accepted %d SMS, the provider's notify.sent events count %d", c, atModem[c], told[c])
		}
	}
	return len(subs)
}

// The UPS card's SNMPv3 user and the NAS's community: this test's own.
var (
	nightV3User    = snmpsim.User{Name: "nightups", Auth: "SHA-256", AuthPass: "night-auth-pass", Priv: "AES", PrivPass: "night-priv-pass"}
	nightCommunity = "nas-night-ro"
)

// startNightAgent runs snmpd serving a LibreNMS recording through this
// test binary (snmpsim.HelperMain in TestMain).
func startNightAgent(t testing.TB, recording string, cfg snmpsim.AgentConfig) *snmpsim.Agent {
	t.Helper()
	if _, err := snmpsim.SnmpdPath(); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := filepath.Abs(filepath.Join("..", "..", "drivers", "testdata", "third_party", "librenms-snmprec", recording+".snmprec"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pass = append(cfg.Pass, snmpsim.Pass{Root: ".1.3.6.1", Command: exe, Env: []string{snmpsim.EnvRecording + "=" + rec}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := snmpsim.StartAgent(ctx, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}

// nightWait polls cond until it holds, failing after limit (a hang guard).
func nightWait(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
