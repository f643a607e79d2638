package uplink

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// exampleRe finds the examples in docs/mqtt.md: a JSON code block right
// after a "<!-- schema: name -->" marker.
var exampleRe = regexp.MustCompile("(?s)<!-- schema: ([a-z]+) -->\\s*```json\\n(.*?)\\n```")

// TestDocExamplesMatchSchema keeps docs/mqtt.md honest: every example
// there validates against its schema, and every schema has an example.
func TestDocExamplesMatchSchema(t *testing.T) {
	schemas := loadSchemas(t)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "mqtt.md"))
	if err != nil {
		t.Fatalf("read docs/mqtt.md: %v", err)
	}
	found := map[string]int{}
	for _, m := range exampleRe.FindAllSubmatch(doc, -1) {
		name, body := string(m[1]), m[2]
		s, ok := schemas[name]
		if !ok {
			t.Errorf("docs/mqtt.md marks an example with unknown schema %q", name)
			continue
		}
		found[name]++
		if err := validate(s, body); err != nil {
			t.Errorf("docs/mqtt.md example for %s does not validate: %v\n%s", name, err, body)
		}
	}
	for _, n := range schemaNames {
		if found[n] == 0 {
			t.Errorf("docs/mqtt.md has no example for %s", n)
		}
	}
}
