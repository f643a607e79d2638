package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// keyRE finds message keys in templates and Go code: a quoted
// prefix.name where the prefix is one the catalog uses.
var keyRE = regexp.MustCompile(`"((?:app|nav|lang|setup|login|err|flash|ov|dev|al|sev|set|step|cert|diag|cc|inv|upd|ck|rf)\.[a-z_]+)"`)

// TestCatalogComplete: every message has German and English, and every key
// the templates and handlers use exists, so no page shows a raw key or
// half a language.
func TestCatalogComplete(t *testing.T) {
	for k, m := range catalog {
		if strings.TrimSpace(m.de) == "" || strings.TrimSpace(m.en) == "" {
			t.Errorf("%s: missing a translation %+v", k, m)
		}
		if strings.Count(m.de, "%") != strings.Count(m.en, "%") {
			t.Errorf("%s: format verbs differ between languages", k)
		}
	}
	used := map[string]bool{}
	scan := func(name string, data []byte) {
		for _, m := range keyRE.FindAllSubmatch(data, -1) {
			used[string(m[1])] = true
			if _, ok := catalog[string(m[1])]; !ok {
				t.Errorf("%s uses %q, which the catalog lacks", name, m[1])
			}
		}
	}
	fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := templateFS.ReadFile(p)
			scan(p, data)
		}
		return nil
	})
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") || f == "i18n.go" {
			continue
		}
		data, _ := os.ReadFile(f)
		scan(f, data)
	}
	// Keys built at run time: nav.<page>, sev.<severity>, step.<name>.
	for _, k := range []string{"nav.overview", "nav.devices", "nav.alarms", "nav.settings", "nav.diagnostics", "nav.update",
		"sev.critical", "sev.major", "sev.minor", "sev.info", "step.dns", "step.tcp", "step.tls", "step.auth", "step.mqtt"} {
		if _, ok := catalog[k]; !ok {
			t.Errorf("catalog lacks %s", k)
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use; is the scan broken?", len(used))
	}
}
