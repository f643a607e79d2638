package uplink

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/discover"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// schemaNames are the payload schemas in docs/schema, one per topic kind.
var schemaNames = []string{"telemetry", "event", "status", "alarms", "inventory", "command", "reply"}

// loadSchemas compiles docs/schema/*.json (JSON Schema 2020-12).
func loadSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "schema"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	out := map[string]*jsonschema.Schema{}
	for _, n := range schemaNames {
		s, err := c.Compile(filepath.Join(dir, n+".json"))
		if err != nil {
			t.Fatalf("compile schema %s: %v", n, err)
		}
		out[n] = s
	}
	return out
}

// schemaFor maps a topic below the root to its schema name.
func schemaFor(suffix string) string {
	first, _, _ := strings.Cut(suffix, "/")
	switch first {
	case "telemetry", "event", "reply", "status", "alarms", "inventory":
		return first
	case "cmd":
		return "command"
	}
	return ""
}

func validate(s *jsonschema.Schema, payload []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// TestPayloadsMatchSchema runs the real pipeline against Mosquitto with
// every kind of message the gateway sends and validates each payload the
// subscriber received against docs/schema.
func TestPayloadsMatchSchema(t *testing.T) {
	schemas := loadSchemas(t)
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	obs := newObserver(t, m.URL(), testRoot+"/#", false)
	q := buffer.NewMemory(buffer.Options{})

	sample := drivers.Sample{Device: "usv-rack", Kind: "ups", Time: time.Now(), Metrics: []drivers.Metric{
		drivers.Num("battery.charge", 100, "%"), drivers.Text("ups.status", "OL CHRG"), drivers.Flag("ups.test.running", false),
		drivers.Num("input.voltage", 231.5, "V"),
	}}
	tel, err := testOrigin.EncodeTelemetry(sample, contract.Stamp{Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := testOrigin.EncodeEvent(drivers.Event{Device: "usv-rack", Type: "alarm.raised", Severity: drivers.Major,
		Message: "UPS on battery", Attrs: map[string]any{"alarm": "usv-rack/on-battery"}}, testClock())
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, q, []buffer.Record{
		{Class: buffer.Telemetry, Topic: contract.TelemetryTopic("usv-rack"), Payload: tel},
		{Class: buffer.Event, Topic: contract.EventTopic("usv-rack"), Payload: ev},
		telemetry(t, "kuehlschrank-impf", 1),
	})
	value := 9.1
	alarms := testOrigin.EncodeAlarms([]contract.Alarm{{ID: "kuehlschrank-impf/temperature", Device: "kuehlschrank-impf",
		Severity: "critical", Message: "Vaccine fridge above 8 °C", Metric: "temperature", Value: &value,
		Since: contract.FormatTime(time.Now()), Acked: false}}, testClock())
	// The inventory as the gateway renders it after a sweep.
	seenAt := time.Now()
	inventory, err := testOrigin.EncodeInventory(discover.InventoryDoc{Device: "netz", Hosts: []discover.Host{{
		MAC: "00:1b:a9:12:34:56", IPs: []string{"192.168.10.23"}, Interface: "eth0", Vendor: "Brother Industries, Ltd.",
		Name: "drucker-empfang", Kind: "printer", KindReason: "snmp sysObjectID", OpenPorts: []int{80, 631, 9100},
		SNMP:  &discover.SNMPIdentity{SysName: "drucker-empfang", SysDescr: "Brother NC-8300w", Via: "v2c community #1"},
		Known: true, Adopted: "drucker-empfang", Present: true, FirstSeen: seenAt.Add(-time.Hour), LastSeen: seenAt, EnrichedAt: seenAt,
	}}}, testClock())
	if err != nil {
		t.Fatal(err)
	}
	// Replies have no encoder yet (a later issue); these are the shapes
	// docs/mqtt.md promises.
	now := contract.FormatTime(time.Now())
	r := startUplink(t, testConfig(m.URL()), q, func(u *Uplink) {
		u.SetRetained(contract.TopicAlarms, alarms)
		u.SetRetained(contract.TopicInventory, inventory)
	})
	waitFor(t, 20*time.Second, "records delivered", func() bool { return q.Stats().Records == 0 && r.Connected() })
	obs.client.Publish(testRoot+"/cmd/poll", 1, false, `{"id":"c-17","args":{"device":"usv-rack"}}`).Wait()
	for _, p := range []string{
		`{"schema":1,"gateway":"gw-01","boot":"boot-test","ts":"` + now + `","clock":"synced","id":"c-17","ok":true,"result":{"polled":1}}`,
		`{"schema":1,"gateway":"gw-01","boot":"boot-test","ts":"` + now + `","clock":"synced","id":"c-18","ok":false,"error":"unknown device \"x\""}`,
	} {
		if err := r.Publish(t.Context(), contract.ReplyTopic("c-1x"), []byte(p), false); err != nil {
			t.Fatal(err)
		}
	}
	r.Stop(t)
	waitFor(t, 10*time.Second, "status offline", func() bool { return lastState(t, obs) == contract.StateOffline })

	seen := map[string]int{}
	for _, msg := range obs.messages() {
		suffix := strings.TrimPrefix(msg.Topic, testRoot+"/")
		name := schemaFor(suffix)
		if name == "" {
			t.Errorf("message on %s has no schema", msg.Topic)
			continue
		}
		seen[name]++
		if err := validate(schemas[name], msg.Payload); err != nil {
			t.Errorf("%s payload %s does not match %s.json: %v", msg.Topic, msg.Payload, name, err)
		}
	}
	for _, n := range schemaNames {
		if seen[n] == 0 {
			t.Errorf("no %s message was received, its schema went untested", n)
		}
	}
}

// TestSchemaRejectsBadPayloads: the schemas are strict enough to catch
// what a consumer must not see.
func TestSchemaRejectsBadPayloads(t *testing.T) {
	schemas := loadSchemas(t)
	const h = `"schema":1,"gateway":"gw-01","boot":"b1","ts":"2026-11-22T13:05:07.123Z","clock":"synced"`
	const metrics = `"metrics":[{"name":"temperature","value":4.5,"unit":"°C"}]`
	tests := []struct {
		name, schema, payload string
		valid                 bool
	}{
		{"good telemetry", "telemetry", `{"seq":1,` + h + `,"device":"kuehlschrank-impf","kind":"fridge",` + metrics + `}`, true},
		{"telemetry without seq", "telemetry", `{` + h + `,"device":"f","kind":"fridge",` + metrics + `}`, false},
		{"telemetry seq zero", "telemetry", `{"seq":0,` + h + `,"device":"f","kind":"fridge",` + metrics + `}`, false},
		{"ts without milliseconds", "telemetry", `{"seq":1,` + strings.Replace(h, ".123Z", "Z", 1) + `,"device":"f","kind":"fridge",` + metrics + `}`, false},
		{"ts not UTC", "telemetry", `{"seq":1,` + strings.Replace(h, ".123Z", ".123+01:00", 1) + `,"device":"f","kind":"fridge",` + metrics + `}`, false},
		{"unknown clock", "telemetry", `{"seq":1,` + strings.Replace(h, `"synced"`, `"maybe"`, 1) + `,"device":"f","kind":"fridge",` + metrics + `}`, false},
		{"schema 2", "telemetry", `{"seq":1,` + strings.Replace(h, `"schema":1`, `"schema":2`, 1) + `,"device":"f","kind":"fridge",` + metrics + `}`, false},
		{"metric value object", "telemetry", `{"seq":1,` + h + `,"device":"f","kind":"fridge","metrics":[{"name":"t","value":{"x":1}}]}`, false},
		{"extra member", "telemetry", `{"seq":1,` + h + `,"device":"f","kind":"fridge",` + metrics + `,"patient":"x"}`, false},
		{"device id with capitals", "telemetry", `{"seq":1,` + h + `,"device":"Fridge","kind":"fridge",` + metrics + `}`, false},
		{"good event", "event", `{"seq":2,` + h + `,"device":"f","type":"alarm.raised","severity":"critical","message":"warm"}`, true},
		{"event with unknown severity", "event", `{"seq":2,` + h + `,"device":"f","type":"alarm.raised","severity":"urgent","message":"warm"}`, false},
		{"event without type", "event", `{"seq":2,` + h + `,"device":"f","severity":"critical","message":"warm"}`, false},
		{"status sleeping", "status", `{` + h + `,"state":"sleeping","version":"1","started":"2026-11-22T13:05:07.123Z"}`, false},
		{"status without boot", "status", `{"schema":1,"gateway":"gw-01","ts":"2026-11-22T13:05:07.123Z","clock":"synced","state":"online","version":"1","started":"2026-11-22T13:05:07.123Z"}`, false},
		{"alarm without since", "alarms", `{` + h + `,"alarms":[{"id":"f/t","device":"f","severity":"major","message":"m","acked":false}]}`, false},
		{"alarms not an array", "alarms", `{` + h + `,"alarms":null}`, false},
		{"inventory host without mac", "inventory", `{` + h + `,"device":"netz","hosts":[{"ips":[],"kind":"printer","present":true}]}`, false},
		{"inventory without hosts", "inventory", `{` + h + `,"device":"netz"}`, false},
		{"command without id", "command", `{"args":{}}`, false},
		{"command id with slash", "command", `{"id":"a/b"}`, false},
		{"failed reply without error", "reply", `{` + h + `,"id":"c1","ok":false}`, false},
		{"ok reply with error", "reply", `{` + h + `,"id":"c1","ok":true,"error":"x"}`, false},
		{"not JSON object", "telemetry", `[1,2]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(schemas[tc.schema], []byte(tc.payload))
			if (err == nil) != tc.valid {
				t.Fatalf("validate against %s: err=%v, want valid=%v", tc.schema, err, tc.valid)
			}
		})
	}
}
