package discover

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

const docPath = "../../docs/drivers/discover.md"

// TestDocInventoryExample keeps the documented `inventory` payload true:
// it must decode into InventoryDoc (plus the envelope) with no unknown
// field, and every Host field must appear in it.
func TestDocInventoryExample(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no ```json block in " + docPath)
	}
	var got struct {
		Schema  int    `json:"schema"`
		Gateway string `json:"gateway"`
		TS      string `json:"ts"`
		InventoryDoc
	}
	dec := json.NewDecoder(strings.NewReader(block))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("documented inventory does not match InventoryDoc: %v", err)
	}
	if len(got.Hosts) == 0 {
		t.Fatal("example has no hosts")
	}
	ht := reflect.TypeFor[Host]()
	for i := range ht.NumField() {
		name, _, _ := strings.Cut(ht.Field(i).Tag.Get("json"), ",")
		if !strings.Contains(block, `"`+name+`"`) {
			t.Errorf("Host field %q missing from the documented example", name)
		}
	}
}

// TestDocConfigKeys checks every Config key is in the doc's table.
func TestDocConfigKeys(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(reflect.Type, string)
	walk = func(rt reflect.Type, prefix string) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			key := prefix + f.Tag.Get("yaml")
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == rt.PkgPath() {
				walk(f.Type, key+".")
				continue
			}
			if !bytes.Contains(doc, []byte("| `"+key+"` |")) {
				t.Errorf("config key %s is not documented in %s", key, docPath)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
}
