// Package nutserve serves the gateway's UPS readings in the NUT network
// protocol (upsd, TCP 3493), read-only, so that the practice's servers and
// NAS shut down cleanly on low battery. It is an output of the gateway;
// the nut driver (drivers/nut) is an input and shares only the protocol's
// line format (internal/nutwire) with it.
package nutserve

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/internal/nutwire"
)

// Server answers the upsd protocol, read-only, for the UPSes the gateway
// watches, so that the practice's servers and NAS can run upsmon, WinNUT
// or Synology's "NUT server" client against the gateway and shut down on
// low battery (issue 3, item 4). It never changes a UPS: SET, INSTCMD
// and FSD are refused.
//
// Like upsd, anyone allowed by address may read variables (upsc needs no
// login); LOGIN, which upsmon uses to be counted as a client of a UPS,
// needs the configured username and password.
type Server struct {
	// Allow lists the client networks that may connect at all, e.g.
	// 192.168.10.0/24. Connections from elsewhere get ERR ACCESS-DENIED
	// and are closed. Empty allows loopback only.
	Allow []netip.Prefix
	// Username and Password are what upsmon must send before LOGIN.
	Username string
	Password drivers.Secret
	// UPSes returns the current variables of each served UPS by NUT name
	// (e.g. "usv-rack" → {"ups.status": "OB LB", "battery.charge": "12"}).
	// It is called for every request and must be safe for concurrent use.
	// A UPS whose latest reading is stale should be left out or carry
	// no ups.status, so clients see it as unavailable rather than fine.
	UPSes func() map[string]map[string]string
	// Log receives connection and login records; secrets never reach it.
	Log *slog.Logger
	// MaxClients bounds concurrent connections (default 32).
	MaxClients int
	// NoForcedShutdown turns off the FSD flag the server adds to
	// ups.status when a UPS is on battery with a low battery. By default
	// the gateway plays the part of NUT's primary upsmon, which sets FSD
	// so that secondaries shut down at once instead of waiting HOSTSYNC
	// seconds for a primary that does not exist here.
	NoForcedShutdown bool
	// IdleTimeout closes a connection that sends nothing this long
	// (default 5 minutes; upsmon polls every few seconds).
	IdleTimeout time.Duration

	mu     sync.Mutex
	logins map[string]map[string]int // ups → client address → logins
}

// Check reports configuration mistakes as *drivers.FieldError, with field
// names the gateway's nut_server section can use.
func (s *Server) Check() error {
	var errs []error
	if s.Username == "" || strings.ContainsAny(s.Username, " \t\r\n\"") {
		errs = append(errs, drivers.Fieldf("username", "is required and must not hold blanks or quotes"))
	}
	// Only presence is checked: some clients (Synology DSM) come with
	// fixed short credentials, and the address filter is the first fence.
	if s.Password == "" || strings.ContainsAny(s.Password.Reveal(), "\r\n") {
		errs = append(errs, drivers.Fieldf("password", "is required and must be one line"))
	}
	if s.UPSes == nil {
		errs = append(errs, errors.New("nut server: no UPS source"))
	}
	return errors.Join(errs...)
}

// ListenAndServe listens on addr (e.g. ":3493") and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("nut server: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends, then closes ln and
// waits for the open connections to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.Check(); err != nil {
		ln.Close()
		return err
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxc := s.MaxClients
	if maxc <= 0 {
		maxc = 32
	}
	slots := make(chan struct{}, maxc)
	var wg sync.WaitGroup
	conns := map[net.Conn]struct{}{}
	var cmu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		cmu.Lock()
		for c := range conns {
			c.Close()
		}
		cmu.Unlock()
	})
	defer stop()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				wg.Wait()
				return nil
			}
			// Out of file descriptors and the like: wait, bounded.
			backoff = min(max(backoff*2, 5*time.Millisecond), time.Second)
			log.Warn("nut server: accept", "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.allowed(c.RemoteAddr()) {
			log.Warn("nut server: refused client outside the allowed networks", "client", c.RemoteAddr().String())
			// Answer its first requests (upsc tries STARTTLS first), so
			// the client shows "access denied" instead of a broken
			// pipe; bounded in count and time.
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(2 * time.Second))
				r := bufio.NewReaderSize(c, 512)
				for range 8 {
					if _, err := nutwire.ReadLine(r); err != nil {
						return
					}
					if _, err := c.Write([]byte("ERR ACCESS-DENIED\n")); err != nil {
						return
					}
				}
			}()
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			log.Warn("nut server: too many clients", "client", c.RemoteAddr().String(), "max", maxc)
			_, _ = c.Write([]byte("ERR ACCESS-DENIED\n"))
			c.Close()
			continue
		}
		cmu.Lock()
		conns[c] = struct{}{}
		cmu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			s.handle(c, log)
			cmu.Lock()
			delete(conns, c)
			cmu.Unlock()
		}()
	}
}

// snapshot returns the served variables, with FSD added where due.
func (s *Server) snapshot() map[string]map[string]string {
	all := s.UPSes()
	if s.NoForcedShutdown {
		return all
	}
	out := make(map[string]map[string]string, len(all))
	for name, vars := range all {
		st, ok := vars["ups.status"]
		flags := strings.Fields(st)
		if ok && slices.Contains(flags, "OB") && slices.Contains(flags, "LB") && !slices.Contains(flags, "FSD") {
			cp := make(map[string]string, len(vars))
			for k, v := range vars {
				cp[k] = v
			}
			cp["ups.status"] = "FSD " + st
			vars = cp
		}
		out[name] = vars
	}
	return out
}

func (s *Server) allowed(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	if len(s.Allow) == 0 {
		return ip.IsLoopback()
	}
	for _, p := range s.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// session is one client connection's state.
type session struct {
	user, pass string
	login      string // UPS logged into
	addr       string
}

func (s *Server) handle(c net.Conn, log *slog.Logger) {
	defer c.Close()
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	ss := &session{addr: c.RemoteAddr().String()}
	defer s.logout(ss)
	r := bufio.NewReaderSize(c, 512)
	w := bufio.NewWriter(c)
	for range 1_000_000 { // a client is closed after this many requests
		_ = c.SetDeadline(time.Now().Add(idle))
		line, err := nutwire.ReadLine(r)
		if err != nil {
			if errors.Is(err, nutwire.ErrLineTooLong) {
				_, _ = w.WriteString("ERR INVALID-ARGUMENT\n")
				_ = w.Flush()
			}
			return
		}
		words, err := nutwire.SplitWords(line)
		if err != nil {
			_, _ = w.WriteString("ERR INVALID-ARGUMENT\n")
			if w.Flush() != nil {
				return
			}
			continue
		}
		done := s.answer(w, ss, words, log)
		if w.Flush() != nil || done {
			return
		}
	}
}

// answer writes the reply to one request and reports whether the
// connection should end.
func (s *Server) answer(w *bufio.Writer, ss *session, words []string, log *slog.Logger) bool {
	errf := func(code string) { fmt.Fprintf(w, "ERR %s\n", code) }
	if len(words) == 0 {
		errf("UNKNOWN-COMMAND")
		return false
	}
	args := words[1:]
	switch strings.ToUpper(words[0]) {
	case "VER":
		w.WriteString("praxisgate NUT-compatible server (read-only)\n")
	case "NETVER":
		w.WriteString("1.3\n")
	case "HELP":
		w.WriteString("Commands: HELP VER NETVER GET LIST USERNAME PASSWORD LOGIN LOGOUT\n")
	case "STARTTLS":
		errf("FEATURE-NOT-CONFIGURED")
	case "USERNAME":
		switch {
		case len(args) != 1:
			errf("INVALID-ARGUMENT")
		case ss.user != "":
			errf("ALREADY-SET-USERNAME")
		default:
			ss.user = args[0]
			w.WriteString("OK\n")
		}
	case "PASSWORD":
		switch {
		case len(args) != 1:
			errf("INVALID-ARGUMENT")
		case ss.pass != "":
			errf("ALREADY-SET-PASSWORD")
		default:
			ss.pass = args[0]
			w.WriteString("OK\n")
		}
	case "LOGIN":
		if len(args) != 1 {
			errf("INVALID-ARGUMENT")
			break
		}
		if ss.login != "" {
			errf("ALREADY-LOGGED-IN")
			break
		}
		if _, ok := s.snapshot()[args[0]]; !ok {
			errf("UNKNOWN-UPS")
			break
		}
		if !s.credentialsOK(ss) {
			log.Warn("nut server: login refused", "client", ss.addr, "user", ss.user)
			errf("ACCESS-DENIED")
			break
		}
		ss.login = args[0]
		s.mu.Lock()
		if s.logins == nil {
			s.logins = map[string]map[string]int{}
		}
		if s.logins[ss.login] == nil {
			s.logins[ss.login] = map[string]int{}
		}
		s.logins[ss.login][ss.addr]++
		s.mu.Unlock()
		log.Info("nut server: client logged in", "client", ss.addr, "user", ss.user, "ups", ss.login)
		w.WriteString("OK\n")
	case "LOGOUT":
		w.WriteString("OK Goodbye\n")
		return true
	case "PRIMARY", "MASTER", "FSD", "SET", "INSTCMD":
		// Read-only: only the gateway's own config decides about the
		// UPS. A client configured as primary must be made secondary.
		errf("ACCESS-DENIED")
	case "GET":
		s.get(w, args, errf)
	case "LIST":
		s.list(w, args, errf)
	default:
		errf("UNKNOWN-COMMAND")
	}
	return false
}

func (s *Server) credentialsOK(ss *session) bool {
	u := subtle.ConstantTimeCompare([]byte(ss.user), []byte(s.Username))
	p := subtle.ConstantTimeCompare([]byte(ss.pass), []byte(s.Password.Reveal()))
	return u&p == 1 && s.Username != ""
}

func (s *Server) logout(ss *session) {
	if ss.login == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.logins[ss.login]; m != nil {
		m[ss.addr]--
		if m[ss.addr] <= 0 {
			delete(m, ss.addr)
		}
	}
}

func (s *Server) numLogins(ups string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.logins[ups] {
		n += c
	}
	return n
}

func (s *Server) get(w *bufio.Writer, args []string, errf func(string)) {
	if len(args) < 2 {
		errf("INVALID-ARGUMENT")
		return
	}
	kind, name := strings.ToUpper(args[0]), args[1]
	vars, ok := s.snapshot()[name]
	if !ok {
		errf("UNKNOWN-UPS")
		return
	}
	switch kind {
	case "VAR", "TYPE", "DESC":
		if len(args) != 3 {
			errf("INVALID-ARGUMENT")
			return
		}
		v, ok := vars[args[2]]
		if !ok {
			if _, stale := vars["ups.status"]; !stale {
				errf("DATA-STALE")
				return
			}
			errf("VAR-NOT-SUPPORTED")
			return
		}
		switch kind {
		case "VAR":
			fmt.Fprintf(w, "VAR %s %s %s\n", name, args[2], nutwire.Quote(v))
		case "TYPE":
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				fmt.Fprintf(w, "TYPE %s %s NUMBER\n", name, args[2])
			} else {
				fmt.Fprintf(w, "TYPE %s %s STRING:%d\n", name, args[2], max(len(v), 1))
			}
		case "DESC":
			fmt.Fprintf(w, "DESC %s %s %s\n", name, args[2], nutwire.Quote("Description unavailable"))
		}
	case "NUMLOGINS":
		fmt.Fprintf(w, "NUMLOGINS %s %d\n", name, s.numLogins(name))
	case "UPSDESC":
		fmt.Fprintf(w, "UPSDESC %s %s\n", name, nutwire.Quote(upsDesc(name)))
	case "CMDDESC":
		errf("CMD-NOT-SUPPORTED")
	default:
		errf("INVALID-ARGUMENT")
	}
}

func upsDesc(name string) string { return "UPS " + name + " via praxisgate" }

func (s *Server) list(w *bufio.Writer, args []string, errf func(string)) {
	if len(args) < 1 {
		errf("INVALID-ARGUMENT")
		return
	}
	kind := strings.ToUpper(args[0])
	all := s.snapshot()
	if kind == "UPS" {
		names := sortedKeys(all)
		w.WriteString("BEGIN LIST UPS\n")
		for _, n := range names {
			fmt.Fprintf(w, "UPS %s %s\n", n, nutwire.Quote(upsDesc(n)))
		}
		w.WriteString("END LIST UPS\n")
		return
	}
	if len(args) != 2 {
		errf("INVALID-ARGUMENT")
		return
	}
	name := args[1]
	vars, ok := all[name]
	if !ok {
		errf("UNKNOWN-UPS")
		return
	}
	switch kind {
	case "VAR":
		if _, ok := vars["ups.status"]; !ok {
			errf("DATA-STALE")
			return
		}
		fmt.Fprintf(w, "BEGIN LIST VAR %s\n", name)
		for _, k := range sortedKeys(vars) {
			fmt.Fprintf(w, "VAR %s %s %s\n", name, k, nutwire.Quote(vars[k]))
		}
		fmt.Fprintf(w, "END LIST VAR %s\n", name)
	case "RW", "CMD":
		// Nothing is writable and no command is offered.
		fmt.Fprintf(w, "BEGIN LIST %s %s\nEND LIST %s %s\n", kind, name, kind, name)
	case "CLIENT":
		s.mu.Lock()
		clients := sortedKeys(s.logins[name])
		s.mu.Unlock()
		fmt.Fprintf(w, "BEGIN LIST CLIENT %s\n", name)
		for _, c := range clients {
			host, _, _ := net.SplitHostPort(c)
			fmt.Fprintf(w, "CLIENT %s %s\n", name, host)
		}
		fmt.Fprintf(w, "END LIST CLIENT %s\n", name)
	default:
		errf("INVALID-ARGUMENT")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
