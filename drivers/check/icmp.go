package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"

	"github.com/praxisgate/praxisgate/drivers"
)

// icmpPrivileged decides between a datagram ICMP socket, which any user in
// net.ipv4.ping_group_range may open, and a raw socket, which needs
// CAP_NET_RAW. The daemon runs unprivileged where it can.
func (d *Driver) icmpPrivileged() (bool, error) {
	switch d.cfg.ICMPMode {
	case "raw":
		return true, nil
	case "unprivileged":
		return false, nil
	}
	data, err := os.ReadFile(d.pingGroupRange)
	if err != nil {
		// No sysctl (old kernel, other OS): only raw can work.
		return true, nil
	}
	gids, err := d.groups()
	if err != nil {
		return true, nil
	}
	ok, err := unprivilegedAllowed(string(data), gids)
	if err != nil {
		return false, fmt.Errorf("check: read %s: %w", d.pingGroupRange, err)
	}
	return !ok, nil
}

// ping sends Count echo requests with pro-bing.
func (d *Driver) ping(ctx context.Context) (result, error) {
	privileged, err := d.icmpPrivileged()
	if err != nil {
		return result{}, err
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, d.cfg.Host)
	if err != nil || len(ips) == 0 {
		return result{}, fmt.Errorf("check: resolve %s: %w: %w", d.cfg.Host, drivers.ErrUnreachable, err)
	}
	// Prefer IPv4: it is what practice networks route reliably.
	ip := ips[0]
	for _, a := range ips {
		if a.IP.To4() != nil {
			ip = a
			break
		}
	}
	p := probing.New("")
	p.SetIPAddr(&ip)
	p.SetPrivileged(privileged)
	p.SetLogger(slogAdapter{d.log})
	p.Count = d.cfg.Count
	p.Interval = d.cfg.Spacing
	if p.Interval <= 0 {
		p.Interval = 1 // the library needs a positive ticker period
	}
	// The last reply may take Timeout after the last request.
	p.Timeout = d.cfg.Spacing*time.Duration(d.cfg.Count-1) + d.cfg.Timeout
	p.RecordRtts = true
	p.RecordTTLs = false
	if err := p.RunWithContext(ctx); err != nil {
		mode := "unprivileged (ping_group_range)"
		if privileged {
			mode = "raw (CAP_NET_RAW)"
		}
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return result{}, fmt.Errorf("check: ping %s: %s ICMP socket not permitted: %w", d.cfg.Host, mode, err)
		}
		return result{}, fmt.Errorf("check: ping %s (%s): %w: %w", d.cfg.Host, mode, drivers.ErrUnreachable, err)
	}
	st := p.Statistics()
	r := result{sent: st.PacketsSent, recv: st.PacketsRecv, rtts: st.Rtts}
	if r.recv > r.sent { // duplicates are counted apart, but be safe
		r.recv = r.sent
	}
	if r.recv == 0 {
		r.lastErr = fmt.Errorf("no echo reply within %v", d.cfg.Timeout)
	}
	return r, nil
}

// slogAdapter routes the library's messages into our logger; Fatalf must
// never end the daemon.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Fatalf(f string, v ...any) {
	a.l.Error("check: pro-bing: " + fmt.Sprintf(f, v...))
}
func (a slogAdapter) Errorf(f string, v ...any) { a.l.Warn("check: pro-bing: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Warnf(f string, v ...any)  { a.l.Debug("check: pro-bing: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Infof(f string, v ...any)  { a.l.Debug("check: pro-bing: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Debugf(f string, v ...any) {
	a.l.Debug("check: pro-bing: " + fmt.Sprintf(f, v...))
}
