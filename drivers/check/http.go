package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// httpProber holds the client of an http check. Keep-alive is off so every
// probe measures a fresh connection (DNS, TCP, TLS, response) like a user
// opening the page, rather than the reuse of a warm socket.
type httpProber struct {
	client *http.Client
	expect []int
}

func newHTTPProber(cfg Config) *httpProber {
	tr := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify},
	}
	return &httpProber{
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// A redirect to a login page already proves the server
			// answers; do not follow it elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		expect: cfg.ExpectStatus,
	}
}

func (p *httpProber) ok(status int) bool {
	if len(p.expect) == 0 {
		return status >= 200 && status < 400
	}
	return slices.Contains(p.expect, status)
}

// httpProbe times one GET until the status line and headers arrived.
func (d *Driver) httpProbe(ctx context.Context) (time.Duration, []drivers.Metric, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.cfg.URL, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", "praxisgate-check")
	start := d.now()
	resp, err := d.http.client.Do(req)
	if err != nil {
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			// The server answers; its certificate is the problem.
			return 0, nil, fmt.Errorf("GET: %w: %w", drivers.ErrProtocol, err)
		}
		return 0, nil, fmt.Errorf("GET: %w", err)
	}
	rtt := d.now().Sub(start)
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if !d.http.ok(resp.StatusCode) {
		return 0, nil, fmt.Errorf("%w: HTTP status %d", drivers.ErrProtocol, resp.StatusCode)
	}
	extra := []drivers.Metric{drivers.Num("http.status", float64(resp.StatusCode), "")}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		// Expiring certificates on the TI connector or the practice
		// server stop the practice; give the provider weeks of notice.
		left := resp.TLS.PeerCertificates[0].NotAfter.Sub(d.now())
		extra = append(extra, drivers.Num("tls.expiry", left.Seconds(), "s"))
	}
	return rtt, extra, nil
}
