package konnektor

import (
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Config is the device's `konnektor:` section.
type Config struct {
	// URL is the connector's LAN address (https://192.168.1.10); the
	// driver reads <url>/connector.sds and calls the endpoints it lists,
	// always on this host.
	URL string `yaml:"url"`
	// CAFile is a PEM file with the CA that issued the connector's TLS
	// certificate (the TI's komp-CA), or the certificate itself.
	CAFile string `yaml:"ca_file"`
	// Fingerprint pins the connector's certificate by the SHA-256 of its
	// DER bytes (hex, colons allowed). CAFile, Fingerprint or both must be
	// set: the TI's CA is in no public trust store, and verification is
	// never switched off.
	Fingerprint string `yaml:"fingerprint"`
	// ServerName, when set, must be a name in the connector's
	// certificate; without it a CAFile check verifies the chain only
	// (connector certificates do not carry the practice LAN address).
	ServerName string `yaml:"server_name"`
	// Auth is none, basic or certificate, as configured in the
	// connector's client-system settings.
	Auth     string         `yaml:"auth"`
	Username string         `yaml:"username"`
	Password drivers.Secret `yaml:"password"`
	// CertFile and KeyFile are the client certificate (PEM) for auth
	// certificate.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// The call context; all three must exist in the connector.
	MandantID      string `yaml:"mandant_id"`
	ClientSystemID string `yaml:"client_system_id"`
	WorkplaceID    string `yaml:"workplace_id"`
	// MandantWide asks for every terminal and card of the Mandant, not
	// only those of the workplace.
	MandantWide bool `yaml:"mandant_wide"`
	// Timeout bounds each HTTP request.
	Timeout time.Duration `yaml:"timeout"`
	// CertWarnDays and CertCriticalDays are how many days before a
	// card certificate expires the two expiry alarms come. 0 means on
	// the day of expiry.
	CertWarnDays     int `yaml:"cert_warn_days"`
	CertCriticalDays int `yaml:"cert_critical_days"`
}

func defaults() Config {
	return Config{Auth: "none", MandantWide: true, Timeout: 15 * time.Second, CertWarnDays: 60, CertCriticalDays: 14}
}

// pin returns the fingerprint as 32 bytes, or nil when none is set.
func (c *Config) pin() ([]byte, error) {
	if c.Fingerprint == "" {
		return nil, nil
	}
	s := strings.NewReplacer(":", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(c.Fingerprint)))
	s = strings.TrimPrefix(s, "sha256")
	s = strings.TrimPrefix(s, "=")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("want the SHA-256 of the certificate: 64 hex digits, colons allowed")
	}
	return b, nil
}

func (c *Config) check() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, drivers.Fieldf("url", "required"))
	case err != nil:
		errs = append(errs, drivers.Fieldf("url", "%v", err))
	case u.Scheme != "https":
		errs = append(errs, drivers.Fieldf("url", "want https:// (the driver never talks to a connector in plain HTTP), got %q", c.URL))
	case u.Host == "":
		errs = append(errs, drivers.Fieldf("url", "no host in %q", c.URL))
	case u.User != nil:
		errs = append(errs, drivers.Fieldf("url", "put credentials in username/password, not the URL"))
	case u.Path != "" && u.Path != "/" || u.RawQuery != "":
		errs = append(errs, drivers.Fieldf("url", "give the connector's address only (https://host[:port]); /connector.sds is added"))
	}
	if c.CAFile == "" && c.Fingerprint == "" {
		errs = append(errs, drivers.Fieldf("ca_file", "ca_file or fingerprint is required: the connector's certificate comes from the TI's own CA, and verification cannot be switched off"))
	}
	if _, err := c.pin(); err != nil {
		errs = append(errs, drivers.Fieldf("fingerprint", "%v", err))
	}
	switch c.Auth {
	case "none":
		if c.Username != "" || c.Password != "" || c.CertFile != "" || c.KeyFile != "" {
			errs = append(errs, drivers.Fieldf("auth", "credentials are given but auth is none; set auth: basic or certificate"))
		}
	case "basic":
		if c.Username == "" {
			errs = append(errs, drivers.Fieldf("username", "required with auth basic"))
		}
		if c.Password == "" {
			errs = append(errs, drivers.Fieldf("password", "required with auth basic"))
		}
		if c.CertFile != "" || c.KeyFile != "" {
			errs = append(errs, drivers.Fieldf("cert_file", "only for auth certificate"))
		}
	case "certificate":
		if c.CertFile == "" {
			errs = append(errs, drivers.Fieldf("cert_file", "required with auth certificate"))
		}
		if c.KeyFile == "" {
			errs = append(errs, drivers.Fieldf("key_file", "required with auth certificate"))
		}
		if c.Username != "" || c.Password != "" {
			errs = append(errs, drivers.Fieldf("password", "only for auth basic"))
		}
	default:
		errs = append(errs, drivers.Fieldf("auth", "want none, basic or certificate, got %q", c.Auth))
	}
	for _, f := range []struct{ key, v string }{{"mandant_id", c.MandantID}, {"client_system_id", c.ClientSystemID}, {"workplace_id", c.WorkplaceID}} {
		switch {
		case strings.TrimSpace(f.v) == "":
			errs = append(errs, drivers.Fieldf(f.key, "required (the call context must exist in the connector)"))
		case len(f.v) > 64:
			errs = append(errs, drivers.Fieldf(f.key, "at most 64 characters (ConnectorCommon.xsd)"))
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, drivers.Fieldf("timeout", "must be positive"))
	}
	if c.CertWarnDays < 0 {
		errs = append(errs, drivers.Fieldf("cert_warn_days", "must not be negative"))
	}
	if c.CertCriticalDays < 0 {
		errs = append(errs, drivers.Fieldf("cert_critical_days", "must not be negative"))
	}
	if c.CertCriticalDays > c.CertWarnDays {
		errs = append(errs, drivers.Fieldf("cert_critical_days", "must not be more than cert_warn_days (%d)", c.CertWarnDays))
	}
	return errors.Join(errs...)
}
