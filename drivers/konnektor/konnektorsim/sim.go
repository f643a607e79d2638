// Package konnektorsim is a TI Konnektor simulator for tests: it serves
// connector.sds and the EventService 7.2 operations GetResourceInformation,
// GetCardTerminals and GetCards over HTTPS, with Basic or client
// certificate authentication, and can be put into the states a practice
// meets (VPN down, trust list expiring, card expiring, terminal gone, a
// fatal operating state, slow answers, SOAP faults with gematik error
// codes, malformed XML).
//
// It is written from the gematik schemas (api-telematik OPB5) and
// gemSpec_Kon, independently of the driver's parser: it writes its XML by
// hand with vendor-style prefixes, and its tests validate every answer
// against the XSDs with xmllint.
package konnektorsim

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Card is a card in one of the simulated terminals.
type Card struct {
	Handle   string
	Type     string // EGK, HBA, HBA-qSig, SMC-B, HSM-B, SMC-KT...
	Iccsn    string // 20 digits
	CtID     string
	Slot     int
	Holder   string
	Expires  time.Time // zero: no CertificateExpirationDate
	Inserted time.Time
}

// Terminal is a card terminal known to the connector.
type Terminal struct {
	CtID      string
	Name      string
	IP        string
	MAC       string
	Connected bool
	// NeverConnected reports the empty product data and 1970 date a
	// real connector gives for a terminal it has never reached.
	NeverConnected bool
}

// Context is a call context the simulated connector knows.
type Context struct{ Mandant, ClientSystem, Workplace string }

// Vendor selects the endpoint paths and quirks of a connector make.
type Vendor string

// The vendor profiles, with the EventService paths real connectors use.
const (
	KoCoBox Vendor = "kocobox" // /service/systeminformationservice
	Secunet Vendor = "secunet" // /ws/EventService
	RISE    Vendor = "rise"    // /webservices/eventservice
)

func (v Vendor) eventPath() string {
	switch v {
	case Secunet:
		return "/ws/EventService"
	case RISE:
		return "/webservices/eventservice"
	}
	return "/service/systeminformationservice"
}

// Options configure a simulator.
type Options struct {
	// CertFile/KeyFile are the server's TLS certificate and key (PEM).
	CertFile, KeyFile string
	// Auth is none, basic or certificate.
	Auth string
	// Username/Password for basic.
	Username, Password string
	// ClientCAFile verifies client certificates for certificate auth.
	ClientCAFile string
	Vendor       Vendor
	// Contexts are the call contexts the connector knows; others get
	// fault 4021. Empty: Mandant1/praxisgate/Monitoring.
	Contexts []Context
	// Addr to listen on; default 127.0.0.1:0.
	Addr string
}

// Sim is a running simulated connector.
type Sim struct {
	opts Options
	ln   net.Listener
	srv  *http.Server

	mu          sync.Mutex
	vpnTI       bool
	vpnSIS      bool
	sisMode     bool // ANLW_INTERNET_MODUS=SIS: only then is a down SIS VPN an error
	errs        map[string]bool
	terms       []Terminal
	cards       []Card
	delay       time.Duration
	faults      map[string]string // operation -> gematik code
	malformed   map[string]bool
	fatal       bool
	requests    map[string]int
	patientSent int
}

// Start listens and serves until Close.
func Start(o Options) (*Sim, error) {
	if o.Auth == "" {
		o.Auth = "none"
	}
	if o.Vendor == "" {
		o.Vendor = KoCoBox
	}
	if len(o.Contexts) == 0 {
		o.Contexts = []Context{{"Mandant1", "praxisgate", "Monitoring"}}
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("konnektorsim: server certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch o.Auth {
	case "none":
	case "basic":
		if o.Username == "" || o.Password == "" {
			return nil, errors.New("konnektorsim: basic auth needs Username and Password")
		}
	case "certificate":
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("konnektorsim: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("konnektorsim: client CA: no certificate")
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("konnektorsim: unknown auth %q", o.Auth)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("konnektorsim: listen: %w", err)
	}
	s := &Sim{opts: o, ln: ln, vpnTI: true, vpnSIS: false, errs: map[string]bool{},
		faults: map[string]string{}, malformed: map[string]bool{}, requests: map[string]int{}}
	// Handshake failures are part of the tests (wrong client
	// certificate); they are not worth a line on stderr.
	s.srv = &http.Server{Handler: s, TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go s.srv.ServeTLS(ln, "", "")
	return s, nil
}

// URL is the connector's base address (https://127.0.0.1:port).
func (s *Sim) URL() string { return "https://" + s.ln.Addr().String() }

// Close stops the server.
func (s *Sim) Close() error { return s.srv.Close() }

// Practice fills the simulator with a typical practice: 3 terminals and
// 5 cards (2 SMC-B... see below), all well, plus an eGK that a monitoring
// client must never get to see.
func (s *Sim) Practice(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	day := func(d int) time.Time { return now.AddDate(0, 0, d) }
	s.terms = []Terminal{
		{CtID: "CT_ID_0176", Name: "ORGA6100-0241000000B692", IP: "10.200.149.235", MAC: "00-0D-F8-0C-86-52", Connected: true},
		{CtID: "CT_ID_0177", Name: "ORGA6100-0241000000B693", IP: "10.200.149.236", MAC: "00-0D-F8-0C-86-53", Connected: true},
		{CtID: "CT_ID_0178", Name: "CHERRY-ST1506-0001", IP: "10.200.149.237", MAC: "00-0D-F8-0C-86-54", Connected: true},
	}
	s.cards = []Card{
		{Handle: "SMCB-1", Type: "SMC-B", Iccsn: "80276883110000118001", CtID: "CT_ID_0176", Slot: 1, Holder: "Praxis Dr. Beispiel", Expires: day(700)},
		{Handle: "HBA-1", Type: "HBA", Iccsn: "80276883110000118002", CtID: "CT_ID_0176", Slot: 2, Holder: "Dr. Erika Beispiel", Expires: day(900)},
		{Handle: "SMCKT-1", Type: "SMC-KT", Iccsn: "80276003550000465863", CtID: "CT_ID_0176", Slot: 4, Holder: "80276003550000465863", Expires: day(500)},
		{Handle: "SMCKT-2", Type: "SMC-KT", Iccsn: "80276003550000465864", CtID: "CT_ID_0177", Slot: 4, Holder: "80276003550000465864", Expires: day(520)},
		{Handle: "SMCKT-3", Type: "SMC-KT", Iccsn: "80276003550000465865", CtID: "CT_ID_0178", Slot: 4, Holder: "80276003550000465865", Expires: day(540)},
		{Handle: "EGK-71", Type: "EGK", Iccsn: "80276883110000095999", CtID: "CT_ID_0177", Slot: 1, Holder: "Max Patient", Expires: day(1000)},
	}
	for i := range s.cards {
		s.cards[i].Inserted = now.Add(-time.Hour)
	}
}

// SetVPN sets the TI and SIS tunnels online or offline.
func (s *Sim) SetVPN(ti, sis bool) {
	s.mu.Lock()
	s.vpnTI, s.vpnSIS = ti, sis
	s.mu.Unlock()
}

// SetSISMode says whether the connector uses the Secure Internet Service;
// only then is a down SIS tunnel an error state.
func (s *Sim) SetSISMode(on bool) { s.mu.Lock(); s.sisMode = on; s.mu.Unlock() }

// SetError sets an operational error state, e.g. "EC_TSL_Expiring" or
// "EC_CardTerminal_gSMC-KT_Certificate_Expires_Soon(CT_ID_0176)".
func (s *Sim) SetError(condition string, on bool) {
	s.mu.Lock()
	s.errs[condition] = on
	s.mu.Unlock()
}

// SetFatal puts the connector into a fatal state (software integrity
// check failed): card and terminal operations then fail with 4002.
func (s *Sim) SetFatal(on bool) {
	s.mu.Lock()
	s.fatal = on
	s.errs["EC_Software_Integrity_Check_Failed"] = on
	s.mu.Unlock()
}

// SetCardExpiry changes when a card's certificate expires.
func (s *Sim) SetCardExpiry(iccsn string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.cards {
		if s.cards[i].Iccsn == iccsn {
			s.cards[i].Expires = t
			return nil
		}
	}
	return fmt.Errorf("konnektorsim: no card %s", iccsn)
}

// SetTerminalConnected connects or disconnects a terminal ("terminal
// gone"); a disconnected one is also reported as
// EC_CardTerminal_Not_Available(ctId) when report is true, as the
// connector does for terminals marked active.
func (s *Sim) SetTerminalConnected(ctID string, connected, report bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.terms {
		if s.terms[i].CtID == ctID {
			s.terms[i].Connected = connected
			s.errs["EC_CardTerminal_Not_Available("+ctID+")"] = !connected && report
			return nil
		}
	}
	return fmt.Errorf("konnektorsim: no terminal %s", ctID)
}

// SetDelay makes every answer wait d first.
func (s *Sim) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// SetFault makes an operation ("GetCards", ...) answer with a SOAP fault
// carrying the gematik code; "" removes it.
func (s *Sim) SetFault(op, code string) { s.mu.Lock(); s.faults[op] = code; s.mu.Unlock() }

// SetMalformed makes an operation (or "connector.sds") answer with
// broken XML.
func (s *Sim) SetMalformed(op string, on bool) { s.mu.Lock(); s.malformed[op] = on; s.mu.Unlock() }

// Requests returns how often each operation was called.
func (s *Sim) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// PatientCardsServed counts eGK/KVK entries the simulator has sent.
func (s *Sim) PatientCardsServed() int { s.mu.Lock(); defer s.mu.Unlock(); return s.patientSent }

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Auth == "basic" {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.opts.Username)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(s.opts.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Konnektor"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/connector.sds":
		s.count("connector.sds")
		w.Header().Set("Content-Type", "application/xml")
		w.Write(s.SDS(r.Host))
	case r.Method == http.MethodPost && r.URL.Path == s.opts.Vendor.eventPath():
		s.event(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Sim) count(op string) {
	s.mu.Lock()
	s.requests[op]++
	s.mu.Unlock()
}

// soapRequest is what the simulator reads from a request body.
type soapRequest struct {
	Body struct {
		Op struct {
			XMLName     xml.Name
			MandantWide string `xml:"mandant-wide,attr"`
			Context     struct {
				Mandant   string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 MandantId"`
				Client    string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 ClientSystemId"`
				Workplace string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 WorkplaceId"`
			} `xml:"http://ws.gematik.de/conn/ConnectorContext/v2.0 Context"`
			CardType string `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 CardType"`
			CtID     string `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 CtId"`
			Iccsn    string `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 Iccsn"`
		} `xml:",any"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

const nsEVT = "http://ws.gematik.de/conn/EventService/v7.2"

func (s *Sim) event(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var req soapRequest
	if err := xml.Unmarshal(body, &req); err != nil || req.Body.Op.XMLName.Space != nsEVT {
		s.fault(w, "4000", "Syntaxfehler", "the request is not an EventService 7.2 SOAP call")
		return
	}
	op := req.Body.Op.XMLName.Local
	s.count(op)
	if a := r.Header.Get("SOAPAction"); a != "" && strings.Trim(a, `"`) != nsEVT+"#"+op {
		s.fault(w, "4000", "Syntaxfehler", "SOAPAction does not match the operation")
		return
	}
	known := false
	cc := req.Body.Op.Context
	for _, c := range s.opts.Contexts {
		if c.Mandant == cc.Mandant && c.ClientSystem == cc.Client && c.Workplace == cc.Workplace {
			known = true
		}
	}
	if !known {
		s.fault(w, "4021", "Aufrufkontext ungueltig", "")
		return
	}
	s.mu.Lock()
	code, malformed, fatal := s.faults[op], s.malformed[op], s.fatal
	s.mu.Unlock()
	if code != "" {
		s.fault(w, code, "Fehler "+code, "")
		return
	}
	if fatal && op != "GetResourceInformation" {
		s.fault(w, "4002", "Konnektor befindet sich in kritischem Betriebszustand", "")
		return
	}
	var out []byte
	switch op {
	case "GetResourceInformation":
		if req.Body.Op.CtID != "" || req.Body.Op.Iccsn != "" {
			s.fault(w, "4000", "Syntaxfehler", "the simulator answers for the connector only")
			return
		}
		out = s.ResourceInformation()
	case "GetCardTerminals":
		out = s.CardTerminals()
	case "GetCards":
		out = s.Cards(req.Body.Op.CardType)
	default:
		s.fault(w, "4000", "Syntaxfehler", "operation not simulated: "+op)
		return
	}
	if malformed {
		out = out[:len(out)*2/3]
	}
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.Write(out)
}

// fault answers a SOAP 1.1 fault with a GERROR:Error detail, HTTP 500.
func (s *Sim) fault(w http.ResponseWriter, code, text, detail string) {
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(Fault(code, text, detail, time.Now()))
}

// Fault is the SOAP fault body for a gematik error code.
func Fault(code, text, detail string, now time.Time) []byte {
	var b xmlBuf
	b.s(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.s(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>`)
	b.s(`<faultcode>SOAP-ENV:Server</faultcode><faultstring>`)
	b.t(text)
	b.s(`</faultstring><detail><GERROR:Error xmlns:GERROR="http://ws.gematik.de/tel/error/v2.0">`)
	b.s(`<GERROR:MessageID>`)
	b.t(fmt.Sprintf("sim-%d", now.UnixNano()))
	b.s(`</GERROR:MessageID><GERROR:Timestamp>` + now.UTC().Format("2006-01-02T15:04:05.000Z") + `</GERROR:Timestamp>`)
	b.s(`<GERROR:Trace><GERROR:EventID>sim</GERROR:EventID><GERROR:Instance>Konnektor</GERROR:Instance><GERROR:LogReference/>`)
	b.s(`<GERROR:CompType>Konnektor</GERROR:CompType><GERROR:Code>`)
	b.t(code)
	b.s(`</GERROR:Code><GERROR:Severity>Error</GERROR:Severity><GERROR:ErrorType>Technical</GERROR:ErrorType><GERROR:ErrorText>`)
	b.t(text)
	b.s(`</GERROR:ErrorText>`)
	if detail != "" {
		b.s(`<GERROR:Detail Encoding="UTF-8">`)
		b.t(detail)
		b.s(`</GERROR:Detail>`)
	}
	b.s(`</GERROR:Trace></GERROR:Error></detail></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`)
	return b.b
}

type xmlBuf struct{ b []byte }

func (x *xmlBuf) s(v string) { x.b = append(x.b, v...) }

// t appends escaped character data.
func (x *xmlBuf) t(v string) {
	var sb strings.Builder
	xml.EscapeText(&sb, []byte(v))
	x.b = append(x.b, sb.String()...)
}

func (x *xmlBuf) el(name, v string) {
	x.s("<" + name + ">")
	x.t(v)
	x.s("</" + name + ">")
}

// The prefixes a KoCoBox declares on its answers (JAXB style).
const respNS = ` xmlns:ns2="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:ns3="http://ws.gematik.de/tel/error/v2.0"` +
	` xmlns:ns6="http://ws.gematik.de/conn/CardServiceCommon/v2.0" xmlns:ns7="http://ws.gematik.de/conn/CardService/v8.1"` +
	` xmlns:ns9="http://ws.gematik.de/int/version/ProductInformation/v1.1" xmlns:ns10="http://ws.gematik.de/conn/CardTerminalInfo/v8.0"` +
	` xmlns:ns11="http://ws.gematik.de/conn/EventService/v7.2"`

func (x *xmlBuf) open(op string) {
	x.s(`<?xml version="1.0" encoding="UTF-8"?>`)
	x.s(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`)
	x.s(`<ns11:` + op + respNS + `><ns2:Status><ns2:Result>OK</ns2:Result></ns2:Status>`)
}

func (x *xmlBuf) close(op string) { x.s(`</ns11:` + op + `></soap:Body></soap:Envelope>`) }

// spec lists the operational error states of gemSpec_Kon TAB_KON_503
// with type and severity; per-terminal ones are listed once per terminal.
var spec = []struct{ name, typ, sev string }{
	{"EC_No_VPN_TI_Connection", "Operation", "Error"},
	{"EC_No_VPN_SIS_Connection", "Operation", "Error"},
	{"EC_No_Online_Connection", "Operation", "Error"},
	{"EC_IP_Adresses_Not_Available", "Security", "Error"},
	{"EC_CardTerminal_Not_Available", "Operation", "Error"},
	{"EC_CardTerminal_Software_Out_Of_Date", "Operation", "Info"},
	{"EC_CardTerminal_gSMC-KT_Certificate_Expires_Soon", "Operation", "Info"},
	{"EC_Connector_Software_Out_Of_Date", "Operation", "Info"},
	{"EC_FW_Update_Available", "Operation", "Info"},
	{"EC_FW_Not_Valid_Status_Blocked", "Security", "Fatal"},
	{"EC_Time_Sync_Not_Successful", "Operation", "Info"},
	{"EC_TSL_Update_Not_Successful", "Operation", "Info"},
	{"EC_TSL_Expiring", "Security", "Info"},
	{"EC_BNetzA_VL_Update_Not_Successful", "Operation", "Info"},
	{"EC_BNetzA_VL_not_valid", "Security", "Warning"},
	{"EC_TSL_Trust_Anchor_Expiring", "Security", "Info"},
	{"EC_LOG_OVERFLOW", "Operation", "Warning"},
	{"EC_CRL_Expiring", "Security", "Warning"},
	{"EC_Time_Sync_Pending_Warning", "Security", "Warning"},
	{"EC_TSL_Out_Of_Date_Within_Grace_Period", "Security", "Warning"},
	{"EC_CRL_Out_Of_Date", "Security", "Fatal"},
	{"EC_Firewall_Not_Reliable", "Security", "Fatal"},
	{"EC_Random_Generator_Not_Reliable", "Security", "Fatal"},
	{"EC_Secure_KeyStore_Not_Available", "Security", "Fatal"},
	{"EC_Security_Log_Not_Writable", "Operation", "Fatal"},
	{"EC_Software_Integrity_Check_Failed", "Security", "Fatal"},
	{"EC_Time_Difference_Intolerable", "Security", "Fatal"},
	{"EC_Time_Sync_Pending_Critical", "Security", "Fatal"},
	{"EC_TSL_Trust_Anchor_Out_Of_Date", "Security", "Fatal"},
	{"EC_TSL_Out_Of_Date_Beyond_Grace_Period", "Security", "Fatal"},
	{"EC_CRYPTOPERATION_ALARM", "Security", "Warning"},
	{"EC_NK_Certificate_Expiring", "Security", "Warning"},
	{"EC_NK_Certificate_Expired", "Security", "Fatal"},
	{"EC_TLS_Client_Certificate_Security", "Security", "Info"},
}

var since = time.Date(2026, 1, 5, 6, 30, 35, 884e6, time.UTC)

// ResourceInformation is the GetResourceInformationResponse for the
// connector: VPN states and every error state with its Value.
func (s *Sim) ResourceInformation() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b xmlBuf
	b.open("GetResourceInformationResponse")
	b.s(`<ns2:Connector>`)
	for _, v := range []struct {
		el string
		on bool
	}{{"VPNTIStatus", s.vpnTI}, {"VPNSISStatus", s.vpnSIS}} {
		st := "Offline"
		if v.on {
			st = "Online"
		}
		b.s(`<ns2:` + v.el + `>`)
		b.el("ns2:ConnectionStatus", st)
		b.el("ns2:Timestamp", since.Format("2006-01-02T15:04:05.000Z"))
		b.s(`</ns2:` + v.el + `>`)
	}
	b.s(`<ns2:OperatingState>`)
	listed := map[string]bool{}
	state := func(name, typ, sev string, on bool) {
		listed[name] = true
		b.s(`<ns2:ErrorState>`)
		b.el("ns2:ErrorCondition", name)
		b.el("ns2:Severity", sev)
		b.el("ns2:Type", typ)
		b.el("ns2:Value", fmt.Sprint(on))
		b.el("ns2:ValidFrom", since.Format("2006-01-02T15:04:05.000Z"))
		b.s(`</ns2:ErrorState>`)
	}
	for _, e := range spec {
		switch e.name {
		case "EC_No_VPN_TI_Connection":
			state(e.name, e.typ, e.sev, !s.vpnTI || s.errs[e.name])
		case "EC_No_VPN_SIS_Connection":
			state(e.name, e.typ, e.sev, s.sisMode && !s.vpnSIS || s.errs[e.name])
		case "EC_CardTerminal_Not_Available", "EC_CardTerminal_Software_Out_Of_Date", "EC_CardTerminal_gSMC-KT_Certificate_Expires_Soon":
			for _, t := range s.terms {
				n := e.name + "(" + t.CtID + ")"
				state(n, e.typ, e.sev, s.errs[n])
			}
		default:
			state(e.name, e.typ, e.sev, s.errs[e.name])
		}
	}
	// Conditions set by name that the list above lacks (vendor states).
	var extra []string
	for n, on := range s.errs {
		if on && !listed[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		state(n, "Operation", "Warning", true)
	}
	b.s(`</ns2:OperatingState></ns2:Connector>`)
	b.close("GetResourceInformationResponse")
	return b.b
}

// CardTerminals is the GetCardTerminalsResponse.
func (s *Sim) CardTerminals() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b xmlBuf
	b.open("GetCardTerminalsResponse")
	b.s(`<ns10:CardTerminals>`)
	for _, t := range s.terms {
		b.s(`<ns10:CardTerminal>`)
		if t.NeverConnected {
			productInfo(&b, "1970-01-01T00:00:00.000Z", "", "0.0.0", "", "", "0.0.0", "0.0.0", "", "")
		} else {
			productInfo(&b, since.Format("2006-01-02T15:04:05.000Z"), "KT", "1.5.0", "INGHC", "ORGA6100", "1.2.0", "3.8.2", "", "")
		}
		b.el("ns6:CtId", t.CtID)
		b.s(`<ns2:WorkplaceIds><ns2:WorkplaceId>Monitoring</ns2:WorkplaceId></ns2:WorkplaceIds>`)
		b.el("ns10:Name", t.Name)
		b.el("ns10:MacAddress", t.MAC)
		b.s(`<ns10:IPAddress>`)
		b.el("ns10:IPV4Address", t.IP)
		b.s(`</ns10:IPAddress>`)
		slots := "4"
		if t.NeverConnected {
			slots = "0"
		}
		b.el("ns10:Slots", slots)
		b.el("ns10:IS_PHYSICAL", "true")
		b.el("ns10:Connected", fmt.Sprint(t.Connected))
		b.s(`</ns10:CardTerminal>`)
	}
	b.s(`</ns10:CardTerminals>`)
	b.close("GetCardTerminalsResponse")
	return b.b
}

func productInfo(b *xmlBuf, date, typ, ptv, vendor, code, hw, fw, vendorName, name string) {
	b.s(`<ns9:ProductInformation>`)
	b.el("ns9:InformationDate", date)
	b.s(`<ns9:ProductTypeInformation>`)
	b.el("ns9:ProductType", typ)
	b.el("ns9:ProductTypeVersion", ptv)
	b.s(`</ns9:ProductTypeInformation><ns9:ProductIdentification>`)
	b.el("ns9:ProductVendorID", vendor)
	b.el("ns9:ProductCode", code)
	b.s(`<ns9:ProductVersion><ns9:Local>`)
	b.el("ns9:HWVersion", hw)
	b.el("ns9:FWVersion", fw)
	b.s(`</ns9:Local></ns9:ProductVersion></ns9:ProductIdentification><ns9:ProductMiscellaneous>`)
	b.el("ns9:ProductVendorName", vendorName)
	b.el("ns9:ProductName", name)
	b.s(`</ns9:ProductMiscellaneous></ns9:ProductInformation>`)
}

// matches applies a GetCards CardType filter (HBAx and SM-B are the
// group filters of gemSpec_Kon).
func matches(filter, typ string) bool {
	switch filter {
	case "":
		return true
	case "HBAx":
		return typ == "HBA" || typ == "HBA-qSig"
	case "SM-B":
		return typ == "SMC-B" || typ == "HSM-B"
	}
	return filter == typ
}

// Cards is the GetCardsResponse for a CardType filter ("" = all).
func (s *Sim) Cards(filter string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b xmlBuf
	b.open("GetCardsResponse")
	b.s(`<ns7:Cards>`)
	for _, c := range s.cards {
		if !matches(filter, c.Type) {
			continue
		}
		connected := false
		for _, t := range s.terms {
			if t.CtID == c.CtID {
				connected = t.Connected
			}
		}
		if !connected {
			continue // a card in an unreachable terminal is not known
		}
		if c.Type == "EGK" || c.Type == "KVK" {
			s.patientSent++
		}
		b.s(`<ns7:Card>`)
		b.el("ns2:CardHandle", c.Handle)
		b.el("ns6:CardType", c.Type)
		b.s(`<ns7:CardVersion>`)
		for _, v := range []string{"COSVersion", "ObjectSystemVersion"} {
			b.s(`<ns7:` + v + `><ns7:Major>4</ns7:Major><ns7:Minor>5</ns7:Minor><ns7:Revision>0</ns7:Revision></ns7:` + v + `>`)
		}
		b.s(`</ns7:CardVersion>`)
		b.el("ns6:Iccsn", c.Iccsn)
		b.el("ns6:CtId", c.CtID)
		b.el("ns6:SlotId", fmt.Sprint(c.Slot))
		b.el("ns7:InsertTime", c.Inserted.UTC().Format("2006-01-02T15:04:05.000Z"))
		b.el("ns7:CardHolderName", c.Holder)
		if !c.Expires.IsZero() {
			b.el("ns7:CertificateExpirationDate", c.Expires.Format("2006-01-02"))
		}
		b.s(`</ns7:Card>`)
	}
	b.s(`</ns7:Cards>`)
	b.close("GetCardsResponse")
	return b.b
}

// SDS is connector.sds as the simulated vendor writes it: the WSDL
// namespace in TargetNamespace, only EndpointTLS, host as asked.
func (s *Sim) SDS(host string) []byte {
	s.mu.Lock()
	bad := s.malformed["connector.sds"]
	s.mu.Unlock()
	var b xmlBuf
	b.s(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`)
	b.s(`<ns2:ConnectorServices xmlns="http://ws.gematik.de/int/version/ProductInformation/v1.1" xmlns:ns2="http://ws.gematik.de/conn/ServiceDirectory/v3.1" xmlns:ns3="http://ws.gematik.de/conn/ServiceInformation/v2.0">`)
	b.s(`<ProductInformation>`)
	b.el("InformationDate", since.Format("2006-01-02T15:04:05.000Z"))
	b.s(`<ProductTypeInformation><ProductType>Konnektor</ProductType><ProductTypeVersion>5.1.0</ProductTypeVersion></ProductTypeInformation>`)
	b.s(`<ProductIdentification><ProductVendorID>PGSIM</ProductVendorID><ProductCode>SIMKON</ProductCode>`)
	b.s(`<ProductVersion><Local><HWVersion>1.0.0</HWVersion><FWVersion>5.1.8</FWVersion></Local></ProductVersion></ProductIdentification>`)
	b.s(`<ProductMiscellaneous><ProductVendorName>praxisgate</ProductVendorName><ProductName>Konnektor-Simulator</ProductName></ProductMiscellaneous>`)
	b.s(`</ProductInformation><ns2:TLSMandatory>true</ns2:TLSMandatory><ns2:ClientAutMandatory>`)
	b.s(fmt.Sprint(s.opts.Auth != "none"))
	b.s(`</ns2:ClientAutMandatory><ns3:ServiceInformation>`)
	service := func(name, wsdlNS, path string, versions ...string) {
		b.s(`<ns3:Service Name="` + name + `"><ns3:Abstract>`)
		b.t(name + " (simulated)")
		b.s(`</ns3:Abstract><ns3:Versions>`)
		for _, v := range versions {
			b.s(`<ns3:Version TargetNamespace="` + wsdlNS + `" Version="` + v + `"><ns3:Abstract>`)
			b.t(name + " " + v)
			b.s(`</ns3:Abstract><ns3:EndpointTLS Location="`)
			b.t("https://" + host + path)
			b.s(`"/></ns3:Version>`)
		}
		b.s(`</ns3:Versions></ns3:Service>`)
	}
	service("EventService", "http://ws.gematik.de/conn/EventService/WSDL/v7.2", s.opts.Vendor.eventPath(), "7.2.0", "7.2.1")
	service("CardService", "http://ws.gematik.de/conn/CardService/WSDL/v8.1", "/service/cardservice", "8.1.2")
	service("CertificateService", "http://ws.gematik.de/conn/CertificateService/WSDL/v6.0", "/service/certificateservice", "6.0.1")
	b.s(`</ns3:ServiceInformation></ns2:ConnectorServices>`)
	if bad {
		return b.b[:len(b.b)/2]
	}
	return b.b
}
