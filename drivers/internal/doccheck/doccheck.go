// Package doccheck keeps a driver's page under docs/drivers true: every
// yaml key of its Config must be documented, so a key added in code cannot
// stay invisible to the technician. It is used from the drivers' tests.
package doccheck

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// Keys fails t for each yaml key of cfg (a Config value) that the markdown
// file at path does not document: top-level keys need a table row
// starting with "| `key`" (a section may instead have a row for each of
// its keys, "| `key.sub`"), keys of nested list items (registers[].type)
// must appear in backquotes somewhere on the page.
func Keys(t testing.TB, path string, cfg any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	walk(t, path, doc, reflect.TypeOf(cfg), true)
}

func walk(t testing.TB, path, doc string, typ reflect.Type, top bool) {
	t.Helper()
	for i := range typ.NumField() {
		f := typ.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			t.Errorf("%s: field %s has no yaml tag", typ.Name(), f.Name)
			continue
		}
		if top {
			if !strings.Contains(doc, "| `"+key+"`") && !strings.Contains(doc, "| `"+key+".") {
				t.Errorf("%s has no table row for key %q", path, key)
			}
		} else if !strings.Contains(doc, "`"+key+"`") && !strings.Contains(doc, "."+key+"`") {
			t.Errorf("%s does not mention nested key %q", path, key)
		}
		ft := f.Type
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
			walk(t, path, doc, ft, false)
		}
	}
}
