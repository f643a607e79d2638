package configguard

import (
	"bytes"
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Redacted replaces every secret value in what leaves the box.
const Redacted = "[redacted]"

// secretKey matches the config keys that hold secrets: the uplink's
// password and every driver's password, community, passphrases, keys and
// tokens. Paths to secret files (password_file, key_file) are not secret
// and stay visible, which helps a technician debugging a box.
var secretKey = regexp.MustCompile(`(?i)^(password|passphrase|secret|community|token|psk|api_?key|auth_?pass(word|phrase)?|priv_?(pass(word|phrase)?|key)|.*_(password|passphrase|secret|token))$`)

// RedactYAML returns the config file with every secret value replaced by
// "[redacted]", comments and order kept. drivers.Secret redacts itself in
// JSON, but the file is YAML written by a person: a driver whose config
// uses a plain string for a password must not leak it either.
func RedactYAML(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("redact config: %w", err)
	}
	redact := func(v *yaml.Node) {
		v.Kind, v.Tag, v.Value, v.Style, v.Content, v.Alias, v.Anchor = yaml.ScalarNode, "!!str", Redacted, 0, nil, nil, ""
	}
	var aliased []*yaml.Node
	walkSecrets(&doc, nil, func(_ []string, v *yaml.Node) {
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			// password: *pw must not leave the anchor's value behind.
			aliased = append(aliased, v.Alias)
		}
		redact(v)
	})
	for _, a := range aliased {
		redact(a)
	}
	return encode(&doc)
}

// Unredact puts the current file's secrets back where a new file (usually
// get-config's output, edited) still says "[redacted]", so the provider can
// change a threshold without knowing, or resending, the broker password.
// A "[redacted]" with no counterpart in the current file is an error:
// writing the placeholder as a password would lock the box out.
func Unredact(newData, oldData []byte) ([]byte, error) {
	if !bytes.Contains(newData, []byte(Redacted)) {
		return newData, nil
	}
	var nw, old yaml.Node
	if err := yaml.Unmarshal(newData, &nw); err != nil {
		return nil, fmt.Errorf("new config: %w", err)
	}
	if err := yaml.Unmarshal(oldData, &old); err != nil {
		return nil, fmt.Errorf("current config: %w", err)
	}
	secrets := map[string]*yaml.Node{}
	walkSecrets(&old, nil, func(path []string, v *yaml.Node) { secrets[fmt.Sprint(path)] = v })
	var missing []string
	walkSecrets(&nw, nil, func(path []string, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode || v.Value != Redacted {
			return
		}
		if o, ok := secrets[fmt.Sprint(path)]; ok {
			*v = *o
			return
		}
		missing = append(missing, fmt.Sprint(path))
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%q at %v has no current value to keep; send the secret itself", Redacted, missing)
	}
	return encode(&nw)
}

// walkSecrets calls f with the path (mapping keys and, for sequences, the
// id or index of the entry) and value of every secret key. Devices are
// addressed by id rather than position so a reordered list keeps secrets.
func walkSecrets(n *yaml.Node, path []string, f func(path []string, v *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkSecrets(c, path, f)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := append(append([]string(nil), path...), k.Value)
			if secretKey.MatchString(k.Value) {
				f(p, v)
				continue
			}
			walkSecrets(v, p, f)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkSecrets(c, append(append([]string(nil), path...), entryKey(c, i)), f)
		}
	}
}

// entryKey names a sequence entry by its id: key when it has one.
func entryKey(n *yaml.Node, i int) string {
	if n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "id" {
				return "id=" + n.Content[j+1].Value
			}
		}
	}
	return fmt.Sprint(i)
}

func encode(doc *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	enc.Close()
	return b.Bytes(), nil
}
