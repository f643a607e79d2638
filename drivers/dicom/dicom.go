// Package dicom checks imaging devices and the PACS with a DICOM
// verification (C-ECHO): it opens an association with the configured AE
// titles, sends one C-ECHO-RQ and releases. A ping shows that the X-ray
// workstation is switched on; only an echo shows that its DICOM service
// accepts the practice's modalities, which is what stops the practice when
// it fails. The upper layer protocol is implemented here (PS3.8) because
// an echo needs a small, fixed part of it.
package dicom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "dicom",
		Kind:     "imaging",
		Doc:      "DICOM verification (C-ECHO) of a modality, workstation or PACS",
		Defaults: defaults,
		New:      New,
	})
}

// Config is the device's `dicom:` section.
type Config struct {
	// Host is the device's name or address.
	Host string `yaml:"host"`
	// Port is its DICOM port: 104 by standard, 11112 on many PACS.
	Port int `yaml:"port"`
	// CalledAE is the device's AE title, as configured on the device.
	CalledAE string `yaml:"called_ae"`
	// CallingAE is the gateway's AE title; devices that check callers
	// must list it.
	CallingAE string `yaml:"calling_ae"`
	// Timeout bounds the whole exchange: connect, associate, echo, release.
	Timeout time.Duration `yaml:"timeout"`
}

func defaults() Config {
	return Config{Port: 104, CallingAE: "PRAXISGATE", Timeout: 10 * time.Second}
}

// checkAE applies PS3.5's AE rules: 1-16 characters of the default
// repertoire without backslash or control characters, not only spaces.
func checkAE(field, ae string) error {
	t := strings.TrimSpace(ae)
	switch {
	case t == "":
		return drivers.Fieldf(field, "required (1-16 characters)")
	case len(t) > 16:
		return drivers.Fieldf(field, "%q is longer than 16 characters", t)
	}
	for _, r := range t {
		if r < 0x20 || r > 0x7e || r == '\\' {
			return drivers.Fieldf(field, "%q holds %q; AE titles are printable ASCII without backslash", t, r)
		}
	}
	return nil
}

func (c *Config) check() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, drivers.Fieldf("host", "required"))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, drivers.Fieldf("port", "want 1-65535, got %d", c.Port))
	}
	if err := checkAE("called_ae", c.CalledAE); err != nil {
		errs = append(errs, err)
	}
	if err := checkAE("calling_ae", c.CallingAE); err != nil {
		errs = append(errs, err)
	}
	c.CalledAE, c.CallingAE = strings.TrimSpace(c.CalledAE), strings.TrimSpace(c.CallingAE)
	if c.Timeout <= 0 {
		errs = append(errs, drivers.Fieldf("timeout", "must be positive"))
	}
	return errors.Join(errs...)
}

// Driver verifies one DICOM application entity.
type Driver struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	msgID uint16
}

// New checks the config; it connects to nothing.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, log: log, now: time.Now}, nil
}

// ourMaxPDU is the largest P-DATA we announce we can receive.
const ourMaxPDU = 16384

// Poll runs association, echo and release once.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	addr := net.JoinHostPort(d.cfg.Host, strconv.Itoa(d.cfg.Port))
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	start := d.now()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return drivers.Sample{}, fmt.Errorf("dicom: connect %s: %w: %w", addr, drivers.ErrUnreachable, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Unblock reads and writes as soon as the caller gives up.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	status, err := d.echo(conn)
	if err != nil {
		if !errors.Is(err, drivers.ErrProtocol) {
			// Timeouts and resets: the service does not answer.
			return drivers.Sample{}, fmt.Errorf("dicom: %s (%s): %w: %w", addr, d.cfg.CalledAE, drivers.ErrUnreachable, err)
		}
		return drivers.Sample{}, fmt.Errorf("dicom: %s (%s): %w", addr, d.cfg.CalledAE, err)
	}
	latency := d.now().Sub(start)
	d.release(conn)

	s := drivers.Sample{Metrics: []drivers.Metric{
		drivers.Num("latency", latency.Seconds(), "s"),
		drivers.Num("dicom.status", float64(status.status), ""),
	}}
	if status.status != 0 {
		msg := fmt.Sprintf("C-ECHO to %s answered with status 0x%04x", d.cfg.CalledAE, status.status)
		if status.comment != "" {
			msg += fmt.Sprintf(" (%q)", status.comment)
		}
		s.Conditions = []drivers.Condition{{Name: "dicom.echo.failed", Severity: drivers.Major, Message: msg + "."}}
	}
	return s, nil
}

// echo associates and sends one C-ECHO-RQ; on success the association is
// left open for release.
func (d *Driver) echo(conn io.ReadWriter) (echoResponse, error) {
	if _, err := conn.Write(associateRQ(d.cfg.CallingAE, d.cfg.CalledAE, ourMaxPDU)); err != nil {
		return echoResponse{}, fmt.Errorf("send A-ASSOCIATE-RQ: %w", err)
	}
	p, err := readPDU(conn)
	if err != nil {
		return echoResponse{}, classifyRead("A-ASSOCIATE-AC", err)
	}
	switch p.typ {
	case pduAssociateAC:
	case pduAssociateRJ:
		rj, err := parseAssociateRJ(p.body)
		if err != nil {
			return echoResponse{}, fmt.Errorf("%w: %w", drivers.ErrProtocol, err)
		}
		return echoResponse{}, fmt.Errorf("%w: %s", drivers.ErrProtocol, rj)
	case pduAbort:
		return echoResponse{}, d.aborted(p)
	default:
		return echoResponse{}, fmt.Errorf("%w: PDU type 0x%02x in answer to A-ASSOCIATE-RQ", drivers.ErrProtocol, p.typ)
	}
	ac, err := parseAssociateAC(p.body)
	if err != nil {
		conn.Write(abortRQ())
		return echoResponse{}, fmt.Errorf("%w: %w", drivers.ErrProtocol, err)
	}
	if ac.result != 0 {
		conn.Write(releaseRQ())
		return echoResponse{}, fmt.Errorf("%w: device refused the Verification service (presentation context result %d)", drivers.ErrProtocol, ac.result)
	}
	if ac.transferSyntax != implicitVRLittle {
		conn.Write(abortRQ())
		return echoResponse{}, fmt.Errorf("%w: device chose transfer syntax %q we did not offer", drivers.ErrProtocol, ac.transferSyntax)
	}

	d.msgID++
	if _, err := conn.Write(pData(presentationContextID, echoRQ(d.msgID))); err != nil {
		return echoResponse{}, fmt.Errorf("send C-ECHO-RQ: %w", err)
	}
	// The response command may in theory come in several fragments.
	var cmd []byte
	for done := false; !done; {
		p, err := readPDU(conn)
		if err != nil {
			return echoResponse{}, classifyRead("C-ECHO-RSP", err)
		}
		switch p.typ {
		case pduPData:
		case pduAbort:
			return echoResponse{}, d.aborted(p)
		default:
			conn.Write(abortRQ())
			return echoResponse{}, fmt.Errorf("%w: PDU type 0x%02x instead of the C-ECHO-RSP", drivers.ErrProtocol, p.typ)
		}
		pdvs, err := parsePData(p.body)
		if err != nil {
			conn.Write(abortRQ())
			return echoResponse{}, fmt.Errorf("%w: %w", drivers.ErrProtocol, err)
		}
		for _, v := range pdvs {
			if v.contextID != presentationContextID || !v.command {
				conn.Write(abortRQ())
				return echoResponse{}, fmt.Errorf("%w: unexpected PDV (context %d, command %v)", drivers.ErrProtocol, v.contextID, v.command)
			}
			cmd = append(cmd, v.data...)
			if len(cmd) > maxPDU {
				conn.Write(abortRQ())
				return echoResponse{}, fmt.Errorf("%w: C-ECHO-RSP larger than %d bytes", drivers.ErrProtocol, maxPDU)
			}
			done = done || v.last
		}
	}
	rsp, err := parseEchoRSP(cmd, d.msgID)
	if err != nil {
		conn.Write(abortRQ())
		return echoResponse{}, fmt.Errorf("%w: %w", drivers.ErrProtocol, err)
	}
	return rsp, nil
}

// release ends the association politely. Its outcome does not change the
// verdict: the echo already answered.
func (d *Driver) release(conn io.ReadWriter) {
	if _, err := conn.Write(releaseRQ()); err != nil {
		return
	}
	for i := 0; i < 4; i++ {
		p, err := readPDU(conn)
		if err != nil || p.typ == pduReleaseRP || p.typ == pduAbort {
			if err != nil && !errors.Is(err, io.EOF) {
				d.log.Debug("dicom: release not confirmed", "called_ae", d.cfg.CalledAE, "err", err)
			}
			return
		}
	}
}

func (d *Driver) aborted(p pdu) error {
	ab, err := parseAbort(p.body)
	if err != nil {
		return fmt.Errorf("%w: %w", drivers.ErrProtocol, err)
	}
	return fmt.Errorf("%w: %s", drivers.ErrProtocol, ab)
}

// classifyRead names what we waited for. A peer that closes the connection
// without a PDU answers, but not as DICOM: typically a device that only
// accepts known IP addresses.
func classifyRead(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: connection closed while waiting for %s (does the device accept the gateway's address?): %w", drivers.ErrProtocol, what, err)
	}
	if errors.Is(err, errPDU) {
		return fmt.Errorf("%w: %s: %w", drivers.ErrProtocol, what, err)
	}
	return fmt.Errorf("wait for %s: %w", what, err)
}
