// Package upssim simulates a serial UPS on a pseudo-terminal, speaking the
// Megatec/Q1 or the APC smart protocol, so that the ups driver can be
// tested through a real tty (termios, EIO on hang-up, kernel buffering)
// and the demo can show a UPS that loses mains without a UPS in the room.
//
// The device path handed out is a symlink the simulator owns: Unplug
// removes it and hangs up the pty like a USB-serial adapter being pulled,
// Replug points it at a fresh pty like udev does when the adapter returns.
package upssim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Protocol is the serial protocol the simulated UPS speaks.
type Protocol string

// The two protocols.
const (
	Megatec  Protocol = "megatec"
	APCSmart Protocol = "apcsmart"
)

// State is what the simulated UPS measures and how it misbehaves.
type State struct {
	InputV, OutputV, Freq float64
	Load                  float64 // %
	BattV                 float64 // pack voltage
	Temp                  float64 // °C
	Charge                float64 // % (APC only; Megatec units report none)
	RuntimeMin            float64 // minutes (APC only)
	OnBattery             bool
	LowBattery            bool
	ReplaceBattery        bool
	// Overload is reported by APC units only; Q1 has no overload bit.
	Overload bool
	Beeper   bool

	// Silent makes the UPS answer nothing (a hung unit or a broken cable).
	Silent bool
	// Garbage sends line noise and a torn reply before every real reply.
	Garbage bool
	// NoCR leaves out the final CR of Megatec replies (seen on real units).
	NoCR bool
	// Dumb is an APC unit fresh from power-up: it answers nothing until it
	// receives Y, then speaks smart mode (APC only). Setting it again
	// puts the unit back into dumb mode, like a restart as mains returns.
	Dumb bool
	// Garble replaces every reply by bytes of the same length that belong
	// to no protocol (a wrong baud rate or a broken line driver).
	Garble bool
}

// Normal is a healthy UPS on mains at 230 V.
func Normal() State {
	return State{InputV: 230.1, OutputV: 230.1, Freq: 50.0, Load: 23, BattV: 27.3, Temp: 29.0,
		Charge: 100, RuntimeMin: 42, Beeper: true}
}

// Options configure a simulator.
type Options struct {
	Protocol Protocol
	// Baud, when set, delays every reply by the time its command and reply
	// would take on a real line at this rate (10 bits a byte), so
	// benchmarks see realistic poll times. 0 answers at once.
	Baud int
	// Dir holds the device symlink; empty means a new temporary directory
	// that Close removes.
	Dir string
	// Initial is the starting state; zero means Normal().
	Initial *State
}

// Sim is a running simulated UPS. Its methods are safe for concurrent use.
type Sim struct {
	opts    Options
	path    string
	ownDir  bool
	mu      sync.Mutex
	st      State
	master  *os.File
	slave   *os.File
	done    chan struct{}
	plugged bool
	closed  bool
	// Served counts commands answered, for tests that wait for traffic.
	served int
}

// New creates the pty, the device symlink and starts answering.
func New(opts Options) (*Sim, error) {
	if opts.Protocol != Megatec && opts.Protocol != APCSmart {
		return nil, fmt.Errorf("upssim: unknown protocol %q", opts.Protocol)
	}
	s := &Sim{opts: opts, st: Normal()}
	if opts.Initial != nil {
		s.st = *opts.Initial
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "upssim-")
		if err != nil {
			return nil, fmt.Errorf("upssim: %w", err)
		}
		dir, s.ownDir = d, true
	}
	s.path = filepath.Join(dir, "ttyUPS")
	if err := s.Replug(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Path is the device path to configure in the ups driver.
func (s *Sim) Path() string { return s.path }

// State returns the current state.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Served returns how many commands the simulator has answered so far.
func (s *Sim) Served() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// Update changes the state. An APC unit announces changes of mains, low
// battery, battery replacement and overload with its alert characters, as
// the real one does between polls.
func (s *Sim) Update(f func(*State)) {
	s.mu.Lock()
	old := s.st
	f(&s.st)
	cur, m := s.st, s.master
	s.mu.Unlock()
	if s.opts.Protocol != APCSmart || m == nil || cur.Silent {
		return
	}
	var alerts []byte
	edge := func(was, is bool, on, off byte) {
		if !was && is {
			alerts = append(alerts, on)
		}
		if was && !is && off != 0 {
			alerts = append(alerts, off)
		}
	}
	edge(old.OnBattery, cur.OnBattery, '!', '$')
	edge(old.LowBattery, cur.LowBattery, '%', '+')
	edge(old.ReplaceBattery, cur.ReplaceBattery, '#', 0)
	edge(old.Overload, cur.Overload, '?', '=')
	if len(alerts) > 0 {
		_, _ = m.Write(alerts)
	}
}

// Unplug hangs up the pty and removes the device path, like pulling a
// USB-serial adapter: the driver's reads fail with EIO and a reopen finds
// no device.
func (s *Sim) Unplug() error {
	s.mu.Lock()
	m, sl, done := s.master, s.slave, s.done
	s.master, s.slave, s.plugged = nil, nil, false
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

// Replug creates a fresh pty and points the device path at it.
func (s *Sim) Replug() error {
	s.mu.Lock()
	if s.plugged || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	m, sl, err := openPTY()
	if err != nil {
		return fmt.Errorf("upssim: open pty: %w", err)
	}
	if err := makeRaw(sl); err != nil {
		m.Close()
		sl.Close()
		return fmt.Errorf("upssim: raw mode: %w", err)
	}
	tmp := s.path + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(sl.Name(), tmp); err != nil {
		m.Close()
		sl.Close()
		return fmt.Errorf("upssim: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		m.Close()
		sl.Close()
		return fmt.Errorf("upssim: %w", err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.master, s.slave, s.done, s.plugged = m, sl, done, true
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

// openPTY opens a pty pair whose master goes through Go's poller, so that
// Unplug's Close wakes the serving goroutine. pty.Open leaves the master in
// blocking mode (it calls Fd), where Close would not interrupt a Read.
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

// makeRaw puts the line into raw mode so neither side's bytes are echoed
// or translated before the driver sets its own termios.
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

// serve answers commands until the pty is closed.
func (s *Sim) serve(m *os.File) {
	buf := make([]byte, 256)
	var line []byte
	for {
		n, err := m.Read(buf)
		if err != nil {
			return
		}
		for _, c := range buf[:n] {
			if s.opts.Protocol == APCSmart {
				s.reply(m, []byte{c}, s.apcReply(c))
				continue
			}
			if c != '\r' {
				if len(line) < 64 {
					line = append(line, c)
				}
				continue
			}
			cmd := string(line)
			line = line[:0]
			s.reply(m, []byte(cmd+"\r"), s.megatecReply(cmd))
		}
	}
}

// reply writes one answer, after the line time when pacing.
func (s *Sim) reply(m *os.File, cmd, r []byte) {
	s.mu.Lock()
	st := s.st
	if !st.Silent {
		s.served++
	}
	s.mu.Unlock()
	if st.Silent || r == nil {
		return
	}
	if st.Garble {
		g := make([]byte, len(r))
		for i := range g {
			g[i] = "\xfe\x80~#\x9f\xe0"[i%6]
		}
		r = g
	}
	if st.Garbage {
		noise := []byte("\xfe\x00~noise\r(229.9 22\r")
		if s.opts.Protocol == APCSmart {
			noise = []byte("\xfe\x00~noise\r\n")
		}
		r = append(noise, r...)
	}
	if s.opts.Baud > 0 {
		time.Sleep(time.Duration(len(cmd)+len(r)) * 10 * time.Second / time.Duration(s.opts.Baud))
	}
	_, _ = m.Write(r)
}

func (s *Sim) megatecReply(cmd string) []byte {
	st := s.State()
	end := "\r"
	if st.NoCR {
		end = ""
	}
	switch cmd {
	case "Q1":
		bits := []byte("00001000")
		set := func(i int, v bool) {
			if v {
				bits[i] = '1'
			}
		}
		set(0, st.OnBattery)
		set(1, st.LowBattery)
		set(7, st.Beeper)
		in := st.InputV
		if st.OnBattery {
			in = 0
		}
		return fmt.Appendf(nil, "(%05.1f %05.1f %05.1f %03.0f %04.1f %04.1f %04.1f %s%s",
			in, in, st.OutputV, st.Load, st.Freq, st.BattV, st.Temp, bits, end)
	case "F":
		return []byte("#230.0 004 024.0 50.0" + end)
	case "I":
		return fmt.Appendf(nil, "#%-15s %-10s %-10s%s", "PRAXISSIM", "SIM-1000", "V1.0", end)
	case "Q", "T", "TL", "C", "CT":
		return nil // actions: no reply
	}
	// Unknown commands are echoed, as real units do.
	return []byte(cmd + "\r")
}

func (s *Sim) apcReply(c byte) []byte {
	st := s.State()
	var r string
	if st.Dumb {
		if c != 'Y' {
			return nil
		}
		s.mu.Lock()
		s.st.Dumb = false
		s.mu.Unlock()
	}
	switch c {
	case 'Y':
		r = "SM"
	case 'R':
		r = "BYE"
	case 'Q':
		var reg byte
		if st.OnBattery {
			reg |= 0x10
		} else {
			reg |= 0x08
		}
		if st.Overload {
			reg |= 0x20
		}
		if st.LowBattery {
			reg |= 0x40
		}
		if st.ReplaceBattery {
			reg |= 0x80
		}
		r = fmt.Sprintf("%02X", reg)
	case 'f':
		r = fmt.Sprintf("%05.1f", st.Charge)
	case 'j':
		r = fmt.Sprintf("%04.0f:", st.RuntimeMin)
	case 'B':
		r = fmt.Sprintf("%05.2f", st.BattV)
	case 'L':
		if st.OnBattery {
			r = "000.0"
		} else {
			r = fmt.Sprintf("%05.1f", st.InputV)
		}
	case 'O':
		r = fmt.Sprintf("%05.1f", st.OutputV)
	case 'F':
		r = fmt.Sprintf("%05.2f", st.Freq)
	case 'P':
		r = fmt.Sprintf("%05.1f", st.Load)
	case 'C':
		r = fmt.Sprintf("%05.1f", st.Temp)
	case 0x01:
		r = "Smart-UPS 750"
	case 'b':
		r = "651.12.I"
	case 'n':
		r = "AS0123456789"
	case 'g':
		r = "024"
	case '\r', '\n':
		return nil
	default:
		r = "NA"
	}
	return []byte(r + "\r\n")
}

// Step is one stage of a scenario.
type Step struct {
	Name string
	// Hold is how long Play keeps this stage before the next.
	Hold time.Duration
	Set  func(*State)
}

// Scenario is a scripted sequence of states.
type Scenario struct {
	Name  string
	Steps []Step
}

// Scenarios returns the built-in scenarios by name: mains-failure,
// battery-drain, recovery, replace-battery, garbage, silence and demo
// (all of them in a loop-friendly order).
func Scenarios() map[string]Scenario {
	normal := Step{Name: "on line", Hold: 20 * time.Second, Set: func(s *State) {
		g, nc := s.Garbage, s.NoCR
		*s = Normal()
		s.Garbage, s.NoCR = g, nc
	}}
	onBatt := Step{Name: "mains failure", Hold: 10 * time.Second, Set: func(s *State) {
		s.OnBattery, s.Charge, s.RuntimeMin, s.BattV = true, 90, 30, 25.2
	}}
	draining := Step{Name: "battery draining", Hold: 10 * time.Second, Set: func(s *State) {
		s.OnBattery, s.Charge, s.RuntimeMin, s.BattV = true, 45, 12, 23.9
	}}
	low := Step{Name: "low battery", Hold: 10 * time.Second, Set: func(s *State) {
		s.OnBattery, s.LowBattery, s.Charge, s.RuntimeMin, s.BattV = true, true, 12, 2, 22.4
	}}
	back := Step{Name: "back on line, recharging", Hold: 20 * time.Second, Set: func(s *State) {
		s.OnBattery, s.LowBattery, s.Charge, s.RuntimeMin, s.BattV = false, false, 60, 25, 26.8
	}}
	replace := Step{Name: "replace battery", Hold: 20 * time.Second, Set: func(s *State) { s.ReplaceBattery = true }}
	garbage := Step{Name: "line noise", Hold: 20 * time.Second, Set: func(s *State) { s.Garbage = true }}
	silence := Step{Name: "silence", Hold: 20 * time.Second, Set: func(s *State) { s.Silent = true }}
	sc := map[string]Scenario{
		"mains-failure":   {Steps: []Step{normal, onBatt, back}},
		"battery-drain":   {Steps: []Step{normal, onBatt, draining, low}},
		"recovery":        {Steps: []Step{low, back, normal}},
		"replace-battery": {Steps: []Step{normal, replace}},
		"garbage":         {Steps: []Step{normal, garbage}},
		"silence":         {Steps: []Step{normal, silence, normal}},
		"demo":            {Steps: []Step{normal, onBatt, draining, low, back, normal, replace, normal}},
	}
	for name, s := range sc {
		s.Name = name
		sc[name] = s
	}
	return sc
}

// Play applies the scenario's steps in order, holding each for its Hold,
// until the last step's Hold ends or ctx is cancelled. With loop set it
// starts over.
func (s *Sim) Play(ctx context.Context, sc Scenario, loop bool) error {
	if len(sc.Steps) == 0 {
		return fmt.Errorf("upssim: scenario %q has no steps", sc.Name)
	}
	for {
		for _, st := range sc.Steps {
			s.Update(st.Set)
			t := time.NewTimer(st.Hold)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if !loop {
			return nil
		}
	}
}

// Start runs a simulator playing the named scenario in a loop until ctx
// ends or stop is called; it is what `praxisgate demo` uses in place of a
// real UPS. The returned path goes into the ups driver's `port`.
func Start(ctx context.Context, proto Protocol, scenario string) (devicePath string, stop func(), err error) {
	sc, ok := Scenarios()[scenario]
	if !ok {
		names := make([]string, 0)
		for n := range Scenarios() {
			names = append(names, n)
		}
		return "", nil, fmt.Errorf("upssim: unknown scenario %q (have %s)", scenario, strings.Join(names, ", "))
	}
	s, err := New(Options{Protocol: proto})
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	played := make(chan struct{})
	go func() {
		defer close(played)
		_ = s.Play(ctx, sc, true)
	}()
	var once sync.Once
	return s.Path(), func() {
		once.Do(func() {
			cancel()
			<-played
			s.Close()
		})
	}, nil
}
