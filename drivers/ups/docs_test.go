package ups

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestDocsListEveryKey keeps docs/drivers/ups.md true: every yaml key of
// Config has a row in its table.
func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/drivers/ups.md")
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if key == "" {
			t.Errorf("field %s has no yaml tag", typ.Field(i).Name)
			continue
		}
		if !strings.Contains(string(doc), "| `"+key+"` |") {
			t.Errorf("docs/drivers/ups.md has no row for key %q", key)
		}
	}
}
