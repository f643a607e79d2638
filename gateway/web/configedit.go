package web

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// edit changes one value in the config file's YAML tree. Editing the node
// tree instead of re-marshalling the Config keeps the technician's
// comments, key order and secret-file indirections.
type edit struct {
	// path is a chain of mapping keys (string) and list indexes (int).
	path []any
	// value is the new scalar; nil removes the key.
	value *string
	// appendNode, when set, is appended to the sequence at path (created
	// if missing) instead of setting a scalar.
	appendNode *yaml.Node
	// tag is the scalar's YAML tag: "!!str" (quoted), "!!float", "!!int",
	// "!!bool" or "" for a plain scalar such as a duration.
	tag string
}

func setStr(v string, path ...any) edit   { return edit{path: path, value: &v, tag: "!!str"} }
func setPlain(v string, path ...any) edit { return edit{path: path, value: &v} }
func remove(path ...any) edit             { return edit{path: path} }

// appendTo adds n to the list at path.
func appendTo(n *yaml.Node, path ...any) edit { return edit{path: path, appendNode: n} }

// mapping builds a block mapping node from key/value pairs; values are
// strings (quoted), or *yaml.Node.
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		var v *yaml.Node
		switch x := kv[i+1].(type) {
		case *yaml.Node:
			v = x
		default:
			v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(x), Style: yaml.DoubleQuotedStyle}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(kv[i])}, v)
	}
	return m
}

// applyEdits returns the file's content with the edits applied.
func applyEdits(data []byte, edits []edit) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("config: the file is not a YAML mapping")
	}
	for _, e := range edits {
		if err := applyEdit(doc.Content[0], e); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

func applyEdit(n *yaml.Node, e edit) error {
	for i, step := range e.path {
		last := i == len(e.path)-1
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch k := step.(type) {
		case int:
			if n.Kind != yaml.SequenceNode || k < 0 || k >= len(n.Content) {
				return fmt.Errorf("config: %s: no list entry %d", pathString(e.path[:i]), k)
			}
			if last {
				return fmt.Errorf("config: %s: cannot replace a list entry", pathString(e.path))
			}
			n = n.Content[k]
		case string:
			if n.Kind != yaml.MappingNode {
				return fmt.Errorf("config: %s is not a mapping", pathString(e.path[:i]))
			}
			idx := -1
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == k {
					idx = j
				}
			}
			if last && e.appendNode != nil {
				if idx < 0 {
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k},
						&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"})
					idx = len(n.Content) - 2
				}
				seq := n.Content[idx+1]
				if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
					seq.Kind, seq.Tag, seq.Value = yaml.SequenceNode, "!!seq", ""
				}
				if seq.Kind != yaml.SequenceNode {
					return fmt.Errorf("config: %s is not a list", pathString(e.path))
				}
				seq.Content = append(seq.Content, e.appendNode)
				return nil
			}
			if last {
				setKey(n, idx, k, e)
				return nil
			}
			if idx < 0 {
				if e.value == nil {
					return nil // removing below a missing key: nothing to do
				}
				child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, child)
				n = child
				continue
			}
			n = n.Content[idx+1]
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				n.Kind, n.Tag, n.Value = yaml.MappingNode, "!!map", ""
			}
		default:
			return fmt.Errorf("config: bad path element %v", step)
		}
	}
	return nil
}

func setKey(m *yaml.Node, idx int, key string, e edit) {
	if e.value == nil {
		if idx >= 0 {
			m.Content = append(m.Content[:idx], m.Content[idx+2:]...)
		}
		return
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Value: *e.value, Tag: e.tag}
	if e.tag == "!!str" {
		val.Style = yaml.DoubleQuotedStyle
	}
	if idx >= 0 {
		old := m.Content[idx+1]
		val.LineComment, val.HeadComment, val.FootComment = old.LineComment, old.HeadComment, old.FootComment
		m.Content[idx+1] = val
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
}

// pathString renders a path the way config.Problem.Path does:
// alarms[2].above.
func pathString(path []any) string {
	var b bytes.Buffer
	for _, p := range path {
		switch k := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(k) + "]")
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		}
	}
	return b.String()
}
