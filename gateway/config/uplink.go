package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// brokerSchemes maps the URL schemes the uplink understands to whether they
// use TLS. The aliases match what paho and the common brokers document.
var brokerSchemes = map[string]bool{
	"tcp": false, "mqtt": false, "ws": false,
	"tls": true, "mqtts": true, "ssl": true, "wss": true,
}

// defaultPort is the port filled in when the broker URL names none.
func defaultPort(scheme string) string {
	switch scheme {
	case "ws":
		return "80"
	case "wss":
		return "443"
	}
	if brokerSchemes[scheme] {
		return "8883"
	}
	return "1883"
}

// brokerIsTLS reports whether the (validated) broker URL uses TLS.
func brokerIsTLS(broker string) bool {
	scheme, _, _ := strings.Cut(broker, "://")
	return brokerSchemes[strings.ToLower(scheme)]
}

func (l *loader) validateUplink() {
	u := &l.cfg.Uplink
	l.required("uplink.broker", u.Broker)
	// With a missing or broken broker URL the TLS-only keys are not
	// judged: the URL's own problem is the one to fix.
	tls := true
	if u.Broker != "" {
		if norm, ok := l.checkBroker(u.Broker); ok {
			u.Broker = norm
			tls = brokerIsTLS(norm)
		}
	}
	l.checkPrefix(u.Prefix)
	if u.ClientID != "" {
		if err := validClientID(u.ClientID); err != nil {
			l.problem("uplink.client_id", "%v", err)
		}
	}
	if (u.CertFile == "") != (u.KeyFile == "") {
		if u.CertFile == "" {
			l.problem("uplink.key_file", "needs cert_file too (a client certificate is a pair)")
		} else {
			l.problem("uplink.cert_file", "needs key_file too (a client certificate is a pair)")
		}
	}
	for _, f := range []struct {
		key string
		v   *string
	}{{"ca_file", &u.CAFile}, {"cert_file", &u.CertFile}, {"key_file", &u.KeyFile}, {"server_name", &u.ServerName}} {
		if *f.v == "" {
			continue
		}
		if !tls {
			// Certificates with a plain broker look secure and are not;
			// refuse rather than silently send in clear text.
			l.problem("uplink."+f.key, "only used with a TLS broker (tls://, mqtts://, ssl:// or wss://)")
			continue
		}
		if f.key != "server_name" {
			*f.v = l.readableFile("uplink."+f.key, *f.v)
		}
	}
	if u.Password != "" && u.Username == "" {
		l.problem("uplink.password", "needs username too")
	}
	if u.KeepAlive != 0 && (u.KeepAlive < time.Second || u.KeepAlive > 65535*time.Second) {
		// MQTT carries the keep-alive as a 16-bit number of seconds.
		l.problem("uplink.keepalive", "must be between 1s and 18h12m15s, got %s", fmtDur(u.KeepAlive))
	}
	l.positive("uplink.connect_timeout", u.ConnectTimeout)
	l.positive("uplink.write_timeout", u.WriteTimeout)
	l.positive("uplink.backoff_min", u.BackoffMin)
	l.positive("uplink.backoff_max", u.BackoffMax)
	if s := u.ReconnectSpread; s != nil && (*s < 0 || *s > 10*time.Minute) {
		l.problem("uplink.reconnect_spread", "must be between 0 and 10m, got %s", fmtDur(*s))
	}
	bmin, bmax := u.BackoffMin, u.BackoffMax
	if bmin == 0 {
		bmin = DefaultBackoffMin
	}
	if bmax == 0 {
		bmax = DefaultBackoffMax
	}
	if bmin > 0 && bmax > 0 && bmax < bmin {
		path := "uplink.backoff_max"
		if u.BackoffMax == 0 {
			path = "uplink.backoff_min"
		}
		l.problem(path, "backoff_max (%s) must be ≥ backoff_min (%s)", fmtDur(bmax), fmtDur(bmin))
	}
	if u.MaxInflight != 0 {
		if err := CheckMaxInflight(u.MaxInflight); err != nil {
			l.problem("uplink.max_inflight", "%v", err)
		}
	}
}

// checkBroker validates the broker URL and returns it with the default port
// filled in. Messages never repeat the URL's user info, which may hold a
// password.
func (l *loader) checkBroker(raw string) (string, bool) {
	const path = "uplink.broker"
	const example = "e.g. tls://mqtt.example.com:8883"
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		l.problem(path, "want a URL like tls://mqtt.example.com:8883")
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if _, ok := brokerSchemes[scheme]; !ok {
		l.problem(path, "unknown scheme %s (want tcp, mqtt, tls, mqtts, ssl, ws or wss)", shown(u.Scheme))
		return "", false
	}
	if u.User != nil {
		l.problem(path, "put credentials in uplink.username and uplink.password (or password_file), not in the URL")
		return "", false
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		l.problem(path, "needs a host, %s", example)
		return "", false
	}
	if strings.HasSuffix(u.Host, ":") {
		l.problem(path, "empty port, %s", example)
		return "", false
	}
	if port == "" {
		port = defaultPort(scheme)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		l.problem(path, "port %s is out of range (1-65535)", shown(port))
		return "", false
	}
	isWS := scheme == "ws" || scheme == "wss"
	if !isWS && (u.Path != "" && u.Path != "/") {
		l.problem(path, "a path is only allowed for ws:// and wss://, got %s", shown(u.Path))
		return "", false
	}
	if u.RawQuery != "" || u.Fragment != "" {
		l.problem(path, "no query or fragment allowed")
		return "", false
	}
	out := scheme + "://" + net.JoinHostPort(host, port)
	if isWS {
		out += u.EscapedPath()
	}
	return out, true
}

// checkPrefix enforces a topic prefix that subscribers can rely on: no
// wildcards, no empty levels, nothing reserved like $SYS.
func (l *loader) checkPrefix(p string) {
	const path = "uplink.prefix"
	switch {
	case p == "":
	case strings.ContainsAny(p, "+#"):
		l.problem(path, "must not contain the MQTT wildcards + or #, got %s", shown(p))
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		l.problem(path, "must not start or end with '/', got %s", shown(p))
	case strings.Contains(p, "//"):
		l.problem(path, "must not contain empty levels ('//'), got %s", shown(p))
	case strings.HasPrefix(p, "$"):
		l.problem(path, "must not start with '$' (reserved by brokers), got %s", shown(p))
	case strings.ContainsRune(p, 0) || !utf8.ValidString(p):
		l.problem(path, "must be valid UTF-8 without NUL")
	}
}

// readableFile resolves a file path against the config's directory and
// checks that it can be opened, so a typo in a certificate path shows up in
// check-config instead of as a TLS failure at 3 a.m.
func (l *loader) readableFile(path, name string) string {
	if !filepath.IsAbs(name) {
		name = filepath.Join(l.dir, name)
	}
	name = filepath.Clean(name)
	f, err := os.Open(name)
	if err != nil {
		l.problem(path, "cannot read: %v", err)
		return name
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		l.problem(path, "cannot read: %v", err)
	case st.IsDir():
		l.problem(path, "%s is a directory, want a file", name)
	}
	return name
}

// MaxInflightLimit is the most QoS 1 publishes that may await PUBACK: MQTT's
// 16-bit packet ids, minus room for status, retained and reply publishes.
const MaxInflightLimit = 65000

// CheckMaxInflight is the one check of uplink.max_inflight: the loader
// runs it on the file and the uplink on what it is given, so a file that
// passes check-config never fails at start.
func CheckMaxInflight(n int) error {
	if n < 1 || n > MaxInflightLimit {
		return fmt.Errorf("must be between 1 and %d, got %d", MaxInflightLimit, n)
	}
	return nil
}
