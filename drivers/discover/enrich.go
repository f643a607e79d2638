package discover

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// dialFunc opens a TCP connection (net.Dialer.DialContext or a test's).
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// enricher asks hosts who they are. Every network call has its own
// timeout and the whole run ends with ctx; all fields are injectable so
// tests can point them at loopback peers.
type enricher struct {
	ports        []int
	probeTimeout time.Duration
	// lookupAddr does reverse DNS; nil disables it.
	lookupAddr func(ctx context.Context, addr string) ([]string, error)
	// dial opens TCP connections for the port probe.
	dial dialFunc
	snmp *snmpProber
	// konnektor asks a host with konnektorPort open for a TI connector's
	// service directory; nil disables it.
	konnektor     func(ctx context.Context, dial dialFunc, ip string, port int, timeout time.Duration) *KonnektorIdentity
	konnektorPort int
	// parallel bounds concurrent hosts; each host probes its ports in
	// parallel too, so this also bounds open sockets.
	parallel int
}

// run enriches the given observations and returns results by MAC.
func (e *enricher) run(ctx context.Context, obs []observation) map[string]enrichment {
	out := make(map[string]enrichment, len(obs))
	var mu sync.Mutex
	sem := make(chan struct{}, max(e.parallel, 1))
	var wg sync.WaitGroup
	for _, o := range obs {
		if len(o.IPs) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			r := e.host(ctx, o.IPs[0])
			if ctx.Err() != nil {
				return // half an answer would be stored as "no ports, no SNMP"
			}
			mu.Lock()
			out[o.MAC] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// host asks one address, running DNS, SNMP and the port probe at once.
func (e *enricher) host(ctx context.Context, ip string) enrichment {
	var r enrichment
	var wg sync.WaitGroup
	if e.lookupAddr != nil {
		wg.Go(func() {
			c, cancel := context.WithTimeout(ctx, e.probeTimeout)
			defer cancel()
			names, err := e.lookupAddr(c, ip)
			if err == nil && len(names) > 0 {
				r.DNSName = cleanText(strings.TrimSuffix(names[0], "."), 253)
			}
		})
	}
	if e.snmp != nil {
		wg.Go(func() { r.SNMP = e.snmp.identify(ctx, ip) })
	}
	var mu sync.Mutex
	for _, p := range e.ports {
		wg.Go(func() {
			c, cancel := context.WithTimeout(ctx, e.probeTimeout)
			defer cancel()
			conn, err := e.dial(c, "tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
			if err != nil {
				return
			}
			conn.Close()
			mu.Lock()
			r.OpenPorts = append(r.OpenPorts, p)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(r.OpenPorts)
	if e.konnektor != nil && slices.Contains(r.OpenPorts, e.konnektorPort) {
		r.Konnektor = e.konnektor(ctx, e.dial, ip, e.konnektorPort, e.probeTimeout)
	}
	return r
}

// cleanText makes a device-supplied string safe to log, store and show:
// valid UTF-8, no control characters, trimmed, at most n bytes. Devices
// put NULs, CR/LF and Latin-1 into sysDescr.
func cleanText(s string, n int) string {
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				r = '?'
			}
		}
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
