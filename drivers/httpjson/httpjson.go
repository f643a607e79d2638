// Package httpjson reads sensors that answer JSON over HTTP: Shelly Gen2 and
// Gen3 devices through their RPC API (Plus H&T for room climate, Plus 1PM
// or Plus Plug for the power draw of a fridge, Plus Add-on probes), and any
// other device through a URL plus a JSON path per reading.
package httpjson

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/jsonpath"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "httpjson",
		Kind:     "sensor",
		Doc:      "JSON over HTTP: Shelly Gen2 RPC components or a generic URL with JSON paths",
		Defaults: defaults,
		New:      New,
	})
}

// maxBody caps what we read from a device: a status object is a few hundred
// bytes, and a confused device must not fill the gateway's memory.
const maxBody = 1 << 20

// Driver polls one HTTP device.
type Driver struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	paths  []jsonpath.Path

	// Digest state, reused across requests because Shelly firmware 2.0+
	// accepts a nonce for an hour with an increasing nonce count, which
	// halves the round trips. Poll is never concurrent, so no lock.
	chal    *challenge
	nc      uint32
	noReuse bool // the device refused a reused nonce once
	basic   bool // the device asked for Basic auth
	cnonce  func() string
}

// New checks the config; it opens no connection.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Components = append([]Component(nil), cfg.Components...)
	cfg.Values = append([]Value(nil), cfg.Values...)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	d := &Driver{
		cfg: cfg,
		log: log,
		client: &http.Client{
			Timeout: cfg.Timeout,
			// Devices never need redirects; following one to another
			// host would leak the Basic password.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{
				Proxy:               nil, // a practice LAN device, never via a proxy
				MaxIdleConnsPerHost: 1,
			},
		},
		cnonce: newCnonce,
		basic:  cfg.Auth == "basic",
	}
	d.paths = jsonpath.Paths(cfg.Values)
	return d, nil
}

// Poll fetches every configured component or the generic document.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	if d.cfg.Mode == "generic" {
		return d.pollGeneric(ctx)
	}
	var s drivers.Sample
	for _, k := range d.cfg.Components {
		u := fmt.Sprintf("%s/rpc/%s.GetStatus?id=%d", d.cfg.URL, k.Type, k.ID)
		body, err := d.get(ctx, u)
		if err != nil {
			return drivers.Sample{}, err
		}
		ms, cs, err := parseShelly(k, body)
		if err != nil {
			return drivers.Sample{}, fmt.Errorf("httpjson: %s: %w: %w", u, drivers.ErrProtocol, err)
		}
		s.Metrics = append(s.Metrics, ms...)
		s.Conditions = append(s.Conditions, cs...)
	}
	return s, nil
}

func (d *Driver) pollGeneric(ctx context.Context) (drivers.Sample, error) {
	body, err := d.get(ctx, d.cfg.URL)
	if err != nil {
		return drivers.Sample{}, err
	}
	ms, cs, err := extract(d.cfg.Values, d.paths, body)
	if err != nil {
		return drivers.Sample{}, fmt.Errorf("httpjson: %s: %w: %w", d.cfg.URL, drivers.ErrProtocol, err)
	}
	return drivers.Sample{Metrics: ms, Conditions: cs}, nil
}

// extract picks the configured values out of a generic document. A value
// that is missing or not a number becomes a condition so the others still
// arrive; only a document that is not JSON fails the poll.
func extract(values []Value, paths []jsonpath.Path, body []byte) ([]drivers.Metric, []drivers.Condition, error) {
	doc, err := jsonpath.Decode(body)
	if err != nil {
		return nil, nil, fmt.Errorf("decode JSON: %w", err)
	}
	var ms []drivers.Metric
	var cs []drivers.Condition
	for i, v := range values {
		n, err := v.Read(doc, paths[i])
		if err != nil {
			cs = append(cs, drivers.Condition{
				Name:     "httpjson." + v.Name + ".invalid",
				Severity: drivers.Major,
				Message:  fmt.Sprintf("No valid %s at %q: %v.", v.Name, v.Path, err),
			})
			continue
		}
		ms = append(ms, drivers.Num(v.Name, n, v.Unit))
	}
	return ms, cs, nil
}

// get fetches one URL, answering an authentication challenge once.
func (d *Driver) get(ctx context.Context, rawURL string) ([]byte, error) {
	resp, err := d.do(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && d.cfg.Auth != "none" {
		retry, err := d.learnChallenge(resp)
		drain(resp)
		if err != nil {
			return nil, fmt.Errorf("httpjson: %s: %w: %w", rawURL, drivers.ErrProtocol, err)
		}
		if retry {
			resp, err = d.do(ctx, rawURL)
			if err != nil {
				return nil, err
			}
		}
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("httpjson: %s: %w: authentication failed (check username and password)", rawURL, drivers.ErrProtocol)
	}
	// An announced oversized answer is refused by its length before any of
	// it is read, so the verdict does not depend on how fast the box reads;
	// one without a length is counted as it arrives.
	if resp.ContentLength > maxBody {
		return nil, fmt.Errorf("httpjson: %s: %w: answer of %d bytes is larger than %d", rawURL, drivers.ErrProtocol, resp.ContentLength, maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("httpjson: read %s: %w: %w", rawURL, drivers.ErrUnreachable, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("httpjson: %s: %w: answer larger than %d bytes", rawURL, drivers.ErrProtocol, maxBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("httpjson: %s: %w: HTTP %d: %q", rawURL, drivers.ErrProtocol, resp.StatusCode, snippet(body))
	}
	return body, nil
}

// do sends one GET with whatever credentials we already know to send.
func (d *Driver) do(ctx context.Context, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("httpjson: build request for %s: %w", rawURL, err)
	}
	req.Header.Set("Accept", "application/json")
	user, pass := d.cfg.Username, d.cfg.Password.Reveal()
	switch {
	case d.basic:
		req.SetBasicAuth(user, pass)
	case d.chal != nil:
		d.nc++
		req.Header.Set("Authorization", d.chal.authorization(http.MethodGet, req.URL.RequestURI(), user, pass, d.nc, d.cnonce()))
		if d.noReuse {
			d.chal = nil // good for this one request only
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in our own message already
		}
		return nil, fmt.Errorf("httpjson: GET %s: %w: %w", rawURL, drivers.ErrUnreachable, err)
	}
	return resp, nil
}

// learnChallenge reads a 401 and decides whether another try can succeed.
func (d *Driver) learnChallenge(resp *http.Response) (bool, error) {
	hadDigest := d.chal != nil
	var basicOffered bool
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), "basic") {
			basicOffered = true
			continue
		}
		if d.cfg.Auth == "basic" {
			continue
		}
		c, err := parseChallenge(h)
		if err != nil {
			return false, fmt.Errorf("authentication challenge: %w", err)
		}
		stale := strings.Contains(strings.ToLower(h), "stale=true")
		if hadDigest && !stale && d.nc == 2 {
			// The nonce worked once and was refused on its first
			// reuse: older firmware wants a fresh one per request.
			// A refusal after many uses is just an expired nonce.
			d.noReuse = true
		}
		d.chal, d.nc = &c, 0
		return true, nil
	}
	if basicOffered && d.cfg.Auth == "auto" && !d.basic {
		d.basic = true
		return true, nil
	}
	return false, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return strings.TrimSpace(string(b))
}

// Close releases idle connections.
func (d *Driver) Close() error {
	d.client.CloseIdleConnections()
	return nil
}
