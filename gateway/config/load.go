package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxFileSize bounds the config file; a real one is a few kilobytes.
const maxFileSize = 4 << 20

// Load reads and checks the config file at path. Problems in the file are
// returned as *Errors; a file that cannot be read gives a plain error.
func Load(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// Parse checks a config file's content. path names the file in messages and
// anchors relative paths (secret files, certificates, state_dir); it need
// not exist. On success every default is filled in, every device's driver
// section is decoded into Device.DriverConfig and every relative path is
// absolute.
func Parse(data []byte, path string) (*Config, error) {
	dir := "."
	if path != "" {
		dir = filepath.Dir(path)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	l := &loader{d: newDecoder(dir), dir: dir, cfg: &Config{}}
	if path != "" {
		l.cfg.Path = filepath.Join(dir, filepath.Base(path))
	}
	l.run(data)
	if probs := l.d.finish(); len(probs) > 0 {
		return nil, &Errors{File: path, List: probs}
	}
	return l.cfg, nil
}

// loader carries one Parse through its phases: YAML, decoding, checks,
// defaults, driver sections.
type loader struct {
	d   *decoder
	dir string
	cfg *Config
	// devices remembers each device's section node for the driver checks.
	devices []deviceNodes
	// ids is the set of device ids, built on first use by hasDevice.
	ids map[string]bool
}

func (l *loader) run(data []byte) {
	root, ok := l.parseYAML(data)
	if !ok {
		return
	}
	l.d.record("", root)
	l.d.hooks[reflect.TypeFor[Device]()] = l.decodeDevice
	l.d.value(root, reflect.ValueOf(l.cfg).Elem(), "")
	if l.d.budget <= 0 || l.d.truncated {
		return
	}
	l.validate()
	l.fillDefaults()
	l.checkDevices()
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML turns the bytes into a node tree with exactly one document whose
// root is a mapping, reporting syntax errors with their line.
func (l *loader) parseYAML(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// The parser is third-party code fed with untrusted bytes; a bug
		// in it must become a config problem, not a crashed daemon.
		if r := recover(); r != nil {
			l.d.at(position{1, 1}, "", "YAML parser failed: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.d.at(position{1, 1}, "", "the file is empty")
			return nil, false
		}
		l.syntaxError(err)
		return nil, false
	}
	// Further documents are an error unless empty: a trailing "---" is
	// harmless, a second config in the same file is a mistake.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			l.syntaxError(err)
			return nil, false
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			l.d.addf(&extra, "", "only one YAML document is allowed (found another here)")
			return nil, false
		}
	}
	return l.rootOf(&doc)
}

// rootOf checks that the document holds a mapping and returns it.
func (l *loader) rootOf(doc *yaml.Node) (*yaml.Node, bool) {
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		l.d.at(position{1, 1}, "", "the file is empty")
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.d.addf(root, "", "the file must be a mapping of keys (site:, gateway:, ...), got %s", kindName(root))
		return nil, false
	}
	return root, true
}

func (l *loader) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		l.d.at(position{line, 1}, "", "YAML syntax: %s", m[2])
		return
	}
	l.d.at(position{1, 1}, "", "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
}
