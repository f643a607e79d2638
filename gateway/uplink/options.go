package uplink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// Source is what the uplink reads from: buffer.Queue satisfies it. Next,
// Ack and Rewind are called from the uplink's goroutines only (one reader).
type Source interface {
	// Next blocks until at least one record is available or ctx ends.
	Next(ctx context.Context, max int) ([]buffer.Record, error)
	// Ack deletes records the broker acknowledged.
	Ack(seqs ...uint64) error
	// Rewind makes Next return every unacknowledged record again.
	Rewind()
}

// Options configure an Uplink.
type Options struct {
	// Config holds the broker URL, TLS files (absolute paths), credentials,
	// timeouts, backoff and MaxInflight. Zero values get the defaults
	// documented on config.Uplink.
	Config config.Uplink
	// Site and Gateway build the topic root {prefix}/{site}/{gateway}.
	Site, Gateway string
	// Origin fills the payload headers of status messages.
	Origin contract.Origin
	// Version and Started go into the status payload.
	Version string
	Started time.Time
	// Now stamps status payloads. Default: time.Now, marked unsynced,
	// because only the caller knows whether NTP has synchronised.
	Now func() contract.Stamp
	// Logger receives state changes (connected, lost, retrying), never
	// per-message lines. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults fills zero values and checks the rest, collecting every
// problem so a technician fixes the file in one round.
func (o *Options) withDefaults() error {
	c := &o.Config
	*c = c.WithDefaults()
	if c.ClientID == "" {
		c.ClientID = "praxisgate-" + o.Site + "-" + o.Gateway
	}
	if o.Now == nil {
		o.Now = func() contract.Stamp { return contract.Stamp{Time: time.Now()} }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Origin.Gateway == "" {
		o.Origin.Gateway = o.Gateway
	}
	if o.Started.IsZero() {
		o.Started = time.Now()
	}

	var errs []error
	if o.Site == "" || o.Gateway == "" {
		errs = append(errs, errors.New("site and gateway are required (they form the topic root)"))
	}
	for _, s := range []string{o.Site, o.Gateway, c.Prefix} {
		if strings.ContainsAny(s, "+#\x00") {
			errs = append(errs, fmt.Errorf("topic part %q contains an MQTT wildcard or NUL", s))
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("uplink.cert_file and uplink.key_file: give both or neither"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"keepalive", c.KeepAlive}, {"connect_timeout", c.ConnectTimeout}, {"write_timeout", c.WriteTimeout}, {"backoff_min", c.BackoffMin}, {"backoff_max", c.BackoffMax}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("uplink.%s: must not be negative (got %s)", d.name, d.v))
		}
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("uplink.backoff_max (%s) is below backoff_min (%s)", c.BackoffMax, c.BackoffMin))
	}
	if err := config.CheckMaxInflight(c.MaxInflight); err != nil {
		errs = append(errs, fmt.Errorf("uplink.max_inflight: %w", err))
	}
	return errors.Join(errs...)
}

// brokerURL maps the config's scheme to paho's ("ssl://" or "tcp://"),
// adds the default port and reports whether TLS is used. Credentials in the
// URL are refused: they would end up in logs and bypass Secret.
func brokerURL(raw string) (u *url.URL, useTLS bool, err error) {
	if raw == "" {
		return nil, false, errors.New("uplink.broker is required")
	}
	u, err = url.Parse(raw)
	if err != nil {
		return nil, false, fmt.Errorf("uplink.broker: %w", err)
	}
	if u.User != nil {
		return nil, false, errors.New("uplink.broker: put credentials in uplink.username and uplink.password, not in the URL")
	}
	port := "1883"
	switch strings.ToLower(u.Scheme) {
	case "tls", "mqtts", "ssl":
		useTLS, port = true, "8883"
		u.Scheme = "ssl"
	case "tcp", "mqtt":
		u.Scheme = "tcp"
	default:
		return nil, false, fmt.Errorf("uplink.broker: scheme %q not supported (use tls://, mqtts://, ssl://, tcp:// or mqtt://)", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, false, fmt.Errorf("uplink.broker: %q has no host", raw)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, false, fmt.Errorf("uplink.broker: %q must not have a path or query", raw)
	}
	u.Path = ""
	return u, useTLS, nil
}
