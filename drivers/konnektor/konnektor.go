// Package konnektor monitors a TI Konnektor, the practice's gateway into
// the gematik Telematikinfrastruktur, with its cards and card terminals:
// VPN state, the operational error states, card certificate expiry and
// terminal reachability. It reads connector.sds and calls three read-only
// EventService operations over HTTPS with a verified server certificate;
// it never asks for patient cards or anything touching patient data.
package konnektor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "konnektor",
		Kind:     "konnektor",
		Doc:      "TI Konnektor: VPN, operating state, SMC-B/HBA/SMC-KT certificate expiry, card terminals",
		Interval: 5 * time.Minute,
		Timeout:  2 * time.Minute,
		Defaults: defaults,
		New:      New,
	})
}

// maxBody caps an answer: the full operating state of a real connector is
// about 15 KB, a service directory 20 KB.
const maxBody = 4 << 20

// cardFilters are the GetCards CardType filters the driver uses: the
// practice's institution cards (SMC-B, HSM-B), professional cards (HBA,
// HBA-qSig) and terminal cards. eGK and KVK are never requested.
var cardFilters = []string{"SM-B", "HBAx", "SMC-KT"}

// Driver polls one connector.
type Driver struct {
	cfg    Config
	log    *slog.Logger
	base   *url.URL
	pin    []byte
	client *http.Client // built on the first Poll (it reads files)
	now    func() time.Time

	// last holds each part's conditions from its last good answer, so a
	// part that fails once keeps its alarms instead of clearing them.
	last map[string][]drivers.Condition
	// lastTerms and lastUnavailable are the terminal list and the
	// connector's unavailable terminals from the last good answers.
	lastTerms       []CardTerminal
	lastUnavailable map[string]bool
}

// New checks the config; it reads no file and opens no connection.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.URL)
	base.Path = ""
	pin, _ := cfg.pin()
	return &Driver{cfg: cfg, log: log, base: base, pin: pin, now: time.Now, last: map[string][]drivers.Condition{}}, nil
}

// tlsConfig builds the TLS settings: the connector's certificate must
// chain to ca_file and/or match the pinned fingerprint.
func (d *Driver) tlsConfig() (*tls.Config, error) {
	var roots *x509.CertPool
	if d.cfg.CAFile != "" {
		pem, err := os.ReadFile(d.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("konnektor: ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("konnektor: ca_file %s: no PEM certificate in it", d.cfg.CAFile)
		}
	}
	pin, serverName := d.pin, d.cfg.ServerName
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The standard check would compare the LAN address with names
		// the TI's certificates do not carry; VerifyConnection below
		// does the real check (chain to ca_file, pin, optional name),
		// so verification is replaced, never skipped.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the connector sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			if pin != nil {
				sum := sha256.Sum256(leaf.Raw)
				if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
					return fmt.Errorf("certificate fingerprint %X does not match the configured fingerprint", sum)
				}
			}
			if roots != nil {
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: serverName,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
				if _, err := leaf.Verify(opts); err != nil {
					return fmt.Errorf("certificate not trusted by ca_file: %w", err)
				}
			}
			return nil
		},
	}
	if d.cfg.Auth == "certificate" {
		cert, err := tls.LoadX509KeyPair(d.cfg.CertFile, d.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("konnektor: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (d *Driver) setup() error {
	if d.client != nil {
		return nil
	}
	tc, err := d.tlsConfig()
	if err != nil {
		return err
	}
	d.client = &http.Client{
		Timeout: d.cfg.Timeout,
		// A redirect could carry the Basic password to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:               nil, // a LAN device, never via a proxy
			TLSClientConfig:     tc,
			MaxIdleConnsPerHost: 1,
			ForceAttemptHTTP2:   false,
		},
	}
	return nil
}

// Poll reads the service directory, the connector's state, its card
// terminals and its cards.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	if err := d.setup(); err != nil {
		return drivers.Sample{}, err
	}
	sdsURL := d.base.JoinPath("connector.sds").String()
	body, err := d.send(ctx, http.MethodGet, sdsURL, "", nil)
	if err != nil {
		return drivers.Sample{}, err
	}
	sd, err := ParseServiceDirectory(body)
	if err != nil {
		return drivers.Sample{}, fmt.Errorf("konnektor: %s: %w: %w", sdsURL, drivers.ErrProtocol, err)
	}
	loc, version, err := sd.EventServiceEndpoint()
	if err != nil {
		return drivers.Sample{}, fmt.Errorf("konnektor: %w: %w", drivers.ErrProtocol, err)
	}
	ep, err := d.endpoint(loc)
	if err != nil {
		return drivers.Sample{}, fmt.Errorf("konnektor: connector.sds: %w: %w", drivers.ErrProtocol, err)
	}
	r := &reading{now: d.now(), warn: d.cfg.CertWarnDays, crit: d.cfg.CertCriticalDays}
	r.product(sd, version)

	cc := CallContext{MandantID: d.cfg.MandantID, ClientSystemID: d.cfg.ClientSystemID, WorkplaceID: d.cfg.WorkplaceID}
	// 1. the connector itself
	d.part(ctx, r, "state", func() error {
		env, err := d.call(ctx, ep, opResourceInformation, request(opResourceInformation, cc, false, ""))
		if err != nil {
			return err
		}
		r.connector(env.Body.Resource.Connector)
		return nil
	})
	// 2. card terminals
	d.part(ctx, r, "terminals", func() error {
		env, err := d.call(ctx, ep, opCardTerminals, request(opCardTerminals, cc, d.cfg.MandantWide, ""))
		if err != nil {
			return err
		}
		r.terminals(env.Body.Terminals.Terminals)
		return nil
	})
	// 3. cards, by type, so no eGK is ever listed
	d.part(ctx, r, "cards", func() error {
		var all []Card
		for _, ct := range cardFilters {
			env, err := d.call(ctx, ep, opCards, request(opCards, cc, d.cfg.MandantWide, ct))
			if err != nil {
				return err
			}
			all = append(all, env.Body.Cards.Cards...)
		}
		r.cards(all)
		return nil
	})
	if err := ctx.Err(); err != nil {
		return drivers.Sample{}, fmt.Errorf("konnektor: %s: %w: %w", d.base.Host, drivers.ErrUnreachable, err)
	}
	if r.unavailable == nil {
		r.unavailable = d.lastUnavailable
	} else {
		d.lastUnavailable = r.unavailable
	}
	if !r.haveTerms {
		r.terms, r.haveTerms = d.lastTerms, d.lastTerms != nil
	} else {
		d.lastTerms = r.terms
	}
	r.finish()
	return drivers.Sample{Metrics: r.metrics, Conditions: r.conds}, nil
}

// part runs one group of calls. On success its conditions are kept as the
// part's last known ones; on failure the last known ones are reported
// again (nothing is known to have changed) with a condition naming the
// failure.
func (d *Driver) part(ctx context.Context, r *reading, name string, fn func() error) {
	start := len(r.conds)
	err := fn()
	if err == nil {
		d.last[name] = append([]drivers.Condition(nil), r.conds[start:]...)
		return
	}
	r.conds = r.conds[:start]
	r.conds = append(r.conds, d.last[name]...)
	if ctx.Err() != nil {
		return // Poll reports the cancellation
	}
	d.log.Warn("konnektor: call failed", "part", name, "err", err)
	r.conds = append(r.conds, drivers.Condition{Name: "konnektor." + name + ".failed", Severity: drivers.Major,
		Message: fmt.Sprintf("Reading the connector's %s failed: %v.", partWords[name], err)})
	var fe *FaultError
	if errors.As(err, &fe) {
		r.metrics = append(r.metrics, drivers.Text("konnektor."+name+".error_code", fe.Code))
	}
}

var partWords = map[string]string{"state": "operating state", "terminals": "card terminals", "cards": "cards"}

// endpoint keeps only the path of an endpoint the service directory
// lists: the host is always the configured one, so a wrong or forged
// directory cannot send the credentials elsewhere.
func (d *Driver) endpoint(loc string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(loc))
	if err != nil || u.Path == "" {
		return "", fmt.Errorf("EventService endpoint %q is not a URL with a path", loc)
	}
	e := *d.base
	e.Path, e.RawPath, e.RawQuery = u.Path, u.RawPath, u.RawQuery
	return e.String(), nil
}

// call POSTs one SOAP request and decodes the answer.
func (d *Driver) call(ctx context.Context, ep, op string, req []byte) (*envelope, error) {
	body, err := d.send(ctx, http.MethodPost, ep, op, req)
	if err != nil && body == nil {
		return nil, err
	}
	env, derr := decode(op, body)
	if derr != nil {
		var fe *FaultError
		if err != nil && !errors.As(derr, &fe) {
			return nil, err // an HTTP error without a SOAP fault: report the status
		}
		return nil, derr
	}
	return env, err
}

// send does one HTTP exchange. A non-200 answer returns its body too
// (SOAP faults come with status 500) along with an error.
func (d *Driver) send(ctx context.Context, method, u, op string, req []byte) ([]byte, error) {
	var rd io.Reader
	if req != nil {
		rd = bytes.NewReader(req)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("konnektor: build request for %s: %w", u, err)
	}
	if req != nil {
		hr.Header.Set("Content-Type", "text/xml; charset=UTF-8")
		hr.Header.Set("SOAPAction", soapAction(op))
	}
	if d.cfg.Auth == "basic" {
		hr.SetBasicAuth(d.cfg.Username, d.cfg.Password.Reveal())
	}
	resp, err := d.client.Do(hr)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("konnektor: %s %s: %w: %w", method, u, drivers.ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("konnektor: read %s: %w: %w", u, drivers.ErrUnreachable, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("konnektor: %s: %w: answer larger than %d bytes", u, drivers.ErrProtocol, maxBody)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("konnektor: %s: %w: HTTP %d: the connector refused the client authentication (check auth and the connector's client-system credentials)", u, drivers.ErrProtocol, resp.StatusCode)
	case resp.StatusCode == http.StatusInternalServerError && req != nil:
		return body, fmt.Errorf("konnektor: %s: %w: HTTP 500", u, drivers.ErrProtocol)
	}
	return nil, fmt.Errorf("konnektor: %s: %w: HTTP %d", u, drivers.ErrProtocol, resp.StatusCode)
}

// Close releases idle connections.
func (d *Driver) Close() error {
	if d.client != nil {
		d.client.CloseIdleConnections()
	}
	return nil
}

// reading collects one poll's metrics and conditions.
type reading struct {
	now        time.Time
	warn, crit int
	metrics    []drivers.Metric
	conds      []drivers.Condition
	// unavailable are the card terminals the connector itself reports
	// unreachable (EC_CardTerminal_Not_Available(ctId)).
	unavailable map[string]bool
	terms       []CardTerminal
	haveTerms   bool
}

func (r *reading) text(name, v string) {
	if v = strings.TrimSpace(v); v != "" {
		r.metrics = append(r.metrics, drivers.Text(name, v))
	}
}

func (r *reading) product(sd *ServiceDirectory, esVersion string) {
	p := sd.Product
	vendor := p.VendorName
	if strings.TrimSpace(vendor) == "" {
		vendor = p.VendorID
	}
	model := p.ProductName
	if strings.TrimSpace(model) == "" {
		model = p.ProductCode
	}
	r.text("device.mfr", vendor)
	r.text("device.model", model)
	r.text("device.firmware", p.FWVersion)
	r.text("device.hardware", p.HWVersion)
	r.text("konnektor.vendor_id", p.VendorID)
	r.text("konnektor.product_type_version", p.ProductTypeVersion)
	r.text("konnektor.event_service", esVersion)
	r.metrics = append(r.metrics,
		drivers.Flag("konnektor.tls_mandatory", sd.TLSMandatory),
		drivers.Flag("konnektor.client_auth_mandatory", sd.ClientAutMandatory))
}

func (r *reading) connector(c *Connector) {
	for _, v := range []struct {
		name string
		s    VPNStatus
	}{{"vpn.ti", c.VPNTI}, {"vpn.sis", c.VPNSIS}} {
		st := strings.TrimSpace(v.s.ConnectionStatus)
		r.text(v.name+".status", st)
		if st == "Online" || st == "Offline" {
			r.metrics = append(r.metrics, drivers.Flag(v.name+".online", st == "Online"))
		}
	}
	var active, fatal int
	r.unavailable = map[string]bool{}
	for _, es := range c.ErrorStates {
		if !es.Value.V {
			continue
		}
		active++
		name, param := splitCondition(es.ErrorCondition)
		sev := conditionSeverity(es)
		if sev == drivers.Critical {
			fatal++
		}
		if name == "EC_CardTerminal_Not_Available" && param != "" {
			r.unavailable[param] = true
		}
		cn := "konnektor." + slug(name)
		if param != "" {
			cn += "." + slug(param)
		}
		meaning := errorConditions[name].Meaning
		if meaning == "" {
			meaning = "a condition this driver does not know"
		}
		msg := fmt.Sprintf("Connector error state %s (%s, %s): %s", strings.TrimSpace(es.ErrorCondition),
			strings.TrimSpace(es.Type), strings.TrimSpace(es.Severity), meaning)
		if param != "" && strings.HasPrefix(name, "EC_CardTerminal") {
			msg += " (card terminal " + param + ")"
		}
		if t, err := parseDateTime(es.ValidFrom); err == nil {
			msg += ", since " + t.UTC().Format("2006-01-02 15:04 UTC")
		}
		r.conds = append(r.conds, drivers.Condition{Name: cn, Severity: sev, Message: msg + ".", ViaInternet: vpnConditions[name]})
	}
	r.metrics = append(r.metrics,
		drivers.Num("konnektor.error_states", float64(len(c.ErrorStates)), ""),
		drivers.Num("konnektor.error_states.active", float64(active), ""),
		drivers.Num("konnektor.error_states.critical", float64(fatal), ""))
}

// terminals records the terminals; their conditions are decided in
// finish, once the connector's own error states are known.
func (r *reading) terminals(ts []CardTerminal) {
	r.terms, r.haveTerms = ts, true
	connected := 0
	for _, t := range ts {
		id := slug(t.CtID)
		p := "terminal." + id
		r.metrics = append(r.metrics, drivers.Flag(p+".connected", t.Connected.V))
		if t.Connected.V {
			connected++
		}
		r.text(p+".name", t.Name)
		ip := t.IPv4
		if strings.TrimSpace(ip) == "" {
			ip = t.IPv6
		}
		r.text(p+".ip", ip)
		r.text(p+".mac", t.MacAddress)
		if t.EverConnected() {
			r.text(p+".model", strings.TrimSpace(t.Product.VendorID+" "+t.Product.ProductCode))
			r.text(p+".firmware", t.Product.FWVersion)
		}
	}
	r.metrics = append(r.metrics,
		drivers.Num("terminals.count", float64(len(ts)), ""),
		drivers.Num("terminals.connected", float64(connected), ""))
}

// cards records each card with the days its certificate has left.
func (r *reading) cards(cs []Card) {
	sort.SliceStable(cs, func(i, j int) bool { return cardKey(cs[i]) < cardKey(cs[j]) })
	y, m, dd := r.now.Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	counts := map[string]int{}
	for _, c := range cs {
		k := cardKey(c)
		if seen[k] {
			continue // a card listed under two filters
		}
		seen[k] = true
		typ := strings.TrimSpace(c.CardType)
		counts[typ]++
		p := "card." + k
		r.text(p+".type", typ)
		r.text(p+".holder", c.CardHolderName)
		r.text(p+".terminal", c.CtID)
		r.text(p+".slot", c.SlotID)
		if c.CertExpiration == "" {
			continue
		}
		exp, err := parseDate(c.CertExpiration) // checked in decode
		if err != nil {
			continue
		}
		days := int(exp.Sub(today).Hours() / 24)
		r.text(p+".cert_expiry", exp.Format("2006-01-02"))
		r.metrics = append(r.metrics, drivers.Num(p+".cert_days", float64(days), "d"))
		what := fmt.Sprintf("%s %s", typ, strings.TrimSpace(c.Iccsn))
		if h := strings.TrimSpace(c.CardHolderName); h != "" && h != strings.TrimSpace(c.Iccsn) {
			what += " (" + h + ")"
		}
		switch {
		case days < 0:
			r.conds = append(r.conds, drivers.Condition{Name: p + ".cert_expired", Severity: drivers.Critical,
				Message: fmt.Sprintf("The certificate of card %s expired on %s.", what, exp.Format("2006-01-02"))})
		case days <= r.crit:
			r.conds = append(r.conds, drivers.Condition{Name: p + ".cert_expiring_soon", Severity: drivers.Major,
				Message: fmt.Sprintf("The certificate of card %s expires in %d days, on %s.", what, days, exp.Format("2006-01-02"))})
		case days <= r.warn:
			r.conds = append(r.conds, drivers.Condition{Name: p + ".cert_expiring", Severity: drivers.Minor,
				Message: fmt.Sprintf("The certificate of card %s expires in %d days, on %s.", what, days, exp.Format("2006-01-02"))})
		}
	}
	r.metrics = append(r.metrics,
		drivers.Num("cards.smc_b", float64(counts["SMC-B"]+counts["HSM-B"]), ""),
		drivers.Num("cards.hba", float64(counts["HBA"]+counts["HBA-qSig"]), ""),
		drivers.Num("cards.smc_kt", float64(counts["SMC-KT"]), ""))
}

// cardKey names a card in metrics: its ICCSN, or its handle.
func cardKey(c Card) string {
	if s := strings.TrimSpace(c.Iccsn); s != "" {
		return slug(s)
	}
	return "handle_" + slug(c.CardHandle)
}

// finish adds the terminal conditions: a terminal the connector has
// talked to before that is not connected now, unless the connector's own
// EC_CardTerminal_Not_Available already says so.
func (r *reading) finish() {
	if !r.haveTerms {
		return
	}
	for _, t := range r.terms {
		if t.Connected.V || !t.EverConnected() || r.unavailable[strings.TrimSpace(t.CtID)] {
			continue
		}
		name := strings.TrimSpace(t.Name)
		if name == "" {
			name = strings.TrimSpace(t.CtID)
		}
		r.conds = append(r.conds, drivers.Condition{Name: "terminal." + slug(t.CtID) + ".unreachable", Severity: drivers.Major,
			Message: fmt.Sprintf("Card terminal %s (%s, %s) is not connected to the connector.", name, strings.TrimSpace(t.CtID), strings.TrimSpace(t.IPv4))})
	}
}
