package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/praxisgate/praxisgate/drivers"
)

// Well-known OIDs of the system group every agent has.
var (
	oidSysDescr    = oid{1, 3, 6, 1, 2, 1, 1, 1, 0}
	oidSysObjectID = oid{1, 3, 6, 1, 2, 1, 1, 2, 0}
	oidSysUpTime   = oid{1, 3, 6, 1, 2, 1, 1, 3, 0}
	oidSysName     = oid{1, 3, 6, 1, 2, 1, 1, 5, 0}
)

// limiter bounds the SNMP requests in flight across all devices of the
// process, so polling 200 agents at the top of the minute does not overrun
// the box's socket buffers or a slow practice network.
var limiter = make(chan struct{}, 16)

// SetMaxConcurrentRequests sets the process-wide limit on SNMP requests in
// flight (default 16). The gateway may call it once at start, before polling.
func SetMaxConcurrentRequests(n int) {
	if n < 1 {
		n = 1
	}
	limiter = make(chan struct{}, n)
}

// client is one agent session. It is used by one goroutine at a time (the
// driver's Poll), so it keeps what it learned about the agent (how many OIDs
// a PDU may carry) without locks.
type client struct {
	cfg Config
	g   *gosnmp.GoSNMP
	// rx is the session's socket, wrapped to keep the last datagram: an
	// SNMPv3 agent's error Reports are unauthenticated, gosnmp discards
	// them as "not authentic", and only the datagram tells why.
	rx *lastDatagram
	// maxOIDs is the GET batch size; it shrinks when the agent answers
	// tooBig and stays shrunk for this agent.
	maxOIDs int
	// maxReps is the GETBULK max-repetitions, shrunk the same way.
	maxReps int
	// maxVarbinds caps repetitions x columns per GETBULK: net-snmp
	// answers at most 100 varbinds by default (maxGetbulkResponses).
	maxVarbinds int
	requests    int
	// rediscoveries counts SNMPv3 engine rediscoveries (tests, benchmarks).
	rediscoveries int
}

func newClient(cfg Config) (*client, error) {
	g, err := newSession(cfg)
	if err != nil {
		return nil, err
	}
	return &client{cfg: cfg, g: g, maxOIDs: cfg.MaxOIDs, maxReps: cfg.MaxRepetitions, maxVarbinds: 100}, nil
}

// newSession builds a gosnmp session that knows nothing of the agent yet:
// for SNMPv3 its first request discovers the engine ID, boots and time.
func newSession(cfg Config) (*gosnmp.GoSNMP, error) {
	host, port, err := splitAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	g := &gosnmp.GoSNMP{
		Target:    host,
		Port:      port,
		Transport: "udp",
		Timeout:   cfg.Timeout,
		Retries:   cfg.Retries,
		// Batching is ours (with tooBig fallback), so gosnmp's own cap
		// must not get in the way.
		MaxOids:        1 << 16,
		MaxRepetitions: uint32(cfg.MaxRepetitions),
		Context:        context.Background(),
	}
	switch cfg.Version {
	case "1":
		g.Version = gosnmp.Version1
		g.Community = cfg.Community.Reveal()
	case "2c":
		g.Version = gosnmp.Version2c
		g.Community = cfg.Community.Reveal()
	case "3":
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		usm := usmFor(cfg)
		switch {
		case usm.AuthenticationProtocol == gosnmp.NoAuth:
			g.MsgFlags = gosnmp.NoAuthNoPriv
		case usm.PrivacyProtocol == gosnmp.NoPriv:
			g.MsgFlags = gosnmp.AuthNoPriv
		default:
			g.MsgFlags = gosnmp.AuthPriv
		}
		g.SecurityParameters = usm
		g.ContextName = cfg.V3.Context
	}
	return g, nil
}

// usmFor builds the USM parameters of the configured v3 user.
func usmFor(cfg Config) *gosnmp.UsmSecurityParameters {
	usm := &gosnmp.UsmSecurityParameters{UserName: cfg.V3.User}
	usm.AuthenticationProtocol, _ = authProtocol(cfg.V3.AuthProtocol)
	usm.PrivacyProtocol, _ = privProtocol(cfg.V3.PrivProtocol)
	if usm.AuthenticationProtocol != gosnmp.NoAuth {
		usm.AuthenticationPassphrase = cfg.V3.AuthPassword.Reveal()
	}
	if usm.PrivacyProtocol != gosnmp.NoPriv {
		usm.PrivacyPassphrase = cfg.V3.PrivPassword.Reveal()
	}
	return usm
}

func splitAddress(addr string) (string, uint16, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		// A bare host or IPv6 address without a port.
		host, portText = strings.Trim(addr, "[]"), "161"
	}
	var port uint16
	if _, err := fmt.Sscanf(portText, "%d", &port); err != nil || port == 0 {
		return "", 0, fmt.Errorf("port %q is not a UDP port", portText)
	}
	if host == "" {
		return "", 0, errors.New("empty host")
	}
	return host, port, nil
}

func (c *client) connect(ctx context.Context) error {
	if c.g.Conn != nil {
		return nil
	}
	c.g.Context = ctx
	if err := c.g.Connect(); err != nil {
		return fmt.Errorf("snmp: open socket to %s: %w: %w", c.g.Target, drivers.ErrUnreachable, err)
	}
	// The wrapper hides net.PacketConn, so gosnmp reads and writes
	// through it (it would otherwise use ReadFrom on the UDP socket).
	c.rx = &lastDatagram{Conn: c.g.Conn}
	c.g.Conn = c.rx
	return nil
}

func (c *client) close() error {
	if c.g.Conn == nil {
		return nil
	}
	err := c.g.Conn.Close()
	c.g.Conn = nil
	return err
}

// rediscover forgets what the SNMPv3 session learned of the agent (engine
// ID, boots, time, context engine ID) and opens a new socket, so the next
// request discovers the engine again. gosnmp never does this itself: after
// an agent restarts with a new engine ID its Reports are not authentic to
// the old session, and it discards them for ever.
func (c *client) rediscover() {
	_ = c.close()
	if g, err := newSession(c.cfg); err == nil {
		c.g = g
		c.rediscoveries++
	}
}

// do runs one request under the process-wide limit and classifies errors.
// An SNMPv3 request that fails for any reason but the caller's deadline
// rediscovers the engine: a request the agent refused as from a stale
// engine (new engine ID, boots or time after a restart) is sent once more
// at once, and after a timeout the next request starts afresh. A second
// refusal is an authentication failure, named from the agent's Report.
func (c *client) do(ctx context.Context, what string, f func() (*gosnmp.SnmpPacket, error)) (*gosnmp.SnmpPacket, error) {
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	select {
	case limiter <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("snmp: %s: %w: %w", what, drivers.ErrUnreachable, ctx.Err())
	}
	defer func() { <-limiter }()
	c.g.Context = ctx
	c.requests++
	pkt, err := f()
	if err != nil && c.cfg.Version == "3" && ctx.Err() == nil {
		timedOut := isTimeout(err)
		c.rediscover()
		if !timedOut {
			if cerr := c.connect(ctx); cerr != nil {
				return nil, cerr
			}
			c.g.Context = ctx
			c.requests++
			pkt, err = f()
			if err != nil && !isTimeout(err) && ctx.Err() == nil {
				if ae := c.authFailure(err); ae != nil {
					// The next poll tries afresh: the key may have
					// been fixed on the device meanwhile.
					c.rediscover()
					return nil, fmt.Errorf("snmp: %s: %w", what, ae)
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("snmp: %s: %w", what, classify(ctx, err))
	}
	if pkt == nil {
		return nil, fmt.Errorf("snmp: %s: %w: empty response", what, drivers.ErrProtocol)
	}
	return pkt, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return (errors.As(err, &ne) && ne.Timeout()) || strings.Contains(err.Error(), "timeout")
}

// classify sorts transport failures (no answer) from answers we cannot use.
func classify(ctx context.Context, err error) error {
	var ne net.Error
	msg := err.Error()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", drivers.ErrUnreachable, ctx.Err())
	case errors.As(err, &ne), strings.Contains(msg, "timeout"), strings.Contains(msg, "connection refused"):
		return fmt.Errorf("%w: %w", drivers.ErrUnreachable, err)
	}
	return fmt.Errorf("%w: %w", drivers.ErrProtocol, err)
}

// lastDatagram keeps a copy of the last datagram read on the session.
type lastDatagram struct {
	net.Conn
	last []byte
}

func (l *lastDatagram) Read(b []byte) (int, error) {
	n, err := l.Conn.Read(b)
	if n > 0 {
		l.last = append(l.last[:0], b[:n]...)
	}
	return n, err
}

// get reads scalars with as many OIDs per PDU as the agent accepts. On
// tooBig the batch is halved and retried; SNMPv1 agents fail a whole PDU for
// one unknown OID (noSuchName), so such a batch is retried one by one.
func (c *client) get(ctx context.Context, oids []oid, rd readings) error {
	for i := 0; i < len(oids); {
		n := min(c.maxOIDs, len(oids)-i)
		chunk := oids[i : i+n]
		strs := make([]string, len(chunk))
		for j, o := range chunk {
			strs[j] = o.String()
		}
		pkt, err := c.do(ctx, "get", func() (*gosnmp.SnmpPacket, error) { return c.g.Get(strs) })
		if err != nil {
			return err
		}
		switch pkt.Error {
		case gosnmp.NoError:
		case gosnmp.TooBig:
			if n == 1 {
				return fmt.Errorf("snmp: get %s: %w: agent answers tooBig even for one OID", strs[0], drivers.ErrProtocol)
			}
			c.maxOIDs = max(1, n/2)
			continue
		case gosnmp.NoSuchName:
			if n > 1 {
				for _, o := range chunk {
					saved := c.maxOIDs
					c.maxOIDs = 1
					err := c.get(ctx, []oid{o}, rd)
					c.maxOIDs = saved
					if err != nil {
						return err
					}
				}
			}
			i += n
			continue
		default:
			return fmt.Errorf("snmp: get: %w: agent answered %v", drivers.ErrProtocol, pkt.Error)
		}
		for _, v := range pkt.Variables {
			r, err := decodePDU(v)
			if err != nil {
				continue
			}
			rd["."+strings.TrimPrefix(v.Name, ".")] = r
		}
		i += n
	}
	return nil
}

// walkLimit bounds one walk, so an agent that loops (a known firmware bug
// on cheap switches) cannot keep the poll busy forever.
const walkLimit = 20000

// walk reads whole table columns with GETBULK (GETNEXT for SNMPv1), several
// columns per request like snmptable does: each response row carries the
// next cell of every column still running.
func (c *client) walk(ctx context.Context, roots []oid, rd readings) error {
	type col struct {
		root, cursor oid
	}
	var active []*col
	for _, r := range roots {
		active = append(active, &col{root: r, cursor: r})
	}
	width := len(active)
	got := 0
	for len(active) > 0 {
		if got > walkLimit {
			return fmt.Errorf("snmp: walk: %w: more than %d values", drivers.ErrProtocol, walkLimit)
		}
		req := active[:min(width, len(active))]
		strs := make([]string, len(req))
		for i, cl := range req {
			strs[i] = cl.cursor.String()
		}
		var pkt *gosnmp.SnmpPacket
		var err error
		if c.g.Version == gosnmp.Version1 {
			pkt, err = c.do(ctx, "getnext", func() (*gosnmp.SnmpPacket, error) { return c.g.GetNext(strs) })
		} else {
			reps := max(1, min(c.maxReps, c.maxVarbinds/len(req)))
			pkt, err = c.do(ctx, "getbulk", func() (*gosnmp.SnmpPacket, error) { return c.g.GetBulk(strs, 0, uint32(reps)) })
		}
		if err != nil {
			return err
		}
		switch pkt.Error {
		case gosnmp.NoError:
		case gosnmp.TooBig:
			switch {
			case c.maxReps > 1:
				c.maxReps = max(1, c.maxReps/2)
			case width > 1:
				width = max(1, width/2)
			default:
				return fmt.Errorf("snmp: walk %s: %w: agent answers tooBig even for one value", strs[0], drivers.ErrProtocol)
			}
			c.maxVarbinds = max(1, c.maxVarbinds/2)
			continue
		case gosnmp.NoSuchName:
			// SNMPv1's end of the MIB: the error index names the column
			// that ran off the end; the others are asked again.
			if i := int(pkt.ErrorIndex) - 1; i >= 0 && i < len(req) && len(req) > 1 {
				req[i].cursor = nil
				pkt.Variables = nil
				break
			}
			for _, cl := range req {
				cl.cursor = nil
			}
		default:
			return fmt.Errorf("snmp: walk: %w: agent answered %v", drivers.ErrProtocol, pkt.Error)
		}
		if len(pkt.Variables) == 0 && pkt.Error == gosnmp.NoError {
			for _, cl := range req {
				cl.cursor = nil
			}
		}
		for i, v := range pkt.Variables {
			cl := req[i%len(req)]
			if cl.cursor == nil {
				continue
			}
			if v.Type == gosnmp.EndOfMibView {
				cl.cursor = nil
				continue
			}
			o, err := parseOID(v.Name)
			if err != nil || !o.hasPrefix(cl.root) || o.compare(cl.cursor) <= 0 {
				// Left the column, or the agent went backwards: done.
				cl.cursor = nil
				continue
			}
			cl.cursor = o
			got++
			r, err := decodePDU(v)
			if err != nil {
				continue
			}
			rd[o.String()] = r
		}
		next := active[:0]
		for _, cl := range active {
			if cl.cursor != nil {
				next = append(next, cl)
			}
		}
		active = next
	}
	return nil
}

// probe reports whether the agent has any value below root.
func (c *client) probe(ctx context.Context, root oid) (bool, error) {
	pkt, err := c.do(ctx, "getnext", func() (*gosnmp.SnmpPacket, error) { return c.g.GetNext([]string{root.String()}) })
	if err != nil {
		return false, err
	}
	if pkt.Error != gosnmp.NoError || len(pkt.Variables) == 0 {
		return false, nil
	}
	v := pkt.Variables[0]
	if v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.NoSuchObject {
		return false, nil
	}
	o, err := parseOID(v.Name)
	return err == nil && o.hasPrefix(root), nil
}

func authProtocol(s string) (gosnmp.SnmpV3AuthProtocol, bool) {
	switch strings.ToUpper(s) {
	case "", "NONE":
		return gosnmp.NoAuth, true
	case "MD5":
		return gosnmp.MD5, true
	case "SHA", "SHA1", "SHA-1":
		return gosnmp.SHA, true
	case "SHA224", "SHA-224":
		return gosnmp.SHA224, true
	case "SHA256", "SHA-256":
		return gosnmp.SHA256, true
	case "SHA384", "SHA-384":
		return gosnmp.SHA384, true
	case "SHA512", "SHA-512":
		return gosnmp.SHA512, true
	}
	return 0, false
}

func privProtocol(s string) (gosnmp.SnmpV3PrivProtocol, bool) {
	switch strings.ToUpper(s) {
	case "", "NONE":
		return gosnmp.NoPriv, true
	case "DES":
		return gosnmp.DES, true
	case "AES", "AES128", "AES-128":
		return gosnmp.AES, true
	case "AES192", "AES-192":
		return gosnmp.AES192, true
	case "AES256", "AES-256":
		return gosnmp.AES256, true
	case "AES192C", "AES-192C":
		return gosnmp.AES192C, true
	case "AES256C", "AES-256C":
		return gosnmp.AES256C, true
	}
	return 0, false
}

// AuthError says an SNMPv3 agent answers but refuses the configured
// credentials. It is not "unreachable": the device is there, and the fix is
// the key or user name in the config (or on the device).
type AuthError struct {
	// Report is the name of the usmStats counter the agent reported
	// (usmStatsWrongDigests, usmStatsUnknownUserNames...), empty when the
	// agent's answer could not be read.
	Report string
	// Reason is the cause in words, as net-snmp's tools name it.
	Reason string
	Err    error
}

func (e *AuthError) Error() string {
	s := "SNMPv3 authentication failure: " + e.Reason
	if e.Report != "" {
		s += " (the agent reports " + e.Report + ")"
	} else {
		s += " (the agent's answers are not authentic)"
	}
	return s
}

// Unwrap lets errors.Is find drivers.ErrProtocol and gosnmp's error.
func (e *AuthError) Unwrap() []error { return []error{drivers.ErrProtocol, e.Err} }

// usmReports are RFC 3414's error counters an agent names in a Report,
// with what each means for the configured user.
var usmReports = map[string]struct{ name, reason string }{
	".1.3.6.1.6.3.15.1.1.1.0": {"usmStatsUnsupportedSecLevels", "the user may not use this security level"},
	".1.3.6.1.6.3.15.1.1.2.0": {"usmStatsNotInTimeWindows", "engine time out of window"},
	".1.3.6.1.6.3.15.1.1.3.0": {"usmStatsUnknownUserNames", "unknown user"},
	".1.3.6.1.6.3.15.1.1.4.0": {"usmStatsUnknownEngineIDs", "unknown engine ID"},
	".1.3.6.1.6.3.15.1.1.5.0": {"usmStatsWrongDigests", "wrong authentication key"},
	".1.3.6.1.6.3.15.1.1.6.0": {"usmStatsDecryptionErrors", "wrong privacy key"},
}

// authFailure names an SNMPv3 failure that is the agent refusing us, or
// returns nil for any other error.
func (c *client) authFailure(err error) *AuthError {
	byErr := []struct {
		err error
		oid string
	}{
		{gosnmp.ErrWrongDigest, ".1.3.6.1.6.3.15.1.1.5.0"},
		{gosnmp.ErrUnknownUsername, ".1.3.6.1.6.3.15.1.1.3.0"},
		{gosnmp.ErrDecryption, ".1.3.6.1.6.3.15.1.1.6.0"},
		{gosnmp.ErrUnknownSecurityLevel, ".1.3.6.1.6.3.15.1.1.1.0"},
	}
	for _, b := range byErr {
		if errors.Is(err, b.err) {
			r := usmReports[b.oid]
			return &AuthError{Report: r.name, Reason: r.reason, Err: err}
		}
	}
	if !strings.Contains(err.Error(), "not authentic") {
		return nil
	}
	if c.rx != nil {
		if oid, ok := reportOID(c.rx.last, c.cfg.V3.User); ok {
			if r, known := usmReports[oid]; known {
				return &AuthError{Report: r.name, Reason: r.reason, Err: err}
			}
		}
	}
	return &AuthError{Reason: "wrong key or unknown user", Err: err}
}

// reportOID decodes an SNMPv3 Report sent without authentication (as
// agents send USM error reports) and returns its one varbind's OID.
func reportOID(datagram []byte, user string) (oid string, ok bool) {
	if len(datagram) == 0 {
		return "", false
	}
	// Only naming a failure depends on this; a decoder bug on odd bytes
	// must not take the daemon down.
	defer func() {
		if recover() != nil {
			oid, ok = "", false
		}
	}()
	if user == "" {
		user = "-" // gosnmp wants one to decode; it is not checked
	}
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: user}, Logger: gosnmp.Logger{}}
	pkt, err := dec.SnmpDecodePacket(datagram)
	if err != nil || pkt == nil || pkt.PDUType != gosnmp.Report || len(pkt.Variables) != 1 {
		return "", false
	}
	return "." + strings.TrimPrefix(pkt.Variables[0].Name, "."), true
}
