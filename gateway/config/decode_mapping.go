package config

import (
	"reflect"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// This file holds the mapping side of the decoder: merge keys, maps and
// structs with their key tables and unknown-key hints.

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.addf(n, path, "internal: cannot decode into Go type %s", t)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping")
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for _, p := range d.pairs(n, path) {
		kp := joinPath(path, p.key.Value)
		d.record(kp, p.key)
		k := reflect.ValueOf(p.key.Value).Convert(t.Key())
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(k); old.IsValid() {
			elem.Set(old)
		}
		d.value(p.val, elem, kp)
		v.SetMapIndex(k, elem)
	}
}

// pair is one key and its value in a mapping.
type pair struct{ key, val *yaml.Node }

// pairs lists a mapping's entries with YAML merge keys (<<: *base) applied:
// explicit keys win over merged ones, earlier merges over later ones.
// Duplicate explicit keys are reported, since YAML parsers disagree on which
// one wins and the technician surely meant only one.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	seen := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		// Merges can nest and repeat like aliases, so entries count
		// against the same budget as values.
		if d.budget <= 0 {
			return out
		}
		d.budget--
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.addf(k, path, "keys must be plain words, got %s", kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.addf(k, joinPath(path, k.Value), "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k, val})
	}
	for _, m := range merges {
		for _, src := range d.mergeSources(m, path) {
			if d.active[src] {
				d.addf(m, path, "alias refers to itself")
				continue
			}
			d.active[src] = true
			for _, p := range d.pairs(src, path) {
				if _, ok := seen[p.key.Value]; !ok {
					seen[p.key.Value] = p.key
					out = append(out, p)
				}
			}
			delete(d.active, src)
		}
	}
	return out
}

// mergeSources resolves the value of a merge key to the mappings it names.
func (d *decoder) mergeSources(n *yaml.Node, path string) []*yaml.Node {
	deref := func(n *yaml.Node) *yaml.Node {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			return n.Alias
		}
		return n
	}
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			if c = deref(c); c.Kind == yaml.MappingNode {
				out = append(out, c)
			} else {
				d.addf(c, path, "<< merges mappings only, got %s", kindName(c))
			}
		}
		return out
	}
	d.addf(n, path, "<< merges mappings only, got %s", kindName(n))
	return nil
}

// field is one decodable struct field.
type field struct {
	name   string
	index  []int
	secret bool
}

// structInfo is the cached key table of a struct type.
type structInfo struct {
	byName map[string]field
	names  []string // sorted, for hints and listings
}

var structCache sync.Map // reflect.Type -> *structInfo

func structOf(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]field{}}
	collectFields(t, nil, si)
	sort.Strings(si.names)
	structCache.Store(t, si)
	return si
}

func collectFields(t reflect.Type, index []int, si *structInfo) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		if strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct {
			collectFields(f.Type, idx, si)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		si.byName[name] = field{name: name, index: idx, secret: f.Type == secretType}
		si.names = append(si.names, name)
	}
}

// structure decodes a mapping into a struct. extra, when set, may claim a
// key the struct does not know (a device's driver section); it returns
// false to let the key be reported as unknown.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, extra func(p pair) bool) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping")
		return
	}
	si := structOf(v.Type())
	set := map[string]bool{}
	var files []pair
	for _, p := range d.pairs(n, path) {
		key := p.key.Value
		kp := joinPath(path, key)
		if f, ok := si.byName[key]; ok {
			d.record(kp, p.key)
			set[key] = true
			d.value(p.val, v.FieldByIndex(f.index), kp)
			continue
		}
		if base, ok := strings.CutSuffix(key, "_file"); ok && si.byName[base].secret {
			d.record(kp, p.key)
			files = append(files, p)
			continue
		}
		if extra != nil && extra(p) {
			continue
		}
		d.unknown(p.key, kp, si.names)
	}
	for _, p := range files {
		base := strings.TrimSuffix(p.key.Value, "_file")
		kp := joinPath(path, p.key.Value)
		if set[base] {
			d.addf(p.key, kp, "give either %s or %s, not both", base, p.key.Value)
			continue
		}
		d.secretFile(p, v.FieldByIndex(si.byName[base].index), kp)
	}
}

// unknown reports a key the struct does not have, with the closest known
// key as a hint, or the list of known keys when nothing is close.
func (d *decoder) unknown(key *yaml.Node, path string, known []string) {
	if s := suggest(key.Value, known); s != "" {
		d.addf(key, path, "unknown key (did you mean %q?)", s)
		return
	}
	d.addf(key, path, "unknown key (known keys: %s)", strings.Join(known, ", "))
}
