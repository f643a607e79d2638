package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// getBundle serves a zip a technician can mail to the provider's support:
// state, devices, alarms, the config with every secret replaced, recent
// log lines and the audit log. Key files and secret files are never
// included, only their paths. It changes nothing, so it may be a GET.
func (s *Server) getBundle(w http.ResponseWriter, r *request) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	now := s.now()
	add := func(name string, data []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	}
	addJSON := func(name string, v any) error {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		return add(name, data)
	}
	var err error
	check := func(e error) {
		if err == nil {
			err = e
		}
	}
	check(addJSON("status.json", s.be.Status()))
	check(addJSON("devices.json", s.be.Devices()))
	check(addJSON("alarms.json", s.be.Alarms()))
	check(addJSON("audit.json", s.audit.entries()))
	if s.logs != nil {
		check(add("log.txt", []byte(strings.Join(s.logs(), "\n")+"\n")))
	}
	if path := s.be.Config().Path; path != "" {
		data, rerr := os.ReadFile(path)
		if rerr == nil {
			data, rerr = redactConfig(data)
		}
		if rerr != nil {
			check(add("config-error.txt", []byte(rerr.Error())))
		} else {
			check(add("praxisgate.yaml", data))
		}
	}
	check(zw.Close())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	s.log.Info("web: support bundle downloaded", "user", r.sess.user, "bytes", buf.Len())
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="praxisgate-support-%s.zip"`, now.UTC().Format("20060102-150405")))
	w.Write(buf.Bytes())
}

const redacted = "[redacted]"

// isSecretKey names the config keys whose values are secrets (uplink and
// driver passwords, SNMP communities and passphrases, tokens). The *_file
// variants hold paths and stay.
func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	if strings.HasSuffix(k, "_file") {
		return false
	}
	for _, w := range []string{"password", "passphrase", "community", "secret", "token", "psk", "auth_pass", "priv_pass"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// redactConfig replaces the value of every secret key, at any depth.
func redactConfig(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse config for the bundle: %w", err)
	}
	redactNode(&doc, 0)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	enc.Close()
	return buf.Bytes(), nil
}

func redactNode(n *yaml.Node, depth int) {
	if n == nil || depth > 64 {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isSecretKey(n.Content[i].Value) {
				n.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: redacted}
				continue
			}
			redactNode(n.Content[i+1], depth+1)
		}
		return
	}
	for _, c := range n.Content {
		redactNode(c, depth+1)
	}
}
