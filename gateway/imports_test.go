package gateway

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/praxisgate/praxisgate/"

// imports returns the imports of the non-test Go files of dir (relative to
// this package), by file.
func imports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out[f] = append(out[f], p)
		}
	}
	return out
}

// The map of docs/architecture.md holds: the core imports only the parts
// of the pipeline (no feature package, which all build on it), and no
// file under gateway/ but the demo's names a concrete driver.
func TestImportRules(t *testing.T) {
	core := map[string]bool{"buffer": true, "drivers": true, "gateway/config": true, "gateway/contract": true,
		"gateway/schedule": true, "gateway/alarm": true, "gateway/coldchain": true, "gateway/selfmon": true,
		"gateway/clock": true, "gateway/uplink": true, "gateway/plausible": true}
	for f, ims := range imports(t, ".") {
		for _, p := range ims {
			if rel, ok := strings.CutPrefix(p, module); ok && !core[rel] {
				t.Errorf("%s imports %s: the core may import only the pipeline's parts", f, rel)
			}
		}
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path == "demo" {
			return filepath.SkipDir
		}
		for f, ims := range imports(t, path) {
			for _, p := range ims {
				rel, ok := strings.CutPrefix(p, module+"drivers/")
				if ok && !strings.HasPrefix(rel, "internal/") {
					t.Errorf("%s imports drivers/%s: only the demo under gateway/ may name a concrete driver", f, rel)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
