package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// tlsConfig builds the client side of TLS: the broker is verified against
// CAFile (the system roots when empty), a client certificate is presented
// when configured (mTLS), and TLS 1.2 is the floor. Files are read here,
// at New, so a missing or broken file fails the start instead of every
// reconnect.
func tlsConfig(c config.Uplink, host string, log *slog.Logger) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("uplink.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("uplink.ca_file: %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("uplink.cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.InsecureSkipVerify {
		log.Warn("uplink: broker certificate verification is OFF (insecure_skip_verify); anyone on the path can read and fake the traffic")
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// errTLSFilesWithoutTLS catches a config that names certificates but
// connects in plain text, which would send credentials unencrypted while
// the technician believes TLS is on.
var errTLSFilesWithoutTLS = errors.New("uplink: ca_file/cert_file/key_file set but the broker URL is not tls://, mqtts:// or ssl://")
