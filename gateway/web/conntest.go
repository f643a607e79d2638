package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// resolver is net.Resolver's lookup; tests point it at a dead DNS server.
type resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// step is one stage of the connection test: dns, tcp, tls, auth.
type step struct {
	Name   string // message key suffix: dns, tcp, tls, auth, mqtt
	OK     bool
	Detail string
}

// testConnection walks the path to the broker one stage at a time and
// stops at the first that fails, so the page can say precisely what is
// wrong: the name does not resolve (DNS), nothing listens or a firewall
// drops it (TCP), certificates do not fit (TLS), or the broker refuses
// the login (auth). It speaks just enough MQTT 3.1.1 (CONNECT/CONNACK)
// and never publishes.
func testConnection(ctx context.Context, u config.Uplink, res resolver) []step {
	var out []step
	fail := func(name string, err error) []step { return append(out, step{Name: name, Detail: err.Error()}) }
	bu, err := url.Parse(u.Broker)
	if err != nil {
		return fail("dns", err)
	}
	useTLS := false
	switch strings.ToLower(bu.Scheme) {
	case "tls", "mqtts", "ssl":
		useTLS = true
	case "tcp", "mqtt":
	default:
		return fail("mqtt", fmt.Errorf("the test speaks MQTT over TCP and TLS only, not %s://", bu.Scheme))
	}
	host, port := bu.Hostname(), bu.Port()
	if port == "" {
		port = "1883"
		if useTLS {
			port = "8883"
		}
	}
	timeout := u.ConnectTimeout
	if timeout <= 0 || timeout > 15*time.Second {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()

	addrs := []string{host}
	if net.ParseIP(host) == nil {
		dctx, dcancel := context.WithTimeout(ctx, timeout)
		addrs, err = res.LookupHost(dctx, host)
		dcancel()
		if err != nil {
			return fail("dns", err)
		}
		out = append(out, step{Name: "dns", OK: true, Detail: strings.Join(addrs, ", ")})
	}
	d := net.Dialer{Timeout: timeout}
	var conn net.Conn
	for _, a := range addrs {
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(a, port))
		if err == nil {
			break
		}
	}
	if err != nil {
		return fail("tcp", err)
	}
	defer conn.Close()
	out = append(out, step{Name: "tcp", OK: true, Detail: conn.RemoteAddr().String()})
	conn.SetDeadline(time.Now().Add(timeout))

	if useTLS {
		tc, err := clientTLS(u, host)
		if err != nil {
			return fail("tls", err)
		}
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			return fail("tls", err)
		}
		st := tconn.ConnectionState()
		if st.Version >= tls.VersionTLS13 {
			// In TLS 1.3 the server judges our client certificate after
			// the client's handshake is done; its verdict (an alert) is
			// only seen on reading. Listen briefly before writing, else
			// the CONNECT may hit a reset connection and the verdict is
			// lost.
			if err := probeAlert(tconn, timeout); err != nil {
				return fail("tls", err)
			}
		}
		detail := tls.VersionName(st.Version)
		if len(st.PeerCertificates) > 0 {
			detail += ", " + st.PeerCertificates[0].Subject.CommonName + ", valid until " + st.PeerCertificates[0].NotAfter.Format("2006-01-02")
		}
		out = append(out, step{Name: "tls", OK: true, Detail: detail})
		conn = tconn
	}

	if _, err := conn.Write(connectPacket(u.ClientID+"-webtest", u.Username, u.Password.Reveal())); err != nil {
		return fail(classifyAfterHandshake(err), err)
	}
	rc, err := readConnack(bufio.NewReader(conn))
	if err != nil {
		// With TLS 1.3 a broker that wants a client certificate rejects
		// it only after the handshake: the alert arrives here.
		return fail(classifyAfterHandshake(err), err)
	}
	if rc != 0 {
		name := "mqtt"
		if rc == 4 || rc == 5 {
			name = "auth"
		}
		return append(out, step{Name: name, Detail: connackText(rc)})
	}
	conn.Write([]byte{0xE0, 0x00}) // DISCONNECT
	return append(out, step{Name: "auth", OK: true, Detail: connackText(0)})
}

// alertProbe is how long to wait for a post-handshake alert; a broker on
// the other side of the internet answers within a round trip.
const alertProbe = 400 * time.Millisecond

func probeAlert(c *tls.Conn, timeout time.Duration) error {
	c.SetReadDeadline(time.Now().Add(alertProbe))
	var b [1]byte
	_, err := c.Read(b[:])
	c.SetDeadline(time.Now().Add(timeout))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil // silence: the broker accepted the handshake
	}
	if err == nil {
		return errors.New("the broker sent data before CONNECT")
	}
	return err
}

func classifyAfterHandshake(err error) string {
	var ae tls.AlertError
	if errors.As(err, &ae) || strings.Contains(err.Error(), "tls:") {
		return "tls"
	}
	if errors.Is(err, io.EOF) {
		// Mosquitto closes without CONNACK when it refuses a client
		// certificate it wanted; treat a silent close as an auth refusal.
		return "auth"
	}
	return "mqtt"
}

func clientTLS(u config.Uplink, host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.ServerName, InsecureSkipVerify: u.InsecureSkipVerify}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if u.CAFile != "" {
		pemData, err := os.ReadFile(u.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("ca_file %s holds no certificate", u.CAFile)
		}
		cfg.RootCAs = pool
	}
	if u.CertFile != "" {
		c, err := tls.LoadX509KeyPair(u.CertFile, u.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// connectPacket encodes an MQTT 3.1.1 CONNECT with a clean session.
func connectPacket(clientID, user, pass string) []byte {
	str := func(b []byte, s string) []byte { return append(append(b, byte(len(s)>>8), byte(len(s))), s...) }
	flags := byte(0x02)
	if user != "" {
		flags |= 0x80
		if pass != "" {
			flags |= 0x40
		}
	}
	body := str(nil, "MQTT")
	body = append(body, 4, flags, 0, 30)
	body = str(body, clientID)
	if user != "" {
		body = str(body, user)
		if pass != "" {
			body = str(body, pass)
		}
	}
	pkt := []byte{0x10}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	return append(pkt, body...)
}

// readConnack reads the broker's answer and returns its return code.
func readConnack(r *bufio.Reader) (byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, fmt.Errorf("waiting for CONNACK: %w", err)
	}
	if h[0] != 0x20 || h[1] != 0x02 {
		return 0, fmt.Errorf("the broker answered %#x %#x, not a CONNACK (is this an MQTT port?)", h[0], h[1])
	}
	return h[3], nil
}

func connackText(rc byte) string {
	switch rc {
	case 0:
		return "connection accepted"
	case 1:
		return "the broker refused MQTT 3.1.1"
	case 2:
		return "the broker refused the client id"
	case 3:
		return "the broker is unavailable"
	case 4:
		return "bad user name or password"
	case 5:
		return "not authorized"
	}
	return fmt.Sprintf("CONNACK return code %d", rc)
}
