package web

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// testCert is a certificate with its key, as PEM.
type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	kpem []byte
}

func makeCert(t *testing.T, cn string, isCA bool, from, until time.Time, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: from, NotAfter: until, BasicConstraintsValid: true, IsCA: isCA}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	return &testCert{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		kpem: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

func (e *env) upload(files map[string][]byte) (*http.Response, string) {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", e.csrf)
	for name, data := range files {
		w, _ := mw.CreateFormFile(name, name+".pem")
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/settings/certs", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.do(req)
}

func TestCertificateUpload(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) // the env's clock
	year := 365 * 24 * time.Hour
	ca := makeCert(t, "Provider CA", true, now.Add(-year), now.Add(5*year), nil)
	otherCA := makeCert(t, "Other CA", true, now.Add(-year), now.Add(5*year), nil)
	client := makeCert(t, "gw-01", false, now.Add(-time.Hour), now.Add(year), ca)
	foreign := makeCert(t, "gw-01", false, now.Add(-time.Hour), now.Add(year), otherCA)
	expired := makeCert(t, "gw-01", false, now.Add(-2*year), now.Add(-year), ca)
	future := makeCert(t, "gw-01", false, now.Add(year), now.Add(2*year), ca)
	expiredCA := makeCert(t, "Old CA", true, now.Add(-3*year), now.Add(-time.Hour), nil)

	bad := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"nothing", map[string][]byte{}, "Keine Datei ausgewählt"},
		{"garbage", map[string][]byte{"ca": []byte("hello")}, "Keine PEM-Daten"},
		{"broken DER", map[string][]byte{"ca": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1, 2, 3}})}, "nicht lesbar"},
		{"expired client", map[string][]byte{"ca": ca.pem, "cert": expired.pem, "key": expired.kpem}, "abgelaufen"},
		{"not yet valid", map[string][]byte{"ca": ca.pem, "cert": future.pem, "key": future.kpem}, "noch nicht gültig"},
		{"expired CA", map[string][]byte{"ca": expiredCA.pem}, "abgelaufen"},
		{"leaf as CA", map[string][]byte{"ca": client.pem}, "kein CA-Zertifikat"},
		{"key mismatch", map[string][]byte{"ca": ca.pem, "cert": client.pem, "key": foreign.kpem}, "gehören nicht zusammen"},
		{"wrong chain", map[string][]byte{"ca": ca.pem, "cert": foreign.pem, "key": foreign.kpem}, "nicht von der CA signiert"},
		{"cert without key", map[string][]byte{"ca": ca.pem, "cert": client.pem}, "zusammen hochgeladen"},
		{"too big", map[string][]byte{"ca": bytes.Repeat([]byte("A"), maxCertBytes+1)}, "zu groß"},
	}
	e := newEnv(t)
	e.login()
	for _, tt := range bad {
		resp, body := e.upload(tt.files)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tt.want) {
			t.Errorf("%s: status %d, want 422 with %q", tt.name, resp.StatusCode, tt.want)
		}
	}
	if data, _ := os.ReadFile(e.cfgPath); string(data) != testConfig {
		t.Fatal("a rejected upload changed the config")
	}

	// The config's broker is tcp://: certificates make sense only with
	// TLS, and the loader says so at the field.
	resp, body := e.upload(map[string][]byte{"ca": ca.pem, "cert": client.pem, "key": client.kpem})
	wantStatus(t, resp, http.StatusUnprocessableEntity, body)
	if !strings.Contains(body, "TLS") {
		t.Fatalf("no TLS hint:\n%s", body)
	}

	data, _ := os.ReadFile(e.cfgPath)
	os.WriteFile(e.cfgPath, bytes.Replace(data, []byte("tcp://127.0.0.1:1883"), []byte("tls://127.0.0.1:8883"), 1), 0o640)
	resp, body = e.upload(map[string][]byte{"ca": ca.pem, "cert": client.pem, "key": client.kpem})
	wantRedirect(t, resp, "/settings")
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		want []byte
		perm os.FileMode
	}{{cfg.Uplink.CAFile, ca.pem, 0o644}, {cfg.Uplink.CertFile, client.pem, 0o644}, {cfg.Uplink.KeyFile, client.kpem, 0o600}} {
		got, err := os.ReadFile(f.path)
		if err != nil || !bytes.Equal(got, f.want) {
			t.Fatalf("%s: %v", f.path, err)
		}
		if st, _ := os.Stat(f.path); st.Mode().Perm() != f.perm {
			t.Errorf("%s mode %v, want %v", f.path, st.Mode().Perm(), f.perm)
		}
	}
	_, body = e.get("/settings")
	if !strings.Contains(body, "Gespeichert. Gilt nach Neustart des Dienstes: Verbindung zum Dienstleister.") || !strings.Contains(body, cfg.Uplink.CAFile) {
		t.Fatalf("settings page after upload:\n%s", body)
	}
	// A later client certificate is checked against the configured CA.
	resp, body = e.upload(map[string][]byte{"cert": foreign.pem, "key": foreign.kpem})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "nicht von der CA signiert") {
		t.Fatalf("foreign client certificate accepted against the configured CA: %d", resp.StatusCode)
	}
}
