package uplink

import (
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// TestSecurity runs the uplink against brokers with TLS, mTLS and
// passwords: good settings deliver (the buffer empties, which needs
// PUBACKs), bad ones are refused with a telling error and never connect.
func TestSecurity(t *testing.T) {
	pki := testpeer.NewTestPKI(t)
	other := testpeer.NewTestPKI(t)
	const password = "pa55-Geheim-xyz"
	tests := []struct {
		name    string
		broker  testpeer.MosquittoOptions
		tls     bool
		cfg     func(*config.Uplink)
		ok      bool
		errLike string
	}{
		{"TLS verified against the CA file", testpeer.MosquittoOptions{TLS: pki.Server()}, true,
			func(c *config.Uplink) { c.CAFile = pki.CAFile }, true, ""},
		{"mTLS with client certificate", testpeer.MosquittoOptions{TLS: pki.Server(), RequireCertificate: true}, true,
			func(c *config.Uplink) { c.CAFile, c.CertFile, c.KeyFile = pki.CAFile, pki.ClientCert, pki.ClientKey }, true, ""},
		{"mTLS broker refuses a client without certificate", testpeer.MosquittoOptions{TLS: pki.Server(), RequireCertificate: true}, true,
			func(c *config.Uplink) { c.CAFile = pki.CAFile }, false, ""},
		{"broker certificate from another CA is refused", testpeer.MosquittoOptions{TLS: other.Server()}, true,
			func(c *config.Uplink) { c.CAFile = pki.CAFile }, false, "certificate"},
		{"system roots do not trust a private CA", testpeer.MosquittoOptions{TLS: pki.Server()}, true,
			func(c *config.Uplink) {}, false, "certificate"},
		{"insecure_skip_verify accepts any broker", testpeer.MosquittoOptions{TLS: other.Server()}, true,
			func(c *config.Uplink) { c.InsecureSkipVerify = true }, true, ""},
		{"username and password", testpeer.MosquittoOptions{Users: map[string]string{"gw-01": password}}, false,
			func(c *config.Uplink) { c.Username, c.Password = "gw-01", drivers.Secret(password) }, true, ""},
		{"wrong password is refused", testpeer.MosquittoOptions{Users: map[string]string{"gw-01": password + "x"}}, false,
			func(c *config.Uplink) { c.Username, c.Password = "gw-01", drivers.Secret(password) }, false, "not Authorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := testpeer.StartMosquitto(t, tc.broker)
			url := m.URL()
			if tc.tls {
				url = m.TLSURL()
			}
			cfg := testConfig(url)
			tc.cfg(&cfg)
			q := buffer.NewMemory(buffer.Options{})
			appendAll(t, q, []buffer.Record{telemetry(t, "dev-1", 1)})
			r := startUplink(t, cfg, q)
			if tc.ok {
				waitFor(t, 20*time.Second, "the record acknowledged by the broker", func() bool { return q.Stats().Records == 0 })
			} else {
				// Wait for a few failed attempts, not just the first.
				waitFor(t, 20*time.Second, "a refused connection", func() bool { return strings.Contains(r.log.String(), "connect failed again") })
				st := r.Stats()
				if st.Generation != 0 || q.Stats().Records != 1 {
					t.Fatalf("connected although it must be refused: %+v", st)
				}
				if !strings.Contains(st.LastError, tc.errLike) {
					t.Errorf("LastError = %q, want it to mention %q", st.LastError, tc.errLike)
				}
			}
			r.Stop(t)
			if strings.Contains(r.log.String(), password) {
				t.Errorf("the password appears in the log:\n%s", r.log.String())
			}
		})
	}
}
