package konnektorsim

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// Schemas of the gematik api-telematik package, and the SOAP envelope
// wrapper that validates a Body's content strictly against them.
const (
	envelopeXSD = "../testdata/soap-envelope.xsd"
	sdsXSD      = "../testdata/third_party/api-telematik/conn/ServiceDirectory.xsd"
)

// xmllint validates files against a schema with Debian's xmllint
// (libxml2-utils) and returns its report per file.
func xmllint(t *testing.T, schema string, files []string) (string, error) {
	t.Helper()
	testpeer.SkipShort(t, "libxml2-utils (xmllint)")
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found: install the Debian package libxml2-utils (it is in the Makefile's TEST_PEERS)")
	}
	args := append([]string{"--nonet", "--noout", "--schema", schema}, files...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// TestAnswersValidate checks every kind of answer the simulator gives, in
// every scripted state, against the XSDs: the simulator cannot drift from
// the specification without this test failing.
func TestAnswersValidate(t *testing.T) {
	pki := testpeer.NewTestPKI(t)
	s, err := Start(Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	caFiles[s] = pki.CAFile
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	var soap, sds []string
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	snapshot := func(state string) {
		soap = append(soap,
			write(state+"-resource.xml", s.ResourceInformation()),
			write(state+"-terminals.xml", s.CardTerminals()))
		for _, f := range []string{"", "SM-B", "HBAx", "SMC-KT", "EGK"} {
			soap = append(soap, write(state+"-cards-"+f+".xml", s.Cards(f)))
		}
		sds = append(sds, write(state+".sds", s.SDS("192.168.1.10:443")))
	}
	snapshot("empty")
	s.Practice(now)
	snapshot("practice")
	steps := []struct {
		name string
		do   func()
	}{
		{"vpn-down", func() { s.SetVPN(false, false); s.SetSISMode(true) }},
		{"tsl-expiring", func() { s.SetError("EC_TSL_Expiring", true) }},
		{"card-expiring", func() { s.SetCardExpiry("80276883110000118001", now.AddDate(0, 0, 10)) }},
		{"terminal-gone", func() { s.SetTerminalConnected("CT_ID_0178", false, true) }},
		{"vendor-state", func() { s.SetError("EC_OTHER_ERROR_STATE(2)", true) }},
		{"never-connected", func() {
			s.mu.Lock()
			s.terms = append(s.terms, Terminal{CtID: "CT_ID_0000", Name: "ORGA6100-014000000179AD", IP: "10.200.149.152", MAC: "00-0D-F8-07-2C-67", NeverConnected: true})
			s.mu.Unlock()
		}},
		{"fatal", func() { s.SetFatal(true) }},
	}
	for _, st := range steps {
		st.do()
		snapshot(st.name)
	}
	for _, code := range []string{"4000", "4002", "4010", "4011", "4014", "4021"} {
		soap = append(soap, write("fault-"+code+".xml", Fault(code, "Fehler <"+code+"> & mehr", "Detail "+code, now)))
	}
	soap = append(soap, write("fault-nodetail.xml", Fault("4021", "Aufrufkontext ungueltig", "", now)))

	// The same answers as the HTTP server sends them, faults included.
	soap = append(soap, write("http-fault-4021.xml", httpAnswer(t, s, "GetCards", "Unbekannt")))
	soap = append(soap, write("http-fault-4002.xml", httpAnswer(t, s, "GetCards", "Mandant1")))
	s.SetFatal(false)
	soap = append(soap, write("http-cards.xml", httpAnswer(t, s, "GetCards", "Mandant1")))

	for _, c := range []struct {
		schema string
		files  []string
	}{{envelopeXSD, soap}, {sdsXSD, sds}} {
		out, err := xmllint(t, c.schema, c.files)
		if err != nil {
			t.Errorf("simulator answers do not validate against %s: %v\n%s", c.schema, err, out)
		}
		if n := strings.Count(out, " validates"); n != len(c.files) {
			t.Errorf("%d of %d files validated:\n%s", n, len(c.files), out)
		}
	}
}

// TestBrokenAnswersFail proves the check can fail: the malformed-XML
// state and an answer with a wrong value are rejected.
func TestBrokenAnswersFail(t *testing.T) {
	pki := testpeer.NewTestPKI(t)
	s, err := Start(Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	caFiles[s] = pki.CAFile
	s.Practice(time.Now())
	dir := t.TempDir()
	s.SetMalformed("GetCards", true)
	broken := httpAnswer(t, s, "GetCards", "Mandant1")
	wrong := bytes.Replace(s.ResourceInformation(), []byte("<ns2:Value>false</ns2:Value>"), []byte("<ns2:Value>vielleicht</ns2:Value>"), 1)
	for name, b := range map[string][]byte{"malformed.xml": broken, "wrong.xml": wrong} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		if out, err := xmllint(t, envelopeXSD, []string{p}); err == nil {
			t.Errorf("%s validated:\n%s", name, out)
		}
	}
}

// httpAnswer posts a GetCards request for the SM-B filter with the given
// Mandant over HTTPS and returns the body.
func httpAnswer(t *testing.T, s *Sim, op, mandant string) []byte {
	t.Helper()
	req := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`+
		`<EVT:%s mandant-wide="true" xmlns:EVT="http://ws.gematik.de/conn/EventService/v7.2" xmlns:CCTX="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:CONN="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:CARDCMN="http://ws.gematik.de/conn/CardServiceCommon/v2.0">`+
		`<CCTX:Context><CONN:MandantId>%s</CONN:MandantId><CONN:ClientSystemId>praxisgate</CONN:ClientSystemId><CONN:WorkplaceId>Monitoring</CONN:WorkplaceId></CCTX:Context>`+
		`<CARDCMN:CardType>SM-B</CARDCMN:CardType></EVT:%s></soap:Body></soap:Envelope>`, op, mandant, op)
	return post(t, s, req)
}
