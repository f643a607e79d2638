package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxSecretFile bounds what x_file may read: a password or key is small, and
// pointing x_file at a disk image by mistake must not exhaust memory.
const maxSecretFile = 64 << 10

// secretFile fills a drivers.Secret field from the file named by an x_file
// key. Secrets live in separate files so the config itself can be shown,
// diffed and sent to support without leaking them. Messages name the key
// and the path, never the content.
func (d *decoder) secretFile(p pair, v reflect.Value, path string) {
	n := p.val
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode || isNull(n) || n.Value == "" {
		d.typeErr(n, path, "a file path")
		return
	}
	name := n.Value
	if !filepath.IsAbs(name) && d.dir != "" {
		name = filepath.Join(d.dir, name)
	}
	data, err := readSmall(name)
	if err != nil {
		d.addf(p.key, path, "cannot read secret file: %v", err)
		return
	}
	value := strings.TrimRight(string(data), "\r\n")
	if value == "" {
		d.addf(p.key, path, "secret file %q is empty", name)
		return
	}
	v.SetString(value)
}

// readSmall reads a regular file of at most maxSecretFile bytes.
func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxSecretFile)
	}
	return data, nil
}
