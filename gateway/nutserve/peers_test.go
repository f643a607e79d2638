package nutserve

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Helpers that find and start the real NUT client programs (Debian's
// nut-client) and read the NUT DDL dumps of the repository's test data.

// dumpVars loads a NUT DDL dump of drivers/testdata/third_party/nut-ddl
// as served variables (values trimmed, as a UPS driver produces them).
func dumpVars(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "drivers", "testdata", "third_party", "nut-ddl", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			name, value, ok = strings.Cut(line, ":")
		}
		if ok {
			m[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	return m
}
