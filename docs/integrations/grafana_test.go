package integrations

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// dashboard is what the tests take from the Grafana dashboard: every
// target's PromQL and every variable, with Grafana's own variables
// replaced the way Grafana would for "All" (site and gateway match any
// value; $__rate_interval becomes a minute).
type dashboard struct {
	queries   []dashQuery
	variables []dashVar
}

type dashQuery struct {
	panel, refID, expr, promql string
}

type dashVar struct {
	name, query, promql string
}

var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$site", ".*", "$gateway", ".*")

// labelValues is Grafana's variable query label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// loadDashboard reads docs/integrations/grafana/praxisgate.json and checks
// what a Grafana import needs without a Grafana server: valid JSON, a uid
// and title, the Prometheus data source as an import input, every panel
// typed, titled and placed, every data panel on that data source with
// targets that each carry a refId (unique in the panel) and an expr. It
// fails the test naming the first panel that lacks something.
func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(repoFile(t, "docs/integrations/grafana/praxisgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Inputs        []struct {
			Name, Type, PluginID string
		} `json:"__inputs"`
		Templating struct {
			List []struct {
				Name       string          `json:"name"`
				Type       string          `json:"type"`
				Datasource json.RawMessage `json:"datasource"`
				Query      json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int             `json:"id"`
			Type       string          `json:"type"`
			Title      string          `json:"title"`
			Datasource json.RawMessage `json:"datasource"`
			GridPos    *struct {
				X, Y, W, H int
			} `json:"gridPos"`
			Targets []struct {
				RefID      string          `json:"refId"`
				Expr       string          `json:"expr"`
				Datasource json.RawMessage `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana dashboard: not valid JSON: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Fatalf("grafana dashboard: uid %q, title %q, schemaVersion %d: all three are needed", d.UID, d.Title, d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Fatalf("grafana dashboard: __inputs must offer one Prometheus data source DS_PROMETHEUS, got %+v", d.Inputs)
	}
	checkDS := func(where string, ds json.RawMessage) {
		var v struct{ Type, UID string }
		if err := json.Unmarshal(ds, &v); err != nil || v.Type != "prometheus" || v.UID != "${DS_PROMETHEUS}" {
			t.Errorf("grafana dashboard: %s: datasource %s, want {type prometheus, uid ${DS_PROMETHEUS}}", where, ds)
		}
	}
	var out dashboard
	ids := map[int]bool{}
	for _, p := range d.Panels {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.Type == "" || p.Title == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("grafana dashboard: %s: needs a type, a title and a gridPos with size", where)
		}
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("grafana dashboard: %s: id missing or not unique", where)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		checkDS(where, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("grafana dashboard: %s: no targets", where)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("grafana dashboard: %s: target %q needs a unique refId and an expr", where, tg.RefID)
			}
			refs[tg.RefID] = true
			checkDS(where+" target "+tg.RefID, tg.Datasource)
			out.queries = append(out.queries, dashQuery{panel: p.Title, refID: tg.RefID, expr: tg.Expr, promql: grafanaVars.Replace(tg.Expr)})
		}
	}
	for _, v := range d.Templating.List {
		checkDS("variable "+v.Name, v.Datasource)
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("grafana dashboard: variable %s: query %s: %v", v.Name, v.Query, err)
			continue
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if v.Type != "query" || m == nil {
			t.Errorf("grafana dashboard: variable %s: want a query variable label_values(selector, label), got %s %q", v.Name, v.Type, q.Query)
			continue
		}
		// label_values(sel, l) lists the values of l among the series of
		// sel; the same question in PromQL:
		out.variables = append(out.variables, dashVar{name: v.Name, query: q.Query,
			promql: "count by (" + m[2] + ") (" + grafanaVars.Replace(m[1]) + ")"})
	}
	if t.Failed() {
		t.FailNow()
	}
	if len(out.queries) == 0 {
		t.Fatal("grafana dashboard: no queries at all")
	}
	return out
}

// TestGrafanaDashboard checks the dashboard's structure without any peer
// (the short tier runs it too); TestTelegrafPrometheus runs every query of
// it against a real Prometheus fed by the demo.
func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	for _, want := range []string{"praxisgate_metric{", "praxisgate_metric_state{", "praxisgate_alarm_active", "praxisgate_gateway_alarms_active"} {
		found := false
		for _, q := range d.queries {
			found = found || strings.Contains(q.expr, want)
		}
		if !found {
			t.Errorf("no panel queries %s: the dashboard must show fridges, UPS and alarms", want)
		}
	}
	for _, q := range d.queries {
		if strings.Contains(q.promql, "$") {
			t.Errorf("panel %q target %s uses a variable the tests do not know: %s", q.panel, q.refID, q.expr)
		}
	}
}
