// Package modemsim is a cellular modem on a pseudo-terminal for tests and
// the demo: it answers the AT commands of 3GPP TS 27.007 (SIM, signal,
// registration, calls) and TS 27.005 (SMS in text and PDU mode) the way a
// USB LTE stick does, written from those specifications and not from the
// gateway's modem code.
//
// Tests steer it between commands: SIM PIN required or no SIM, no network,
// slow answers, +CMS ERROR on the next send, garbage on the line, an
// incoming SMS announced by +CMTI, an incoming RING, and unplugging the
// stick (the pty is hung up and its path removed) in the middle of a send.
package modemsim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// SIM states as AT+CPIN? reports them.
const (
	SIMReady   = "READY"
	SIMPIN     = "SIM PIN"
	SIMMissing = "" // +CME ERROR: 10, SIM not inserted
)

// Registration states of +CREG/+CEREG (TS 27.007 7.2).
const (
	RegNone      = 0
	RegHome      = 1
	RegSearching = 2
	RegDenied    = 3
	RegRoaming   = 5
)

// Options configure a new simulator.
type Options struct {
	// Dir holds the device symlink; empty means a fresh temporary directory.
	Dir string
	// PIN is the SIM PIN; when set the SIM starts in state "SIM PIN".
	PIN string
	// OnSubmit, if set, is called with every SMS the modem accepts, before
	// the gateway hears +CMGS, so an observer outside the machine learns
	// of it before the gateway can record it (a guest's console).
	OnSubmit func(Submit)
}

// Call is one outgoing call the modem placed.
type Call struct {
	Number string
	// HungUp is true once the gateway ended the call with ATH or AT+CHUP.
	HungUp bool
}

type stored struct {
	from, text string
	at         time.Time
	read       bool
}

// Sim is one simulated modem.
type Sim struct {
	path   string
	ownDir bool
	pin    string
	onSub  func(Submit)

	mu         sync.Mutex
	master     *os.File
	slave      *os.File
	done       chan struct{}
	plugged    bool
	closed     bool
	echo       bool
	textMode   bool
	sim        string
	reg        int
	rssi       int
	delay      time.Duration
	failNext   int
	unplugSend bool
	// lastName is the pty slave of the last plug-in; Replug never reuses
	// it.
	lastName   string
	dialResult string
	mr         int
	submits    []Submit
	calls      []Call
	inCall     bool
	store      map[int]stored
	nextIndex  int
	commands   []string
}

// New starts a simulator with a registered network, good signal and a
// ready SIM (unless Options.PIN is set), plugged in.
func New(opts Options) (*Sim, error) {
	dir, own := opts.Dir, false
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("modemsim: %w", err)
		}
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "modemsim-")
		if err != nil {
			return nil, fmt.Errorf("modemsim: %w", err)
		}
		dir, own = d, true
	}
	s := &Sim{
		path: filepath.Join(dir, "modem"), ownDir: own, pin: opts.PIN, onSub: opts.OnSubmit,
		echo: true, sim: SIMReady, reg: RegHome, rssi: 20,
		store: map[int]stored{}, nextIndex: 1,
	}
	if opts.PIN != "" {
		s.sim = SIMPIN
	}
	if err := s.Replug(); err != nil {
		if own {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	return s, nil
}

// Target is the pty the path points at now (another one after each
// Replug, as a re-enumerated stick gets another ttyUSB number).
func (s *Sim) Target() string {
	t, _ := os.Readlink(s.path)
	return t
}

// Path is the device path a gateway opens (a symlink to the pty slave that
// is re-pointed by Replug, like a /dev/serial/by-id link).
func (s *Sim) Path() string { return s.path }

// SetSIM sets what AT+CPIN? reports: SIMReady, SIMPIN or SIMMissing.
func (s *Sim) SetSIM(state string) { s.mu.Lock(); s.sim = state; s.mu.Unlock() }

// SetRegistration sets the +CREG/+CEREG status (RegHome, RegNone...).
func (s *Sim) SetRegistration(stat int) { s.mu.Lock(); s.reg = stat; s.mu.Unlock() }

// SetSignal sets the +CSQ rssi (0..31, 99 unknown).
func (s *Sim) SetSignal(rssi int) { s.mu.Lock(); s.rssi = rssi; s.mu.Unlock() }

// SetDelay makes every final result code come this much later.
func (s *Sim) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// FailNextSend makes the next SMS submit end with +CMS ERROR: code.
func (s *Sim) FailNextSend(code int) { s.mu.Lock(); s.failNext = code; s.mu.Unlock() }

// UnplugOnSend makes the next SMS submit hang up the pty after the PDU or
// text arrived, before any answer: the stick was pulled mid-send.
func (s *Sim) UnplugOnSend() { s.mu.Lock(); s.unplugSend = true; s.mu.Unlock() }

// FailNextDial makes the next ATD end with a final result code such as
// BUSY, NO ANSWER or NO CARRIER (V.250 6.3.1) instead of OK.
func (s *Sim) FailNextDial(code string) { s.mu.Lock(); s.dialResult = code; s.mu.Unlock() }

// Submits returns every SMS-SUBMIT (or text-mode send) accepted so far.
func (s *Sim) Submits() []Submit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submit(nil), s.submits...)
}

// Calls returns the calls placed so far.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Commands returns every command line received, in order.
func (s *Sim) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Stored returns how many SMS are held in the SIM store.
func (s *Sim) Stored() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.store) }

// Deliver stores an incoming SMS and announces it with +CMTI.
func (s *Sim) Deliver(from, text string, at time.Time) error {
	s.mu.Lock()
	i := s.nextIndex
	s.nextIndex++
	s.store[i] = stored{from: from, text: text, at: at}
	m := s.master
	s.mu.Unlock()
	if m == nil {
		return errors.New("modemsim: unplugged")
	}
	_, err := m.Write([]byte(fmt.Sprintf("\r\n+CMTI: \"SM\",%d\r\n", i)))
	return err
}

// Ring announces an incoming call (an unsolicited RING).
func (s *Sim) Ring() error { return s.raw("\r\nRING\r\n") }

// Garbage writes bytes to the line as they are, e.g. line noise.
func (s *Sim) Garbage(b []byte) error { return s.raw(string(b)) }

// RemoteHangup ends the current call from the far side (NO CARRIER).
func (s *Sim) RemoteHangup() error {
	s.mu.Lock()
	s.inCall = false
	s.mu.Unlock()
	return s.raw("\r\nNO CARRIER\r\n")
}

func (s *Sim) raw(b string) error {
	s.mu.Lock()
	m := s.master
	s.mu.Unlock()
	if m == nil {
		return errors.New("modemsim: unplugged")
	}
	_, err := m.Write([]byte(b))
	return err
}

// Unplug hangs up the pty and removes the device path, like pulling the
// USB stick: reads on the gateway's side fail, a reopen finds nothing.
func (s *Sim) Unplug() error {
	s.mu.Lock()
	m, sl, done := s.master, s.slave, s.done
	s.master, s.slave, s.plugged = nil, nil, false
	s.inCall = false
	s.mu.Unlock()
	err := os.Remove(s.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if m != nil {
		m.Close()
		sl.Close()
		<-done
	}
	return err
}

// Replug creates a fresh pty (a new /dev/pts number, as USB
// re-enumeration gives a new ttyUSB) and points the path at it. The modem
// comes back in its power-on state: echo on, PDU mode, SIM PIN asked again.
func (s *Sim) Replug() error {
	s.mu.Lock()
	if s.plugged || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	m, sl, err := openPTY()
	if err != nil {
		return fmt.Errorf("modemsim: open pty: %w", err)
	}
	if sl.Name() == s.lastName {
		// The kernel hands out the lowest free pty number, which is the
		// one just released; a re-enumerated USB stick comes back under
		// a new name, so hold this one while taking the next.
		m2, sl2, err2 := openPTY()
		m.Close()
		sl.Close()
		if err2 != nil {
			return fmt.Errorf("modemsim: open pty: %w", err2)
		}
		m, sl = m2, sl2
	}
	s.lastName = sl.Name()
	if err := makeRaw(sl); err != nil {
		m.Close()
		sl.Close()
		return fmt.Errorf("modemsim: raw mode: %w", err)
	}
	tmp := s.path + ".new"
	_ = os.Remove(tmp)
	err = os.Symlink(sl.Name(), tmp)
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		m.Close()
		sl.Close()
		return fmt.Errorf("modemsim: %w", err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.master, s.slave, s.done, s.plugged = m, sl, done, true
	s.echo, s.textMode = true, false
	if s.pin != "" && s.sim == SIMReady {
		s.sim = SIMPIN
	}
	s.mu.Unlock()
	go func() {
		defer close(done)
		s.serve(m)
	}()
	return nil
}

// Close stops the simulator and removes its files.
func (s *Sim) Close() error {
	err := s.Unplug()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.ownDir {
		os.RemoveAll(filepath.Dir(s.path))
	}
	return err
}

// openPTY opens a pty pair whose master goes through Go's poller, so a
// Close wakes the serving goroutine (pty.Open leaves it blocking).
func openPTY() (master, slave *os.File, err error) {
	m, sl, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		sl.Close()
		return nil, nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		sl.Close()
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), sl, nil
}

// makeRaw stops the line discipline from echoing or translating bytes
// before the gateway sets its own termios.
func makeRaw(f *os.File) error {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	return unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
}

// maxLine bounds a command line; V.250 modems accept at least 40
// characters, real ones a few hundred.
const maxLine = 1024

// serve reads command lines (ended by CR, S3) until the pty closes. After
// AT+CMGS it reads the message body up to Ctrl-Z (send) or ESC (cancel).
func (s *Sim) serve(m *os.File) {
	buf := make([]byte, 512)
	var line []byte
	var body *sendState
	for {
		n, err := m.Read(buf)
		if err != nil {
			return
		}
		for _, c := range buf[:n] {
			if body != nil {
				switch c {
				case 0x1A:
					st := body
					body = nil
					if !s.finishSend(m, st) {
						return
					}
				case 0x1B:
					body = nil
					s.answer(m, "", "OK")
				default:
					if len(body.data) < 4*maxLine {
						body.data = append(body.data, c)
					}
				}
				continue
			}
			switch c {
			case '\r':
				cmd := strings.TrimSpace(string(line))
				line = line[:0]
				if cmd == "" {
					continue
				}
				body = s.command(m, cmd)
			case '\n':
			default:
				if len(line) < maxLine {
					line = append(line, c)
				}
			}
		}
	}
}

type sendState struct {
	text   bool
	to     string
	length int
	data   []byte
}

func (s *Sim) write(m *os.File, b string) { _, _ = m.Write([]byte(b)) }

// answer writes information lines and a final result code in verbose
// format (V1): each framed by CR LF, after the configured delay.
func (s *Sim) answer(m *os.File, info string, final string) {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	var b strings.Builder
	if info != "" {
		for _, l := range strings.Split(info, "\n") {
			b.WriteString("\r\n" + l + "\r\n")
		}
	}
	b.WriteString("\r\n" + final + "\r\n")
	s.write(m, b.String())
}

func cmeError(code int) string { return "+CME ERROR: " + strconv.Itoa(code) }
func cmsError(code int) string { return "+CMS ERROR: " + strconv.Itoa(code) }

// command executes one command line and returns a send state when the
// modem now waits for a message body.
func (s *Sim) command(m *os.File, line string) *sendState {
	s.mu.Lock()
	s.commands = append(s.commands, line)
	echo := s.echo
	s.mu.Unlock()
	if echo {
		s.write(m, line+"\r")
	}
	// V.250 5.2.1: characters before the "AT" prefix are ignored, and a
	// line without the prefix gets no answer at all.
	i := strings.Index(strings.ToUpper(line), "AT")
	if i < 0 {
		return nil
	}
	line = line[i:]
	up := strings.ToUpper(line)
	cmd := line[2:]
	ucmd := up[2:]
	s.mu.Lock()
	sim, reg, rssi := s.sim, s.reg, s.rssi
	s.mu.Unlock()
	simErr := func() (string, bool) {
		switch sim {
		case SIMReady:
			return "", false
		case SIMPIN:
			return cmeError(11), true // SIM PIN required
		}
		return cmeError(10), true // SIM not inserted
	}
	switch {
	case ucmd == "" || ucmd == "Z" || ucmd == "&F" || ucmd == "V1":
		s.answer(m, "", "OK")
	case ucmd == "E0" || ucmd == "E1":
		s.mu.Lock()
		s.echo = ucmd == "E1"
		s.mu.Unlock()
		s.answer(m, "", "OK")
	case ucmd == "+GCAP":
		s.answer(m, "+GCAP: +CGSM,+DS,+ES", "OK")
	case ucmd == "+CGMI":
		s.answer(m, "praxisgate modemsim", "OK")
	case strings.HasPrefix(ucmd, "+CMEE=") || strings.HasPrefix(ucmd, "+CNMI=") ||
		strings.HasPrefix(ucmd, "+CSCS=") || strings.HasPrefix(ucmd, "+CSMS=") || strings.HasPrefix(ucmd, "+CPMS="):
		s.answer(m, "", "OK")
	case ucmd == "+CMGF=0" || ucmd == "+CMGF=1":
		s.mu.Lock()
		s.textMode = ucmd == "+CMGF=1"
		s.mu.Unlock()
		s.answer(m, "", "OK")
	case ucmd == "+CMGF?":
		s.mu.Lock()
		v := 0
		if s.textMode {
			v = 1
		}
		s.mu.Unlock()
		s.answer(m, fmt.Sprintf("+CMGF: %d", v), "OK")
	case ucmd == "+CPIN?":
		switch sim {
		case SIMReady, SIMPIN:
			s.answer(m, "+CPIN: "+sim, "OK")
		default:
			s.answer(m, "", cmeError(10))
		}
	case strings.HasPrefix(ucmd, "+CPIN="):
		pin := strings.Trim(cmd[len("+CPIN="):], "\"")
		switch {
		case sim == SIMReady:
			s.answer(m, "", cmeError(3)) // operation not allowed
		case sim != SIMPIN:
			s.answer(m, "", cmeError(10))
		case pin != s.pin:
			s.answer(m, "", cmeError(16)) // incorrect password
		default:
			s.mu.Lock()
			s.sim = SIMReady
			s.mu.Unlock()
			s.answer(m, "", "OK")
		}
	case ucmd == "+CSQ":
		s.answer(m, fmt.Sprintf("+CSQ: %d,99", rssi), "OK")
	case ucmd == "+CREG?" || ucmd == "+CEREG?":
		if _, bad := simErr(); bad {
			// Without a usable SIM a modem still answers, registered nowhere.
			reg = RegNone
		}
		s.answer(m, fmt.Sprintf("%s: 0,%d", ucmd[:len(ucmd)-1], reg), "OK")
	case strings.HasPrefix(ucmd, "+CMGS="):
		if _, bad := simErr(); bad {
			s.answer(m, "", cmsError(smsSIMCode(sim)))
			return nil
		}
		arg := cmd[len("+CMGS="):]
		st := &sendState{}
		s.mu.Lock()
		st.text = s.textMode
		s.mu.Unlock()
		if st.text {
			st.to = strings.Trim(strings.SplitN(arg, ",", 2)[0], "\"")
		} else {
			n, err := strconv.Atoi(strings.TrimSpace(arg))
			if err != nil || n < 1 || n > 164 {
				s.answer(m, "", cmsError(304)) // invalid PDU mode parameter
				return nil
			}
			st.length = n
		}
		s.write(m, "\r\n> ")
		return st
	case strings.HasPrefix(ucmd, "+CMGR="):
		i, err := strconv.Atoi(strings.TrimSpace(cmd[len("+CMGR="):]))
		if _, bad := simErr(); bad {
			s.answer(m, "", cmsError(smsSIMCode(sim)))
			return nil
		}
		s.mu.Lock()
		msg, ok := s.store[i]
		if ok {
			s.store[i] = stored{from: msg.from, text: msg.text, at: msg.at, read: true}
		}
		text := s.textMode
		s.mu.Unlock()
		if err != nil || !ok {
			s.answer(m, "", cmsError(321)) // invalid memory index
			return nil
		}
		s.answer(m, s.entry("+CMGR", -1, msg, text), "OK")
	case strings.HasPrefix(ucmd, "+CMGL"):
		s.mu.Lock()
		idx := make([]int, 0, len(s.store))
		for i := range s.store {
			idx = append(idx, i)
		}
		text := s.textMode
		s.mu.Unlock()
		sortInts(idx)
		var lines []string
		for _, i := range idx {
			s.mu.Lock()
			msg := s.store[i]
			s.mu.Unlock()
			lines = append(lines, s.entry("+CMGL", i, msg, text))
		}
		s.answer(m, strings.Join(lines, "\n"), "OK")
	case strings.HasPrefix(ucmd, "+CMGD="):
		i, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(cmd[len("+CMGD="):], ",", 2)[0]))
		s.mu.Lock()
		_, ok := s.store[i]
		delete(s.store, i)
		s.mu.Unlock()
		if err != nil || !ok {
			s.answer(m, "", cmsError(321))
			return nil
		}
		s.answer(m, "", "OK")
	case strings.HasPrefix(ucmd, "D"):
		num := strings.TrimSuffix(strings.TrimSpace(cmd[1:]), ";")
		if _, bad := simErr(); bad || (reg != RegHome && reg != RegRoaming) {
			s.answer(m, "", "NO CARRIER")
			return nil
		}
		s.mu.Lock()
		fail := s.dialResult
		s.dialResult = ""
		if fail == "" {
			s.calls = append(s.calls, Call{Number: num})
			s.inCall = true
		}
		s.mu.Unlock()
		if fail != "" {
			s.answer(m, "", fail)
			return nil
		}
		// A voice call (";") returns OK at once; the far end rings.
		s.answer(m, "", "OK")
	case ucmd == "H" || ucmd == "+CHUP":
		s.mu.Lock()
		if s.inCall && len(s.calls) > 0 {
			s.calls[len(s.calls)-1].HungUp = true
		}
		s.inCall = false
		s.mu.Unlock()
		s.answer(m, "", "OK")
	default:
		s.answer(m, "", "ERROR")
	}
	return nil
}

// smsSIMCode is the TS 27.005 3.2.5 code for a SIM that is not ready.
func smsSIMCode(sim string) int {
	if sim == SIMPIN {
		return 311 // SIM PIN required
	}
	return 310 // SIM not inserted
}

// entry formats one stored message for +CMGR (index -1) or +CMGL.
func (s *Sim) entry(prefix string, index int, msg stored, text bool) string {
	head := prefix + ": "
	if index >= 0 {
		head += strconv.Itoa(index) + ","
	}
	if text {
		st := "\"REC UNREAD\""
		if msg.read {
			st = "\"REC READ\""
		}
		ts := msg.at.UTC().Format("06/01/02,15:04:05") + "+00"
		return fmt.Sprintf("%s%s,\"%s\",,\"%s\"\n%s", head, st, msg.from, ts, msg.text)
	}
	st := 0
	if msg.read {
		st = 1
	}
	pdu, n := encodeDeliver(msg.from, msg.text, msg.at)
	return fmt.Sprintf("%s%d,,%d\n%s", head, st, n, pdu)
}

// finishSend completes AT+CMGS after Ctrl-Z. It returns false when the
// simulated stick was pulled.
func (s *Sim) finishSend(m *os.File, st *sendState) bool {
	s.mu.Lock()
	unplug := s.unplugSend
	s.unplugSend = false
	fail := s.failNext
	s.failNext = 0
	reg := s.reg
	s.mu.Unlock()
	if unplug {
		go s.Unplug()
		return false
	}
	var sub Submit
	if st.text {
		sub = Submit{To: st.to, Text: string(st.data), Coding: "text", Mode: "text"}
	} else {
		var err error
		sub, err = decodeSubmit(string(st.data), st.length)
		if err != nil {
			s.answer(m, "", cmsError(304))
			return true
		}
	}
	switch {
	case fail != 0:
		s.answer(m, "", cmsError(fail))
	case reg != RegHome && reg != RegRoaming:
		s.answer(m, "", cmsError(331)) // no network service
	default:
		s.mu.Lock()
		s.mr = (s.mr + 1) % 256
		mr := s.mr
		sub.At = time.Now()
		s.submits = append(s.submits, sub)
		s.mu.Unlock()
		if s.onSub != nil {
			s.onSub(sub)
		}
		s.answer(m, fmt.Sprintf("+CMGS: %d", mr), "OK")
	}
	return true
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
