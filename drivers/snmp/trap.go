package snmp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/praxisgate/praxisgate/drivers"
)

// Traps arrive on one UDP port for the whole box, but belong to devices. A
// TrapReceiver owns the socket and routes each trap by its source address to
// the device subscribed for that address; traps from anyone else are
// counted and dropped (issue 5), never published, so a stray agent in the
// practice network cannot fill the provider's event stream.

// TrapStats counts what a receiver saw.
type TrapStats struct {
	Received uint64 // datagrams read
	Routed   uint64 // traps handed to a device
	Unknown  uint64 // from a source no device is configured for
	Rejected uint64 // wrong community or undecodable
}

// TrapReceiver listens for SNMPv1/v2c traps and informs on one UDP address.
type TrapReceiver struct {
	conn *net.UDPConn
	log  *slog.Logger
	dec  *gosnmp.GoSNMP

	mu   sync.RWMutex
	subs map[netip.Addr][]*trapSub

	received, routed, unknown, rejected atomic.Uint64
	done                                chan struct{}
	closeOnce                           sync.Once
}

type trapSub struct {
	auth   TrapAuth
	handle func(*gosnmp.SnmpPacket, netip.Addr)
}

// TrapAuth says which traps a subscriber accepts.
type TrapAuth struct {
	// Communities accepted on v1/v2c traps; empty accepts any and none
	// rejects v1/v2c when V3 is set.
	Communities []string
	// V3 is the device's USM user for SNMPv3 traps: user name,
	// protocols, passphrases and the device's AuthoritativeEngineID (the
	// sender of a trap is the authoritative engine, so the keys are
	// localised with its engine ID).
	V3 *gosnmp.UsmSecurityParameters
}

// ListenTraps opens the trap socket, e.g. ":162" or "127.0.0.1:0" in tests,
// and serves until Close.
func ListenTraps(addr string, log *slog.Logger) (*TrapReceiver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("snmp traps: listen address %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("snmp traps: listen on %s: %w", addr, err)
	}
	r := &TrapReceiver{
		conn: conn,
		log:  log,
		// The decoder reads each packet's version itself; Version3 and
		// USM here only let gosnmp authenticate v3 traps (it refuses to
		// otherwise), v1 and v2c decode the same.
		dec:  &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, Logger: gosnmp.Logger{}},
		subs: map[netip.Addr][]*trapSub{},
		done: make(chan struct{}),
	}
	go r.serve()
	return r, nil
}

// Addr returns the bound address (tests listen on port 0).
func (r *TrapReceiver) Addr() net.Addr { return r.conn.LocalAddr() }

// Stats returns the counters.
func (r *TrapReceiver) Stats() TrapStats {
	return TrapStats{Received: r.received.Load(), Routed: r.routed.Load(), Unknown: r.unknown.Load(), Rejected: r.rejected.Load()}
}

// Close stops the receiver and waits for its loop to end.
func (r *TrapReceiver) Close() error {
	var err error
	r.closeOnce.Do(func() {
		err = r.conn.Close()
		<-r.done
	})
	return err
}

// Subscribe routes traps from src that pass auth to handle. The returned
// function ends the subscription.
func (r *TrapReceiver) Subscribe(src netip.Addr, auth TrapAuth, handle func(*gosnmp.SnmpPacket, netip.Addr)) (func(), error) {
	src = src.Unmap()
	s := &trapSub{auth: auth, handle: handle}
	r.mu.Lock()
	r.subs[src] = append(r.subs[src], s)
	err := r.rebuildUsersLocked()
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		defer func() { _ = r.rebuildUsersLocked() }()
		list := r.subs[src]
		for i, x := range list {
			if x == s {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(r.subs, src)
		} else {
			r.subs[src] = list
		}
	}, err
}

func (r *TrapReceiver) serve() {
	defer close(r.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Warn("snmp trap socket read failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		r.received.Add(1)
		src := from.Addr().Unmap()
		r.mu.RLock()
		subs := append([]*trapSub(nil), r.subs[src]...)
		r.mu.RUnlock()
		if len(subs) == 0 {
			// Count before decoding: parsing what nobody asked for is
			// wasted work and attack surface.
			r.unknown.Add(1)
			continue
		}
		pkt, err := r.dec.UnmarshalTrap(append([]byte(nil), buf[:n]...), false)
		if err != nil || pkt == nil {
			r.rejected.Add(1)
			r.log.Debug("snmp trap undecodable or not authentic", "from", src, "err", err)
			continue
		}
		delivered := false
		for _, s := range subs {
			if !s.auth.accepts(pkt) {
				continue
			}
			s.handle(pkt, src)
			delivered = true
		}
		if !delivered {
			r.rejected.Add(1)
			continue
		}
		r.routed.Add(1)
		if pkt.PDUType == gosnmp.InformRequest {
			r.ackInform(pkt, from)
		}
	}
}

// accepts checks a decoded trap against the subscriber's credentials. v3
// traps were authenticated (and decrypted) while decoding, with the users
// of all subscribers; here the user must be this subscriber's.
func (a TrapAuth) accepts(pkt *gosnmp.SnmpPacket) bool {
	if pkt.Version == gosnmp.Version3 {
		usm, ok := pkt.SecurityParameters.(*gosnmp.UsmSecurityParameters)
		return ok && a.V3 != nil && usm.UserName == a.V3.UserName
	}
	if a.V3 != nil && len(a.Communities) == 0 {
		return false
	}
	return len(a.Communities) == 0 || containsString(a.Communities, pkt.Community)
}

// rebuildUsersLocked gives the decoder the v3 users of all subscribers.
func (r *TrapReceiver) rebuildUsersLocked() error {
	table := gosnmp.NewSnmpV3SecurityParametersTable(gosnmp.Logger{})
	n := 0
	var errs []error
	for _, list := range r.subs {
		for _, s := range list {
			if s.auth.V3 == nil {
				continue
			}
			if err := table.Add(s.auth.V3.UserName, s.auth.V3.Copy()); err != nil {
				errs = append(errs, fmt.Errorf("snmp traps: v3 user %q: %w", s.auth.V3.UserName, err))
				continue
			}
			n++
		}
	}
	if n == 0 {
		table = nil
	}
	r.dec.SetTrapSecurityParametersTable(table)
	return errors.Join(errs...)
}

// ackInform answers an SNMPv2 inform so the sender stops retrying.
func (r *TrapReceiver) ackInform(pkt *gosnmp.SnmpPacket, to netip.AddrPort) {
	resp := *pkt
	resp.PDUType = gosnmp.GetResponse
	out, err := resp.MarshalMsg()
	if err != nil {
		return
	}
	_, _ = r.conn.WriteToUDPAddrPort(out, to)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// shared receivers: every snmp device's Watch uses the receiver for its
// configured listen address; the first opens the socket, the last closes it.
var (
	sharedMu  sync.Mutex
	sharedRcv = map[string]*sharedEntry{}
)

type sharedEntry struct {
	r    *TrapReceiver
	refs int
}

func acquireReceiver(addr string, log *slog.Logger) (*TrapReceiver, func(), error) {
	addr = listenKey(addr)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	e := sharedRcv[addr]
	if e == nil {
		r, err := ListenTraps(addr, log)
		if err != nil {
			return nil, nil, err
		}
		e = &sharedEntry{r: r}
		sharedRcv[addr] = e
	}
	e.refs++
	release := func() {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		e.refs--
		if e.refs == 0 {
			delete(sharedRcv, addr)
			_ = e.r.Close()
		}
	}
	return e.r, release, nil
}

// listenKey normalises a listen address so ":162", "0.0.0.0:162" and
// "[::]:162" written on different devices share one socket instead of the
// second failing with "address in use".
func listenKey(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		return ":" + port
	}
	return addr
}

// Generic traps of SNMPv1 and their SNMPv2 snmpTrapOID equivalents.
var genericTraps = map[string]TrapDef{
	".1.3.6.1.6.3.1.1.5.1": {Name: "snmp.cold_start", Severity: drivers.Minor, Message: "Agent restarted (cold start)"},
	".1.3.6.1.6.3.1.1.5.2": {Name: "snmp.warm_start", Severity: drivers.Info, Message: "Agent restarted (warm start)"},
	".1.3.6.1.6.3.1.1.5.3": {Name: "if.link_down", Severity: drivers.Minor, Message: "Link down"},
	".1.3.6.1.6.3.1.1.5.4": {Name: "if.link_up", Severity: drivers.Info, Message: "Link up"},
	".1.3.6.1.6.3.1.1.5.5": {Name: "snmp.auth_failure", Severity: drivers.Minor, Message: "Agent saw an SNMP authentication failure"},
}

var (
	oidSnmpTrapOID = ".1.3.6.1.6.3.1.1.4.1.0"
	oidTrapUptime  = ".1.3.6.1.2.1.1.3.0"
)

// trapEvent turns a decoded trap into an event, using the device's
// profiles' trap definitions for name, severity and text, or else any
// profile of cat that defines the trap OID (cat may be nil). The varbinds
// go into Attrs, as text, so the provider sees what the device said even
// for unknown traps.
func trapEvent(pkt *gosnmp.SnmpPacket, src netip.Addr, ps []*Profile, cat *Catalogue, now time.Time) drivers.Event {
	trapOID := ""
	attrs := map[string]any{"source": src.String(), "version": pkt.Version.String()}
	vars := map[string]any{}
	if pkt.PDUType == gosnmp.Trap { // SNMPv1
		ent := "." + strings.TrimPrefix(pkt.Enterprise, ".")
		if pkt.GenericTrap >= 0 && pkt.GenericTrap < 6 {
			trapOID = fmt.Sprintf(".1.3.6.1.6.3.1.1.5.%d", pkt.GenericTrap+1)
		} else {
			// RFC 3584 3.1: enterprise.0.specific.
			trapOID = fmt.Sprintf("%s.0.%d", ent, pkt.SpecificTrap)
		}
		attrs["enterprise"] = ent
	}
	for i, v := range pkt.Variables {
		if i >= 32 {
			break
		}
		name := "." + strings.TrimPrefix(v.Name, ".")
		if name == oidSnmpTrapOID {
			if s, ok := v.Value.(string); ok {
				trapOID = "." + strings.TrimPrefix(s, ".")
			}
			continue
		}
		if name == oidTrapUptime {
			continue
		}
		r, err := decodePDU(v)
		if err != nil {
			continue
		}
		text := r.text
		if len(text) > 256 {
			text = text[:256]
		}
		vars[name] = text
	}
	if len(vars) > 0 {
		attrs["varbinds"] = vars
	}
	attrs["trap_oid"] = trapOID
	def, ok := genericTraps[trapOID]
	if !ok {
		def = TrapDef{Name: "snmp.trap", Severity: drivers.Minor, Message: "Trap " + trapOID}
		if o, err := parseOID(trapOID); err == nil {
			found := false
		search:
			for _, p := range ps {
				for _, t := range p.Traps {
					if t.oid.compare(o) == 0 {
						def, found = t, true
						break search
					}
				}
			}
			if !found {
				if t, ok := cat.TrapDef(o); ok {
					def = t
				}
			}
		}
	}
	attrs["trap"] = def.Name
	return drivers.Event{
		Time:     now,
		Type:     "snmp.trap",
		Severity: def.Severity,
		Message:  def.Message,
		Attrs:    attrs,
	}
}

// SharedTrapStats returns the counters of the receivers the devices' Watch
// calls opened, by listen address, for the gateway's own telemetry (traps
// from unknown sources are counted there, not published).
func SharedTrapStats() map[string]TrapStats {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	out := make(map[string]TrapStats, len(sharedRcv))
	// Keys are normalised listen addresses (":162" for any address).
	for addr, e := range sharedRcv {
		out[addr] = e.r.Stats()
	}
	return out
}
