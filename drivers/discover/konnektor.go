package discover

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers/konnektor"
)

// KonnektorIdentity is what a TI Konnektor's connector.sds says about it,
// and the SHA-256 of the certificate it presented, for the technician to
// compare with the connector's admin page before adopting it (the
// konnektor driver then pins it).
type KonnektorIdentity struct {
	VendorID    string `json:"vendor_id,omitempty"`
	Vendor      string `json:"vendor,omitempty"`
	Product     string `json:"product,omitempty"`
	PTV         string `json:"product_type_version,omitempty"`
	Firmware    string `json:"firmware,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// konnektorPort is where a connector serves connector.sds over TLS.
const konnektorPort = 443

// probeKonnektor fetches https://ip:port/connector.sds and returns the
// identity when it is a connector's service directory, else nil.
//
// The certificate cannot be verified here: a connector's comes from the
// TI's own CA, which the gateway does not know before adoption. So the
// handshake only records the certificate's fingerprint; the request sends
// no credentials and reads a public document, and nothing from it is
// trusted beyond naming the device. The driver that monitors the adopted
// connector verifies against the fingerprint or a configured CA.
func probeKonnektor(ctx context.Context, dial dialFunc, ip string, port int, timeout time.Duration) *KonnektorIdentity {
	var fp string
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // identification only, see above
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			fp = colonHex(sum[:])
			return nil
		},
	}
	client := &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{Proxy: nil, DialContext: dial, TLSClientConfig: tc, DisableKeepAlives: true},
	}
	defer client.CloseIdleConnections()
	u := "https://" + net.JoinHostPort(ip, strconv.Itoa(port)) + "/connector.sds"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil
	}
	sd, err := konnektor.ParseServiceDirectory(body)
	if err != nil {
		return nil
	}
	if _, _, err := sd.EventServiceEndpoint(); err != nil {
		return nil
	}
	p := sd.Product
	return &KonnektorIdentity{VendorID: cleanText(p.VendorID, 16), Vendor: cleanText(p.VendorName, 64), Product: cleanText(p.ProductName, 64),
		PTV: cleanText(p.ProductTypeVersion, 32), Firmware: cleanText(p.FWVersion, 32), Fingerprint: fp}
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// describeKonnektor is the classification reason.
func describeKonnektor(k *KonnektorIdentity) string {
	name := strings.TrimSpace(k.Vendor + " " + k.Product)
	if name == "" {
		name = k.VendorID
	}
	return fmt.Sprintf("serves a TI connector service directory (connector.sds): %s, firmware %s", orNone(name), orNone(k.Firmware))
}
