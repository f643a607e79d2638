package integrations

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// zbxExport is the part of a Zabbix 6.0 YAML export the tests read.
type zbxExport struct {
	Export struct {
		Version string `yaml:"version"`
		Groups  []struct {
			UUID string `yaml:"uuid"`
			Name string `yaml:"name"`
		} `yaml:"groups"`
		Templates []zbxTemplate `yaml:"templates"`
	} `yaml:"zabbix_export"`
}

type zbxTemplate struct {
	UUID     string    `yaml:"uuid"`
	Template string    `yaml:"template"`
	Items    []zbxItem `yaml:"items"`
	Macros   []struct {
		Macro string `yaml:"macro"`
		Value string `yaml:"value"`
	} `yaml:"macros"`
}

type zbxItem struct {
	UUID          string `yaml:"uuid"`
	Name          string `yaml:"name"`
	Type          string `yaml:"type"`
	Key           string `yaml:"key"`
	Delay         string `yaml:"delay"`
	ValueType     string `yaml:"value_type"`
	Preprocessing []struct {
		Type         string   `yaml:"type"`
		Parameters   []string `yaml:"parameters"`
		ErrorHandler string   `yaml:"error_handler"`
		HandlerParam string   `yaml:"error_handler_params"`
	} `yaml:"preprocessing"`
	MasterItem *struct {
		Key string `yaml:"key"`
	} `yaml:"master_item"`
	Triggers []struct {
		UUID       string `yaml:"uuid"`
		Expression string `yaml:"expression"`
		Name       string `yaml:"name"`
		Priority   string `yaml:"priority"`
	} `yaml:"triggers"`
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	macroRE = regexp.MustCompile(`\{\$[A-Z0-9_.]+\}`)
	// A trigger function's item reference: /template/key, the key up to
	// the function's next top-level "," or ")".
	itemRefRE = regexp.MustCompile(`\b(last|nodata|change|find|min|max|avg|count)\(/([^/]+)/`)
)

// loadZabbixTemplates reads docs/integrations/zabbix/praxisgate_templates.yaml
// strictly and checks what an import into Zabbix 6.0 relies on: version
// 6.0, unique UUIDs, agent items that are active mqtt.get checks (the MQTT
// plugin answers nothing else), dependent items whose master is in the
// same template, preprocessing steps the tests can evaluate, and triggers
// that name their own template and an item it has.
func loadZabbixTemplates(t *testing.T) map[string]zbxTemplate {
	t.Helper()
	raw, err := os.ReadFile(repoFile(t, "docs/integrations/zabbix/praxisgate_templates.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var x zbxExport
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&x); err != nil {
		t.Fatalf("zabbix template: %v", err)
	}
	if x.Export.Version != "6.0" {
		t.Fatalf("zabbix template: export version %q, want 6.0 (what Debian 12 ships)", x.Export.Version)
	}
	uuids := map[string]string{}
	seen := func(u, what string) {
		if !uuidRE.MatchString(u) {
			t.Errorf("zabbix template: %s: uuid %q is not 32 hex digits", what, u)
		}
		if prev, dup := uuids[u]; dup {
			t.Errorf("zabbix template: %s: uuid %s already used by %s", what, u, prev)
		}
		uuids[u] = what
	}
	for _, g := range x.Export.Groups {
		seen(g.UUID, "group "+g.Name)
	}
	out := map[string]zbxTemplate{}
	for _, tp := range x.Export.Templates {
		seen(tp.UUID, "template "+tp.Template)
		keys := map[string]zbxItem{}
		for _, it := range tp.Items {
			keys[it.Key] = it
		}
		for _, it := range tp.Items {
			where := tp.Template + " item " + it.Key
			seen(it.UUID, where)
			switch it.Type {
			case "ZABBIX_ACTIVE":
				if !strings.HasPrefix(it.Key, "mqtt.get[") {
					t.Errorf("zabbix template: %s: an agent item here must be mqtt.get", where)
				}
				// Agent 2 6.0.14 delivered a device's readings to another
				// device's item when a wildcard item's topic overlapped
				// theirs (seen in this test with telemetry/+).
				if strings.ContainsAny(it.Key, "+#") {
					t.Errorf("zabbix template: %s: no wildcard topics: agent 2 6.0 mixes up the values of overlapping mqtt.get items", where)
				}
				if _, err := time.ParseDuration(it.Delay); err != nil {
					t.Errorf("zabbix template: %s: delay %q", where, it.Delay)
				}
			case "DEPENDENT":
				if it.MasterItem == nil || keys[it.MasterItem.Key].Type != "ZABBIX_ACTIVE" {
					t.Errorf("zabbix template: %s: master item missing from the template", where)
				}
				for _, p := range it.Preprocessing {
					if p.Type != "JSONPATH" || len(p.Parameters) != 1 {
						t.Errorf("zabbix template: %s: preprocessing %s: only single JSONPATH steps are tested", where, p.Type)
					}
				}
			default:
				t.Errorf("zabbix template: %s: type %s: mqtt.get works only as an active agent check", where, it.Type)
			}
			for _, tr := range it.Triggers {
				seen(tr.UUID, where+" trigger "+tr.Name)
				refs := itemRefRE.FindAllStringSubmatchIndex(tr.Expression, -1)
				if len(refs) == 0 {
					t.Errorf("zabbix template: trigger %q: no item reference in %s", tr.Name, tr.Expression)
				}
				for _, r := range refs {
					tmpl := tr.Expression[r[4]:r[5]]
					key := itemKeyAt(tr.Expression[r[1]:])
					if tmpl != tp.Template {
						t.Errorf("zabbix template: trigger %q names template %q, not its own %q", tr.Name, tmpl, tp.Template)
					}
					if _, ok := keys[key]; !ok {
						t.Errorf("zabbix template: trigger %q refers to item %q the template does not have", tr.Name, key)
					}
				}
			}
		}
		out[tp.Template] = tp
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// itemKeyAt reads an item key (name, optionally [params] with quoted
// strings) from the start of s.
func itemKeyAt(s string) string {
	i := 0
	for i < len(s) && s[i] != '[' && s[i] != ',' && s[i] != ')' {
		i++
	}
	if i == len(s) || s[i] != '[' {
		return s[:i]
	}
	depth, quoted := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '[':
			depth++
		case !quoted && c == ']':
			depth--
			if depth == 0 {
				return s[:i+1]
			}
		}
	}
	return s
}

func TestZabbixTemplateStructure(t *testing.T) {
	tps := loadZabbixTemplates(t)
	for _, want := range []string{"praxisgate box by MQTT", "praxisgate fridge by MQTT", "praxisgate UPS by MQTT"} {
		if _, ok := tps[want]; !ok {
			t.Errorf("template %q missing", want)
		}
	}
	var silence, alarms bool
	for _, tp := range tps {
		for _, it := range tp.Items {
			for _, tr := range it.Triggers {
				silence = silence || strings.HasPrefix(tr.Expression, "nodata(")
				alarms = alarms || strings.Contains(tr.Expression, "praxisgate.alarms.")
			}
		}
	}
	if !silence || !alarms {
		t.Errorf("triggers for silence (nodata) %v and for active alarms %v: both are required", silence, alarms)
	}
}

// zabbixHost is a Zabbix host the test stands for: a template and the
// host's macros.
type zabbixHost struct {
	template string
	macros   map[string]string
}

// resolve replaces user macros in s: the host's value, else the
// template's default. An unresolved macro fails the test.
func resolve(t *testing.T, s string, h zabbixHost, tp zbxTemplate) string {
	t.Helper()
	return macroRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := h.macros[m]; ok {
			return v
		}
		for _, d := range tp.Macros {
			if d.Macro == m && d.Value != "" {
				return d.Value
			}
		}
		t.Fatalf("macro %s of %q has no value on host or template %s", m, s, tp.Template)
		return ""
	})
}

// TestZabbixAgent2 runs Debian's zabbix_agent2 with the MQTT plugin against
// Mosquitto while the demo box publishes. The MQTT plugin answers active
// checks only (zabbix_get, a passive check, is refused, which the test
// asserts), so the test stands in for the Zabbix server's trapper: it
// hands the agent the template's mqtt.get keys (macros resolved for a box,
// a fridge and a UPS host) and receives the values the agent sends. It
// then applies each dependent item's JSONPath preprocessing as the server
// would and checks the results against what the box published.
func TestZabbixAgent2(t *testing.T) {
	t.Parallel() // its own Mosquitto, demo box and peers
	tps := loadZabbixTemplates(t)
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	obs := observe(t, mq.URL())
	base := map[string]string{"{$PRAXISGATE.BROKER}": mq.URL(), "{$PRAXISGATE.SITE}": demoSite, "{$PRAXISGATE.GATEWAY}": demoGateway}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range base {
			m[a] = b
		}
		return m
	}
	hosts := []zabbixHost{
		{"praxisgate box by MQTT", base},
		{"praxisgate fridge by MQTT", with("{$PRAXISGATE.DEVICE}", demoFridge)},
		{"praxisgate UPS by MQTT", with("{$PRAXISGATE.DEVICE}", demoUPS)},
	}
	// Resolved active items, and per host every item with its resolved
	// master key.
	type check struct{ key, delay string }
	var active []check
	type resolved struct {
		host   int
		item   zbxItem
		master string
	}
	var items []resolved
	for i, h := range hosts {
		tp := tps[h.template]
		for _, it := range tp.Items {
			if it.Type == "ZABBIX_ACTIVE" {
				active = append(active, check{resolve(t, it.Key, h, tp), it.Delay})
				continue
			}
			items = append(items, resolved{i, it, resolve(t, it.MasterItem.Key, h, tp)})
		}
	}

	srv := startZabbixTrapper(t, func() []zbxCheck {
		out := make([]zbxCheck, len(active))
		for i, c := range active {
			out[i] = zbxCheck{ItemID: uint64(i + 1), Key: c.key, Delay: c.delay}
		}
		return out
	})
	agent := testpeer.StartZabbixAgent2(t, testpeer.ZabbixAgent2Options{Hostname: "praxisgate-integrations", ServerActive: srv.addr})

	// zabbix_get: the agent answers passive checks, but not mqtt.get.
	if v, err := agent.ZabbixGet("agent.ping"); err != nil || v != "1" {
		t.Fatalf("zabbix_get agent.ping = %q, %v; want 1", v, err)
	}
	if v, _ := agent.ZabbixGet(active[0].key); !strings.Contains(v, "ZBX_NOTSUPPORTED") {
		t.Fatalf("zabbix_get %s = %q: the MQTT plugin answered a passive check; the template's items could be passive then", active[0].key, v)
	}

	stopDemo := runDemo(t, mq.URL())

	// What must be seen at some moment of the demo, per item key (the
	// host's template decides which).
	type want struct {
		desc string
		ok   func(v string) error
	}
	num := func(v string) (float64, error) {
		var f float64
		_, err := fmt.Sscan(v, &f)
		return f, err
	}
	positive := func(v string) error {
		f, err := num(v)
		if err != nil || f <= 0 {
			return fmt.Errorf("%q is not > 0", v)
		}
		return nil
	}
	wants := map[string]want{
		"praxisgate.status.state":    {"box online", func(v string) error { return expect(v == "online", "state %q", v) }},
		"praxisgate.status.version":  {"firmware version", func(v string) error { return expect(v == "integrations-test", "version %q", v) }},
		"praxisgate.status.boot":     {"boot id", func(v string) error { return expect(v != "", "empty boot") }},
		"praxisgate.alarms.active":   {"active alarms counted", positive},
		"praxisgate.alarms.critical": {"critical alarm (fridge) counted", positive},
		"praxisgate.alarms.major":    {"major alarm (UPS on battery) counted", positive},
		"praxisgate.alarms.minor": {"minor alarms counted as 0 when none", func(v string) error {
			return expect(v == "0", "minor %q, the demo raises no minor alarm", v)
		}},
		"praxisgate.alarms.messages": {"alarm messages", func(v string) error {
			var msgs []string
			if err := json.Unmarshal([]byte(v), &msgs); err != nil || len(msgs) == 0 {
				return fmt.Errorf("%q: want a JSON array of messages", v)
			}
			return nil
		}},
		"praxisgate.fridge.temperature": {"fridge temperature", func(v string) error {
			f, err := num(v)
			temps, _, _, _, _ := obs.snapshot()
			return expect(err == nil && temps[f], "%q was never published as the fridge's temperature", v)
		}},
		"praxisgate.ups.status": {"UPS on battery", func(v string) error {
			_, statuses, _, _, _ := obs.snapshot()
			return expect(statuses[v] && strings.Contains(v, "OB"), "status %q (published %v)", v, keysS(statuses))
		}},
		"praxisgate.ups.battery.charge": {"UPS battery charge", func(v string) error {
			f, err := num(v)
			return expect(err == nil && f >= 0 && f <= 100, "charge %q", v)
		}},
		"praxisgate.ups.input.voltage": {"UPS input voltage", func(v string) error {
			_, err := num(v)
			return expect(err == nil, "voltage %q", v)
		}},
	}
	for _, c := range active {
		wants[c.key] = want{"values of " + c.key, func(string) error { return nil }}
	}
	met := map[string]bool{}
	lastSeen := map[string]string{}
	deadline := time.Now().Add(3 * time.Minute)
	for len(met) < len(wants) {
		if time.Now().After(deadline) {
			for k, w := range wants {
				if !met[k] {
					t.Errorf("%s (%s): not seen; last value %q", w.desc, k, lastSeen[k])
				}
			}
			t.Logf("values received by the stand-in server: %v", srv.keys())
			t.FailNow()
		}
		time.Sleep(500 * time.Millisecond)
		for _, c := range active {
			topic := mqttTopicOf(t, c.key)
			for _, raw := range srv.values(c.key) {
				if !obs.published(topic, raw) {
					t.Fatalf("agent sent for %s a value the box never published on %s: %q", c.key, topic, raw)
				}
				met[c.key] = true
			}
		}
		for _, r := range items {
			w, ok := wants[r.item.Key]
			if !ok || met[r.item.Key] {
				continue
			}
			for _, raw := range srv.values(r.master) {
				topic := mqttTopicOf(t, r.master)
				if !obs.published(topic, raw) {
					t.Fatalf("agent sent for %s a value the box never published on %s: %q", r.master, topic, raw)
				}
				v, keep, err := preprocess(r.item, raw)
				if err != nil {
					t.Fatalf("%s: preprocessing %q: %v", r.item.Key, raw, err)
				}
				if !keep {
					continue
				}
				lastSeen[r.item.Key] = v
				if w.ok(v) == nil {
					met[r.item.Key] = true
					t.Logf("%s: %s = %q", w.desc, r.item.Key, v)
					break
				}
			}
		}
	}
	// A clean shutdown: the box's retained status says offline, and the
	// item the "box offline" trigger watches must say so.
	stopDemo()
	stateMaster := ""
	for _, r := range items {
		if r.item.Key == "praxisgate.status.state" {
			stateMaster = r.master
		}
	}
	offline := false
	for end := time.Now().Add(30 * time.Second); !offline && time.Now().Before(end); {
		time.Sleep(500 * time.Millisecond)
		for _, raw := range srv.values(stateMaster) {
			if v, _, err := preprocess(itemByKey(tps["praxisgate box by MQTT"], "praxisgate.status.state"), raw); err == nil && v == "offline" {
				offline = true
			}
		}
	}
	if !offline {
		t.Error("praxisgate.status.state never became offline after the box stopped")
	}
	// Every template item must have been checked.
	for _, r := range items {
		if r.item.Key == "praxisgate.ups.battery.runtime" || r.item.Key == "praxisgate.ups.load" {
			continue // the demo's UPS (APC smart protocol) may not report these; DISCARD_VALUE covers it
		}
		if _, ok := wants[r.item.Key]; !ok {
			t.Errorf("template item %s is not checked by this test", r.item.Key)
		}
	}
}

func itemByKey(tp zbxTemplate, key string) zbxItem {
	for _, it := range tp.Items {
		if it.Key == key {
			return it
		}
	}
	return zbxItem{}
}

func expect(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// mqttTopicOf is the topic of a resolved mqtt.get["broker","topic"] key.
func mqttTopicOf(t *testing.T, key string) string {
	t.Helper()
	m := regexp.MustCompile(`^mqtt\.get\["[^"]*","([^"]+)"\]$`).FindStringSubmatch(key)
	if m == nil {
		t.Fatalf("key %q is not mqtt.get[\"broker\",\"topic\"]", key)
	}
	return m[1]
}

// preprocess applies an item's steps as the Zabbix server does: a failing
// step goes to its error handler (custom value, discard) or, without one,
// makes the item unsupported (an error here).
func preprocess(it zbxItem, v string) (string, bool, error) {
	for _, p := range it.Preprocessing {
		out, err := zabbixJSONPath(v, p.Parameters[0])
		switch {
		case err == nil:
			v = out
		case errors.Is(err, errNoMatch) && p.ErrorHandler == "CUSTOM_VALUE":
			v = p.HandlerParam
		case errors.Is(err, errNoMatch) && p.ErrorHandler == "DISCARD_VALUE":
			return "", false, nil
		default:
			return "", false, err
		}
	}
	return v, true, nil
}

// zbxCheck is one entry of the active checks list (Zabbix agent 2
// protocol, 6.0).
type zbxCheck struct {
	ItemID      uint64 `json:"itemid"`
	Key         string `json:"key"`
	Delay       string `json:"delay"`
	LastLogSize uint64 `json:"lastlogsize"`
	MTime       int    `json:"mtime"`
}

// zabbixTrapper is the test's stand-in for the Zabbix server's side of
// active checks: it answers "active checks" with the list it is given and
// records the values of "agent data".
type zabbixTrapper struct {
	addr string
	mu   sync.Mutex
	vals map[string][]string
	ids  map[uint64]string
}

func startZabbixTrapper(t *testing.T, checks func() []zbxCheck) *zabbixTrapper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &zabbixTrapper{addr: ln.Addr().String(), vals: map[string][]string{}, ids: map[uint64]string{}}
	for _, c := range checks() {
		s.ids[c.ItemID] = c.Key
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := s.serve(c, checks); err != nil {
					t.Logf("stand-in Zabbix server: %v", err)
				}
			}()
		}
	}()
	return s
}

func (s *zabbixTrapper) serve(c net.Conn, checks func() []zbxCheck) error {
	body, err := readZBXD(c)
	if err != nil {
		return err
	}
	var req struct {
		Request string `json:"request"`
		Data    []struct {
			ItemID uint64 `json:"itemid"`
			Key    string `json:"key"`
			Value  string `json:"value"`
			State  int    `json:"state"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return fmt.Errorf("request %q: %w", body, err)
	}
	var resp any
	switch req.Request {
	case "active checks":
		resp = map[string]any{"response": "success", "data": checks()}
	case "agent data":
		s.mu.Lock()
		for _, d := range req.Data {
			key := d.Key
			if key == "" {
				key = s.ids[d.ItemID]
			}
			if d.State == 0 {
				s.vals[key] = append(s.vals[key], d.Value)
			}
		}
		s.mu.Unlock()
		resp = map[string]any{"response": "success", "info": fmt.Sprintf("processed: %d; failed: 0; total: %d; seconds spent: 0.000001", len(req.Data), len(req.Data))}
	default:
		resp = map[string]any{"response": "failed", "info": "not expected by the test: " + req.Request}
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	return writeZBXD(c, out)
}

func (s *zabbixTrapper) values(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.vals[key]...)
}

func (s *zabbixTrapper) keys() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.vals {
		out[k] = len(v)
	}
	return out
}

// readZBXD reads one message of the Zabbix protocol: "ZBXD", a flags
// byte (0x01 protocol, 0x02 zlib, 0x04 large lengths), the data length
// and the uncompressed length, then the data.
func readZBXD(r io.Reader) ([]byte, error) {
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if string(hdr[:4]) != "ZBXD" {
		return nil, fmt.Errorf("not a Zabbix message: %q", hdr)
	}
	flags := hdr[4]
	var size, raw uint64
	if flags&0x04 != 0 {
		b := make([]byte, 16)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		size, raw = binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
	} else {
		b := make([]byte, 8)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		size, raw = uint64(binary.LittleEndian.Uint32(b[:4])), uint64(binary.LittleEndian.Uint32(b[4:]))
	}
	if size > 64<<20 || raw > 64<<20 {
		return nil, fmt.Errorf("message of %d/%d bytes is too large", size, raw)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("read %d bytes: %w", size, err)
	}
	if flags&0x02 == 0 {
		return data, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	defer zr.Close()
	return io.ReadAll(io.LimitReader(zr, int64(raw)+1))
}

func writeZBXD(w io.Writer, data []byte) error {
	hdr := make([]byte, 13)
	copy(hdr, "ZBXD\x01")
	binary.LittleEndian.PutUint32(hdr[5:], uint32(len(data)))
	_, err := w.Write(append(hdr, data...))
	return err
}
