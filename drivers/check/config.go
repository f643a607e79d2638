package check

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Config is the device's `check:` section: one critical system (the
// practice server, the TI connector, the router, an internet target) and
// how to tell whether it answers.
type Config struct {
	// Method is icmp (ping), tcp (connect to a port) or http (GET a URL,
	// http:// or https://).
	Method string `yaml:"method"`
	// Host is the name or address for icmp and tcp.
	Host string `yaml:"host"`
	// Port is the TCP port for tcp.
	Port int `yaml:"port"`
	// URL is what http fetches.
	URL string `yaml:"url"`
	// Count is the number of probes per poll; loss is measured over them.
	Count int `yaml:"count"`
	// Spacing is the pause between two probes of one poll.
	Spacing time.Duration `yaml:"spacing"`
	// Timeout is how long one probe waits for its answer.
	Timeout time.Duration `yaml:"timeout"`
	// ICMPMode is auto, unprivileged or raw. auto uses unprivileged
	// datagram ICMP sockets when net.ipv4.ping_group_range admits the
	// daemon's group and raw sockets (CAP_NET_RAW) otherwise.
	ICMPMode string `yaml:"icmp_mode"`
	// ExpectStatus lists acceptable HTTP status codes; empty accepts
	// 200-399 (a login page redirect still proves the server is up).
	ExpectStatus []int `yaml:"expect_status"`
	// InsecureSkipVerify accepts any TLS certificate. Practice servers
	// and TI connectors often use self-signed ones; the certificate's
	// remaining validity is still reported.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

func defaults() Config {
	return Config{
		Method:   "icmp",
		Count:    3,
		Spacing:  200 * time.Millisecond,
		Timeout:  2 * time.Second,
		ICMPMode: "auto",
	}
}

func (c *Config) check() error {
	var errs []error
	switch c.Method {
	case "icmp", "tcp":
		if c.Host == "" {
			errs = append(errs, drivers.Fieldf("host", "required for method %s", c.Method))
		}
		if c.URL != "" {
			errs = append(errs, drivers.Fieldf("url", "only for method http"))
		}
		if c.Method == "tcp" && (c.Port < 1 || c.Port > 65535) {
			errs = append(errs, drivers.Fieldf("port", "want 1-65535, got %d", c.Port))
		}
		if c.Method == "icmp" && c.Port != 0 {
			errs = append(errs, drivers.Fieldf("port", "ping has no port"))
		}
	case "http":
		u, err := url.Parse(c.URL)
		switch {
		case c.URL == "":
			errs = append(errs, drivers.Fieldf("url", "required for method http"))
		case err != nil:
			errs = append(errs, drivers.Fieldf("url", "%v", err))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, drivers.Fieldf("url", "want http:// or https://, got %q", c.URL))
		case u.Host == "":
			errs = append(errs, drivers.Fieldf("url", "no host in %q", c.URL))
		}
		if c.Host != "" || c.Port != 0 {
			errs = append(errs, drivers.Fieldf("host", "method http takes the host from url"))
		}
		for i, s := range c.ExpectStatus {
			if s < 100 || s > 599 {
				errs = append(errs, drivers.Fieldf("expect_status["+strconv.Itoa(i)+"]", "%d is not an HTTP status", s))
			}
		}
	default:
		errs = append(errs, drivers.Fieldf("method", "want icmp, tcp or http, got %q", c.Method))
	}
	if c.Count < 1 || c.Count > 100 {
		errs = append(errs, drivers.Fieldf("count", "want 1-100, got %d", c.Count))
	}
	if c.Spacing < 0 {
		errs = append(errs, drivers.Fieldf("spacing", "must not be negative"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, drivers.Fieldf("timeout", "must be positive"))
	}
	switch c.ICMPMode {
	case "auto", "unprivileged", "raw":
	default:
		errs = append(errs, drivers.Fieldf("icmp_mode", "want auto, unprivileged or raw, got %q", c.ICMPMode))
	}
	return errors.Join(errs...)
}

// target is what the log and errors name.
func (c *Config) target() string {
	switch c.Method {
	case "tcp":
		return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	case "http":
		return c.URL
	}
	return c.Host
}
