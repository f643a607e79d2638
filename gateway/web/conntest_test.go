package web

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// setBroker rewrites the test config's uplink section.
func (e *env) setUplink(lines string) {
	e.t.Helper()
	data, _ := os.ReadFile(e.cfgPath)
	data = bytes.Replace(data, []byte("uplink:\n  broker: \"tcp://127.0.0.1:1883\"\n"), []byte("uplink:\n"+lines), 1)
	if err := os.WriteFile(e.cfgPath, data, 0o640); err != nil {
		e.t.Fatal(err)
	}
}

// deadDNS is a resolver whose server is a closed loopback port: lookups of
// names outside /etc/hosts fail as they do when the practice's DNS is
// down.
func deadDNS(t *testing.T) *net.Resolver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestConnectionTest(t *testing.T) {
	pki := testpeer.NewTestPKI(t)
	other := testpeer.NewTestPKI(t)
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{TLS: pki.Server(), Users: map[string]string{"gw": "richtig"}})
	mtls := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{TLS: pki.Server(), RequireCertificate: true})
	closed, _ := testpeer.FreePort()

	pwFile := func(pw string) string {
		f := t.TempDir() + "/pw"
		os.WriteFile(f, []byte(pw), 0o600)
		return f
	}
	tests := []struct {
		name   string
		uplink string
		// failed is the step that must fail ("" = all pass); passed are
		// steps that must have passed before it.
		failed string
		passed []string
		detail string
	}{
		{"all good, plain", "  broker: \"" + m.URL() + "\"\n  username: gw\n  password_file: " + pwFile("richtig") + "\n",
			"", []string{"tcp", "auth"}, "accepted"},
		{"all good, TLS via DNS name", "  broker: \"tls://localhost:" + itoa(m.TLSPort) + "\"\n  ca_file: " + pki.CAFile + "\n  username: gw\n  password_file: " + pwFile("richtig") + "\n",
			"", []string{"dns", "tcp", "tls", "auth"}, "accepted"},
		{"wrong password", "  broker: \"" + m.URL() + "\"\n  username: gw\n  password_file: " + pwFile("falsch") + "\n",
			"auth", []string{"tcp"}, "not authorized"},
		{"no such host", "  broker: \"tcp://broker.praxis-test.example:1883\"\n", "dns", nil, ""},
		{"nothing listens", "  broker: \"tcp://127.0.0.1:" + itoa(closed) + "\"\n", "tcp", nil, "refused"},
		{"unknown CA", "  broker: \"tls://127.0.0.1:" + itoa(m.TLSPort) + "\"\n  ca_file: " + other.CAFile + "\n  username: gw\n  password_file: " + pwFile("richtig") + "\n",
			"tls", []string{"tcp"}, "certificate"},
		{"client certificate missing", "  broker: \"tls://127.0.0.1:" + itoa(mtls.TLSPort) + "\"\n  ca_file: " + pki.CAFile + "\n",
			"tls", []string{"tcp"}, "certificate"},
		{"client certificate accepted", "  broker: \"tls://127.0.0.1:" + itoa(mtls.TLSPort) + "\"\n  ca_file: " + pki.CAFile + "\n  cert_file: " + pki.ClientCert + "\n  key_file: " + pki.ClientKey + "\n",
			"", []string{"tcp", "tls", "auth"}, "accepted"},
		{"not MQTT", "  broker: \"tls://127.0.0.1:" + itoa(m.Port) + "\"\n  ca_file: " + pki.CAFile + "\n", "tls", []string{"tcp"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.resolver = deadDNS(t)
			e.setUplink(tt.uplink)
			e.login()
			resp, body := e.post("/settings/test", nil)
			wantStatus(t, resp, http.StatusOK, body)
			for _, p := range tt.passed {
				if !strings.Contains(body, `class="ok" data-step="`+p+`"`) {
					t.Errorf("step %s did not pass", p)
				}
			}
			if tt.failed == "" {
				if !strings.Contains(body, "Verbindung erfolgreich") || strings.Contains(body, `class="bad" data-step`) {
					t.Errorf("test did not succeed:\n%s", section(body))
				}
			} else if !strings.Contains(body, `class="bad" data-step="`+tt.failed+`"`) {
				t.Errorf("step %s did not fail:\n%s", tt.failed, section(body))
			}
			if tt.detail != "" && !strings.Contains(body, tt.detail) {
				t.Errorf("no %q in:\n%s", tt.detail, section(body))
			}
		})
	}
}

func section(body string) string {
	i := strings.Index(body, `id="test"`)
	j := strings.Index(body, `id="certs"`)
	if i < 0 || j < i {
		return body
	}
	return body[i:j]
}

func itoa(n int) string { return strconv.Itoa(n) }
