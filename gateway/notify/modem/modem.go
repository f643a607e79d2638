// Package modem drives a cellular modem (USB LTE/GSM stick) over its AT
// command port: it sends SMS (3GPP TS 27.005, PDU or text mode, GSM 7-bit
// where the text allows, UCS-2 otherwise, concatenated when long), rings a
// phone and hangs up, reads incoming SMS, and watches the modem's health
// (SIM, registration, signal). It keeps the port open across USB
// re-enumeration by reopening the configured path (best a
// /dev/serial/by-id link) whenever the stick goes away.
//
// The AT framing and the TPDU encoding are github.com/warthog618/modem and
// github.com/warthog618/sms; this package adds the session handling, the
// health checks and the readers of the answers the notifier relies on.
package modem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/warthog618/modem/at"
	"github.com/warthog618/modem/gsm"
	"github.com/warthog618/sms/encoding/tpdu"

	"github.com/praxisgate/praxisgate/drivers"
)

type tpduT = tpdu.TPDU

// Config describes the modem.
type Config struct {
	// Port is the AT command port; prefer /dev/serial/by-id/... so the
	// stick is found again after it re-enumerates.
	Port string
	// Baud of the port (USB sticks ignore it); 0 means 115200.
	Baud int
	// TextMode sends plain-ASCII single messages in text mode (AT+CMGF=1);
	// anything else still goes as PDU. The default is PDU mode.
	TextMode bool
	// PIN unlocks the SIM when it asks for one.
	PIN drivers.Secret
	// CommandTimeout bounds ordinary commands; 0 means 10 s.
	CommandTimeout time.Duration
	// SendTimeout bounds one AT+CMGS; networks can take a minute; 0 means 60 s.
	SendTimeout time.Duration
	// Retry is the pause before reopening a lost or absent modem; 0 means 5 s.
	Retry time.Duration
}

// Health is what the modem last told about itself.
type Health struct {
	// Present is true while the port is open.
	Present bool
	// Responding is true when the last command got an answer.
	Responding bool
	// Judged is true once a command on the open port has been answered
	// or has failed: until then (the port just opened, the modem still
	// being set up) "not responding" is no verdict and raises no alarm.
	Judged bool
	// SIM is the +CPIN state ("READY", "SIM PIN", ...), "missing" or "".
	SIM string
	// Reg is the registration state name (RegName); "" before the first check.
	Reg string
	// RSSI is the +CSQ value (99 unknown).
	RSSI int
	// Checked is when these were read.
	Checked time.Time
	// Err is the last error talking to the modem.
	Err string
}

// Errors a sender can tell apart.
var (
	// ErrAbsent means no modem is open right now.
	ErrAbsent = errors.New("modem absent")
	// ErrNotReady means the SIM is locked or missing, or there is no network.
	ErrNotReady = errors.New("modem not ready")
)

// Modem is one cellular modem. Its methods are safe for concurrent use;
// the AT layer serialises the commands.
type Modem struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	onSMS func(SMS)

	// opMu keeps an SMS send and an SMS read apart: in text mode a send
	// that needs PDU switches the modem's message format for a moment,
	// and a +CMGR answered in between would be read in the wrong format.
	opMu sync.Mutex

	mu     sync.Mutex
	a      *at.AT
	g      *gsm.GSM
	p      *port
	health Health
	wake   chan struct{}
}

// New checks the config; Run opens the port.
func New(cfg Config, log *slog.Logger) (*Modem, error) {
	if cfg.Port == "" {
		return nil, errors.New("modem: port is required")
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 10 * time.Second
	}
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = 60 * time.Second
	}
	if cfg.Retry == 0 {
		cfg.Retry = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Modem{cfg: cfg, log: log.With("modem", cfg.Port), now: time.Now, wake: make(chan struct{}, 1)}, nil
}

// OnSMS sets the function that gets every incoming SMS; call before Run.
// It runs on its own goroutine per message; the SMS is deleted from the
// modem after it returns. It must not send through this modem itself
// (the read holds the modem's SMS lock); hand such work to another
// goroutine.
func (m *Modem) OnSMS(f func(SMS)) { m.onSMS = f }

// Health returns the last health reading.
func (m *Modem) Health() Health {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.health
}

func (m *Modem) setHealth(f func(*Health)) {
	m.mu.Lock()
	f(&m.health)
	m.health.Checked = m.now()
	m.mu.Unlock()
}

// Run keeps a session with the modem until ctx ends: open, initialise,
// read waiting SMS, check health every interval, and start again after a
// pause when the port fails (stick pulled, modem hung).
func (m *Modem) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	for {
		opened, err := m.session(ctx, interval)
		if ctx.Err() != nil {
			return nil
		}
		m.log.Warn("modem session ended", "err", err)
		// A port that opened but did not answer stays "present, not
		// responding" until a reopen fails: that is a hung modem, not
		// a missing one.
		m.setHealth(func(h *Health) {
			h.Present = opened
			h.Responding = false
			h.Judged = opened
			if err != nil {
				h.Err = err.Error()
			}
		})
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(m.cfg.Retry):
		case <-m.wake:
		}
	}
}

// session runs one open port until it fails or ctx ends; opened tells
// whether the port could be opened at all.
func (m *Modem) session(ctx context.Context, interval time.Duration) (opened bool, err error) {
	p, err := openPort(m.cfg.Port, m.cfg.Baud)
	if err != nil {
		m.setHealth(func(h *Health) { *h = Health{Err: err.Error(), RSSI: 99} })
		return false, fmt.Errorf("open %s: %w", m.cfg.Port, err)
	}
	a := at.New(p, at.WithTimeout(m.cfg.CommandTimeout))
	var g *gsm.GSM
	if m.cfg.TextMode {
		g = gsm.New(a, gsm.WithTextMode)
	} else {
		g = gsm.New(a, gsm.WithPDUMode)
	}
	m.mu.Lock()
	m.a, m.g, m.p = a, g, p
	m.health.Present = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.a, m.g, m.p = nil, nil, nil
		m.mu.Unlock()
		p.Close()
	}()
	if err := m.init(a); err != nil {
		return true, err
	}
	m.log.Info("modem ready", "sim", m.Health().SIM, "registration", m.Health().Reg)
	m.readStored(a)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-a.Closed():
			return true, errors.New("port closed")
		case <-t.C:
			if err := m.check(a); errors.Is(err, at.ErrDeadlineExceeded) {
				return true, fmt.Errorf("modem not answering: %w", err)
			}
		}
	}
}

// init brings the modem into a known state: echo off, numeric errors, the
// SMS mode, new SMS stored and announced by +CMTI, SIM unlocked.
func (m *Modem) init(a *at.AT) error {
	mode := "+CMGF=0"
	if m.cfg.TextMode {
		mode = "+CMGF=1"
	}
	// ATZ would drop what the user set in the stick; E0 and V1 are what
	// the AT layer's parsing needs.
	if err := a.Init(at.WithCmds("E0", "V1", "+CMEE=1")); err != nil {
		m.setHealth(func(h *Health) { h.Responding, h.Judged = false, true; h.Err = err.Error() })
		return fmt.Errorf("init: %w", err)
	}
	m.setHealth(func(h *Health) { h.Responding, h.Judged = true, true; h.Err = "" })
	if err := m.unlock(a); err != nil {
		return err
	}
	for _, c := range []string{mode, "+CNMI=2,1,0,0,0"} {
		if _, err := a.Command(c); err != nil {
			// A SIM still locked refuses SMS setup; health shows why.
			m.log.Warn("modem setup", "cmd", "AT"+c, "err", err)
		}
	}
	if err := a.AddIndication("+CMTI:", m.cmti); err != nil {
		return fmt.Errorf("register +CMTI: %w", err)
	}
	_ = m.check(a)
	return nil
}

// unlock enters the PIN when the SIM asks for it. A wrong PIN is entered
// once per session only: three wrong tries lock the SIM for the PUK.
func (m *Modem) unlock(a *at.AT) error {
	st, err := m.simState(a)
	m.setHealth(func(h *Health) { h.SIM = st })
	if err != nil || st != "SIM PIN" || m.cfg.PIN == "" {
		return nil
	}
	if _, err := a.Command(`+CPIN="` + m.cfg.PIN.Reveal() + `"`); err != nil {
		m.log.Error("SIM PIN refused; not trying again until the modem is replugged", "err", err)
		return nil
	}
	st, _ = m.simState(a)
	m.setHealth(func(h *Health) { h.SIM = st })
	return nil
}

func (m *Modem) simState(a *at.AT) (string, error) {
	lines, err := a.Command("+CPIN?")
	var cme at.CMEError
	switch {
	case errors.As(err, &cme) && (cme == "10" || cme == "13"):
		return "missing", nil
	case err != nil:
		return "", err
	}
	return ParseCPIN(lines)
}

// check reads SIM state, registration and signal into Health.
func (m *Modem) check(a *at.AT) error {
	st, err := m.simState(a)
	if errors.Is(err, at.ErrDeadlineExceeded) || errors.Is(err, at.ErrClosed) {
		m.setHealth(func(h *Health) { h.Responding, h.Judged = false, true; h.Err = err.Error() })
		return err
	}
	reg := -1
	for _, c := range []string{"+CEREG", "+CREG"} {
		lines, err := a.Command(c + "?")
		if err != nil {
			continue
		}
		if s, err := ParseReg(lines, c); err == nil && (reg < 0 || Registered(s)) {
			reg = s
		}
	}
	rssi := 99
	if lines, err := a.Command("+CSQ"); err == nil {
		if v, err := ParseCSQ(lines); err == nil {
			rssi = v
		}
	}
	m.setHealth(func(h *Health) {
		h.Responding, h.Judged = true, true
		h.SIM = st
		h.Reg = RegName(reg)
		h.RSSI = rssi
		h.Err = ""
	})
	return nil
}

func (m *Modem) current() (*at.AT, *gsm.GSM) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.a, m.g
}

// ready reports why sending cannot work now, from the last health check.
func (m *Modem) ready() error {
	h := m.Health()
	switch {
	case !h.Present:
		return ErrAbsent
	case !h.Responding:
		return fmt.Errorf("%w: not answering", ErrNotReady)
	case h.SIM != "" && h.SIM != "READY":
		return fmt.Errorf("%w: SIM %s", ErrNotReady, h.SIM)
	case h.Reg != "" && h.Reg != "home" && h.Reg != "roaming":
		return fmt.Errorf("%w: network %s", ErrNotReady, h.Reg)
	}
	return nil
}

// SendSMS sends text to number and returns how many SMS it took. Text
// that fits the GSM 7-bit default alphabet is sent as such, anything else
// as UCS-2; a long text goes as a concatenated SMS. ctx is checked
// between parts: the AT layer's own timeout bounds each part.
func (m *Modem) SendSMS(ctx context.Context, number, text string) (int, error) {
	a, g := m.current()
	if a == nil {
		return 0, ErrAbsent
	}
	if err := m.ready(); err != nil {
		return 0, err
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.cfg.TextMode && plainSingle(text) {
		_, err := g.SendShortMessage(number, text, at.WithTimeout(m.cfg.SendTimeout))
		if err != nil {
			return 0, m.sendErr(err)
		}
		return 1, nil
	}
	if m.cfg.TextMode {
		if _, err := a.Command("+CMGF=0"); err != nil {
			return 0, m.sendErr(err)
		}
		defer a.Command("+CMGF=1")
		g = gsm.New(a, gsm.WithPDUMode)
	}
	pdus, err := encode(number, text)
	if err != nil {
		return 0, err
	}
	for i, p := range pdus {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		b, err := p.MarshalBinary()
		if err != nil {
			return i, fmt.Errorf("encode part %d: %w", i+1, err)
		}
		if _, err := g.SendPDU(b, at.WithTimeout(m.cfg.SendTimeout)); err != nil {
			return i, fmt.Errorf("part %d of %d: %w", i+1, len(pdus), m.sendErr(err))
		}
	}
	return len(pdus), nil
}

// sendErr marks a modem that stopped answering so Run reopens it.
func (m *Modem) sendErr(err error) error {
	if errors.Is(err, at.ErrDeadlineExceeded) || errors.Is(err, at.ErrClosed) {
		m.setHealth(func(h *Health) { h.Responding, h.Judged = false, true; h.Err = err.Error() })
		m.mu.Lock()
		if m.p != nil {
			m.p.Close()
		}
		m.mu.Unlock()
	}
	return err
}

// plainSingle reports whether text fits one text-mode SMS in plain ASCII,
// which every modem's default character set passes unchanged.
func plainSingle(text string) bool {
	if len(text) > 160 {
		return false
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < 0x20 || c > 0x7E || strings.ContainsRune("@$[]{}\\^~|`_", rune(c)) {
			return false
		}
	}
	return true
}

// Call rings number for ring, then hangs up. A voice call (ATD...;)
// returns OK as soon as it is set up; the phone rings, and a person who
// answers hears silence: the SMS carries the words. Hang-up tries AT+CHUP
// (TS 27.007) and falls back to ATH.
func (m *Modem) Call(ctx context.Context, number string, ring time.Duration) error {
	a, _ := m.current()
	if a == nil {
		return ErrAbsent
	}
	if err := m.ready(); err != nil {
		return err
	}
	if _, err := a.Command("D" + number + ";"); err != nil {
		return fmt.Errorf("dial: %w", m.sendErr(err))
	}
	t := time.NewTimer(ring)
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-a.Closed():
		t.Stop()
		return errors.New("modem closed during the call")
	}
	t.Stop()
	if _, err := a.Command("+CHUP"); err != nil {
		if _, err2 := a.Command("H"); err2 != nil {
			return fmt.Errorf("hang up: %w", m.sendErr(err2))
		}
	}
	return nil
}

// cmti reads, hands on and deletes an SMS the modem announced.
func (m *Modem) cmti(info []string) {
	if len(info) == 0 {
		return
	}
	mem, idx, err := ParseCMTI(info[0])
	if err != nil {
		m.log.Warn("unreadable SMS announcement", "line", info[0], "err", err)
		return
	}
	a, _ := m.current()
	if a == nil {
		return
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	// AT+CMGR reads from the preferred read storage (TS 27.005 3.2.2);
	// point it at the storage the announcement names. A modem that has
	// only one storage may refuse, and then that one is meant.
	if mem != "" && validMem(mem) {
		_, _ = a.Command(`+CPMS="` + mem + `"`)
	}
	lines, err := a.Command(fmt.Sprintf("+CMGR=%d", idx))
	if err != nil {
		m.log.Warn("read SMS", "index", idx, "err", err)
		return
	}
	msg, err := ParseCMGR(lines, m.cfg.TextMode, idx)
	if err != nil {
		m.log.Warn("unreadable SMS deleted", "index", idx, "err", err)
	} else {
		m.deliver(msg)
	}
	m.delete(a, idx)
}

// validMem accepts the storage names of TS 27.005 3.2.2 (BM, ME, MT,
// SM, TA, SR) and nothing that could smuggle text into a command.
func validMem(mem string) bool {
	if len(mem) != 2 {
		return false
	}
	return mem[0] >= 'A' && mem[0] <= 'Z' && mem[1] >= 'A' && mem[1] <= 'Z'
}

// readStored hands on and deletes SMS that arrived while we were away.
func (m *Modem) readStored(a *at.AT) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	cmd := "+CMGL=4"
	if m.cfg.TextMode {
		cmd = `+CMGL="ALL"`
	}
	lines, err := a.Command(cmd)
	if err != nil {
		m.log.Warn("list stored SMS", "err", err)
		return
	}
	msgs, bad := ParseCMGL(lines, m.cfg.TextMode)
	for _, msg := range msgs {
		m.deliver(msg)
		m.delete(a, msg.Index)
	}
	for idx, err := range bad {
		m.log.Warn("unreadable stored SMS deleted", "index", idx, "err", err)
		m.delete(a, idx)
	}
}

func (m *Modem) deliver(msg SMS) {
	if m.onSMS != nil {
		m.onSMS(msg)
	}
}

func (m *Modem) delete(a *at.AT, idx int) {
	if _, err := a.Command(fmt.Sprintf("+CMGD=%d", idx)); err != nil {
		m.log.Warn("delete SMS", "index", idx, "err", err)
	}
}

// Poll reports the modem's health as a device sample, so the gateway can
// poll it like any device: metrics for the provider and conditions that
// become alarms (modem absent, not answering, SIM locked or missing, no
// network).
func (m *Modem) Poll(ctx context.Context) (drivers.Sample, error) {
	h := m.Health()
	s := drivers.Sample{Kind: "modem"}
	s.Metrics = append(s.Metrics, drivers.Flag("modem.present", h.Present), drivers.Flag("modem.responding", h.Responding && h.Present))
	if dbm, ok := RSSIdBm(h.RSSI); ok && h.Present {
		s.Metrics = append(s.Metrics, drivers.Num("modem.signal", dbm, "dBm"))
	}
	if h.Reg != "" {
		s.Metrics = append(s.Metrics, drivers.Text("modem.registration", h.Reg))
	}
	if h.SIM != "" {
		s.Metrics = append(s.Metrics, drivers.Text("modem.sim", h.SIM))
	}
	cond := func(name, msg string) {
		s.Conditions = append(s.Conditions, drivers.Condition{Name: name, Severity: drivers.Major, Message: msg})
	}
	switch {
	case !h.Present:
		cond("modem.absent", "cellular modem not found at "+m.cfg.Port)
	case !h.Responding && !h.Judged:
		// Just opened and still being set up: no verdict yet.
	case !h.Responding:
		cond("modem.not_responding", "cellular modem does not answer AT commands")
	case h.SIM == "missing":
		cond("modem.sim_missing", "no SIM card in the cellular modem")
	case h.SIM != "" && h.SIM != "READY":
		cond("modem.sim_locked", "SIM card locked: "+h.SIM)
	case h.Reg != "" && h.Reg != "home" && h.Reg != "roaming":
		cond("modem.no_network", "cellular modem not registered: "+h.Reg)
	}
	return s, nil
}

// Kick makes Run retry opening at once (after a udev event, or in tests).
func (m *Modem) Kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}
