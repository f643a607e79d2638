package konnektorsim

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// post sends a SOAP request to the simulator's EventService over HTTPS,
// trusting only the test CA.
func post(t *testing.T, s *Sim, body string) []byte {
	return postCA(t, s, caFiles[s], body)
}

// caFiles remembers each test simulator's CA.
var caFiles = map[*Sim]string{}

func postCA(t *testing.T, s *Sim, ca, body string) []byte {
	t.Helper()
	resp, err := client(t, ca).Post(s.URL()+s.opts.Vendor.eventPath(), "text/xml; charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func client(t *testing.T, ca string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestFaultStatus: faults come with HTTP 500 as the WS-I Basic Profile
// wants, and an unknown call context gives 4021.
func TestFaultStatus(t *testing.T) {
	pki := testpeer.NewTestPKI(t)
	s, err := Start(Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><EVT:GetCardTerminals xmlns:EVT="http://ws.gematik.de/conn/EventService/v7.2" xmlns:CCTX="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:CONN="http://ws.gematik.de/conn/ConnectorCommon/v5.0"><CCTX:Context><CONN:MandantId>X</CONN:MandantId><CONN:ClientSystemId>praxisgate</CONN:ClientSystemId><CONN:WorkplaceId>Monitoring</CONN:WorkplaceId></CCTX:Context></EVT:GetCardTerminals></soap:Body></soap:Envelope>`
	resp, err := client(t, pki.CAFile).Post(s.URL()+"/service/systeminformationservice", "text/xml", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), "<GERROR:Code>4021</GERROR:Code>") {
		t.Errorf("unknown context: HTTP %d\n%s", resp.StatusCode, b)
	}
}
