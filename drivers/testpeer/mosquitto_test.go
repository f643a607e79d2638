package testpeer

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// connect tries one MQTT CONNECT with paho and returns its error.
func connect(t *testing.T, url, user, pass string, tlsCfg *tls.Config) error {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("testpeer-" + strconv.Itoa(int(time.Now().UnixNano()%1e6))).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetUsername(user).SetPassword(pass)
	if tlsCfg != nil {
		o.SetTLSConfig(tlsCfg)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect did not finish in 10s")
	}
	if tok.Error() == nil {
		c.Disconnect(50)
	}
	return tok.Error()
}

func TestMosquittoPlainStopRestart(t *testing.T) {
	m := StartMosquitto(t, MosquittoOptions{})
	if err := connect(t, m.URL(), "", "", nil); err != nil {
		t.Fatalf("connect to fresh broker: %v", err)
	}
	m.Stop()
	if m.Running() {
		t.Fatal("broker still running after Stop")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.Port), time.Second); err == nil {
		c.Close()
		t.Fatal("port still accepts after Stop")
	}
	port := m.Port
	m.Restart()
	if m.Port != port {
		t.Fatalf("restart moved the port from %d to %d", port, m.Port)
	}
	if err := connect(t, m.URL(), "", "", nil); err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
}

func TestMosquittoPasswords(t *testing.T) {
	m := StartMosquitto(t, MosquittoOptions{Users: map[string]string{"gw": "s3cret"}})
	tests := []struct {
		name, user, pass string
		ok               bool
	}{
		{"right password", "gw", "s3cret", true},
		{"wrong password", "gw", "nope", false},
		{"anonymous", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := connect(t, m.URL(), tc.user, tc.pass, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("connect as %q: err=%v, want ok=%v", tc.user, err, tc.ok)
			}
		})
	}
}

func TestMosquittoMutualTLS(t *testing.T) {
	pki := NewTestPKI(t)
	other := NewTestPKI(t)
	m := StartMosquitto(t, MosquittoOptions{TLS: pki.Server(), RequireCertificate: true})
	pool := func(p *TestPKI) *x509.CertPool {
		b, err := os.ReadFile(p.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		cp := x509.NewCertPool()
		if !cp.AppendCertsFromPEM(b) {
			t.Fatal("CA file holds no certificate")
		}
		return cp
	}
	cert := func(p *TestPKI) []tls.Certificate {
		c, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	tests := []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"client certificate from the CA", &tls.Config{RootCAs: pool(pki), Certificates: cert(pki), ServerName: "127.0.0.1"}, true},
		{"no client certificate", &tls.Config{RootCAs: pool(pki), ServerName: "127.0.0.1"}, false},
		{"client certificate from another CA", &tls.Config{RootCAs: pool(pki), Certificates: cert(other), ServerName: "127.0.0.1"}, false},
		{"server not trusted", &tls.Config{RootCAs: pool(other), Certificates: cert(pki), ServerName: "127.0.0.1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := connect(t, m.TLSURL(), "", "", tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("connect: err=%v, want ok=%v", err, tc.ok)
			}
		})
	}
}
