package discover

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/konnektor/konnektorsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// TestKonnektorRecognised: a host whose 443 serves a connector's service
// directory (the konnektor simulator on a loopback port) is classified as
// konnektor with its product data and certificate fingerprint, and the
// konnektor driver is suggested; an ordinary HTTPS server is not.
func TestKonnektorRecognised(t *testing.T) {
	pki := testpeer.NewTestPKI(t)
	sim, err := konnektorsim.Start(konnektorsim.Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>router</html>"))
	}))
	defer web.Close()

	for _, c := range []struct {
		name      string
		url       string
		konnektor bool
	}{{"simulator", sim.URL(), true}, {"web server", web.URL, false}} {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(c.url, "https://"))
		p, err := strconv.Atoi(port)
		if err != nil {
			t.Fatal(err)
		}
		e := &enricher{ports: []int{p}, probeTimeout: 5 * time.Second, dial: (&net.Dialer{}).DialContext, parallel: 1,
			konnektor: probeKonnektor, konnektorPort: p}
		got := e.run(context.Background(), obsOf(macA, "127.0.0.1"))[macA]
		if (got.Konnektor != nil) != c.konnektor {
			t.Fatalf("%s: konnektor identity %+v", c.name, got.Konnektor)
		}
		if !c.konnektor {
			continue
		}
		cert, _ := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
		sum := sha256.Sum256(cert.Certificate[0])
		k := got.Konnektor
		if k.VendorID != "PGSIM" || k.Firmware != "5.1.8" || k.PTV != "5.1.0" || k.Fingerprint != colonHex(sum[:]) {
			t.Errorf("identity %+v", k)
		}
		h := Host{MAC: macA, OpenPorts: got.OpenPorts, Konnektor: k}
		kind, reason := classify(&h)
		if kind != KindKonnektor || !strings.Contains(reason, "connector.sds") {
			t.Errorf("classified %s: %s", kind, reason)
		}
		h.Kind = kind
		if d, _, _ := Suggest(h); d != "konnektor" {
			t.Errorf("suggested driver %q", d)
		}
	}
}
