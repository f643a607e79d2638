package upshid

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/ups"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// A target is one thing the driver reads from a UPS: a NUT-style metric
// (battery.charge) or a status flag that feeds ups.status.
type target struct {
	name string
	// usage is the field usage; in, when set, is a collection usage that
	// must be on the field's path; notIn must not be.
	usage hidreport.Usage
	in    []hidreport.Usage
	notIn []hidreport.Usage
	unit  string
	// kind says how the value is turned into a metric.
	kind valueKind
}

type valueKind uint8

const (
	kindNumber valueKind = iota
	kindFlag             // a status bit: non-zero is true
	kindTestResult
	kindDate
	kindKelvin
	kindBeeper
)

var (
	cPowerSummary = pd(0x24)
	cBattery      = pd(0x12)
	cInput        = pd(0x1a)
	cOutput       = pd(0x1c)
	cFlow         = pd(0x1e)
	cOutlet       = pd(0x20)
	cChanged      = pd(0x03)
)

// targets lists, per metric, the fields that may carry it, best first; the
// first one the descriptor has wins. The choice follows NUT's usbhid-ups
// tables where the meaning is the same.
var targets = [][]target{
	{{name: "battery.charge", usage: bs(0x66), in: []hidreport.Usage{cPowerSummary}, unit: "%"},
		{name: "battery.charge", usage: bs(0x66), in: []hidreport.Usage{cBattery}, unit: "%"},
		{name: "battery.charge", usage: bs(0x66), unit: "%"}},
	{{name: "battery.runtime", usage: bs(0x68), in: []hidreport.Usage{cPowerSummary}, unit: "s"},
		{name: "battery.runtime", usage: bs(0x68), in: []hidreport.Usage{cBattery}, unit: "s"},
		{name: "battery.runtime", usage: bs(0x68), unit: "s"}},
	{{name: "battery.voltage", usage: pd(0x30), in: []hidreport.Usage{cBattery}, unit: "V"},
		{name: "battery.voltage", usage: pd(0x30), in: []hidreport.Usage{cPowerSummary}, notIn: []hidreport.Usage{cInput, cOutput}, unit: "V"}},
	{{name: "battery.voltage.nominal", usage: pd(0x40), in: []hidreport.Usage{cBattery}, unit: "V"},
		{name: "battery.voltage.nominal", usage: pd(0x40), in: []hidreport.Usage{cPowerSummary}, notIn: []hidreport.Usage{cInput, cOutput}, unit: "V"}},
	{{name: "battery.charge.low", usage: bs(0x29), in: []hidreport.Usage{cPowerSummary}, unit: "%"},
		{name: "battery.charge.low", usage: bs(0x29), unit: "%"}},
	{{name: "battery.runtime.low", usage: bs(0x2a), in: []hidreport.Usage{cPowerSummary}, unit: "s"},
		{name: "battery.runtime.low", usage: bs(0x2a), unit: "s"}},
	{{name: "battery.date", usage: bs(0x85), kind: kindDate}},
	{{name: "battery.temperature", usage: pd(0x36), in: []hidreport.Usage{cBattery}, kind: kindKelvin, unit: "°C"}},
	{{name: "input.voltage", usage: pd(0x30), in: []hidreport.Usage{pd(0x16), cInput}, unit: "V"},
		{name: "input.voltage", usage: pd(0x30), in: []hidreport.Usage{cInput}, unit: "V"}},
	{{name: "input.voltage.nominal", usage: pd(0x40), in: []hidreport.Usage{cInput}, unit: "V"},
		{name: "input.voltage.nominal", usage: pd(0x40), in: []hidreport.Usage{cFlow}, unit: "V"}},
	{{name: "input.frequency", usage: pd(0x32), in: []hidreport.Usage{cInput}, unit: "Hz"}},
	{{name: "input.transfer.low", usage: pd(0x53), unit: "V"}},
	{{name: "input.transfer.high", usage: pd(0x54), unit: "V"}},
	{{name: "output.voltage", usage: pd(0x30), in: []hidreport.Usage{pd(0x16), cOutput}, unit: "V"},
		{name: "output.voltage", usage: pd(0x30), in: []hidreport.Usage{cOutput}, unit: "V"}},
	{{name: "output.voltage.nominal", usage: pd(0x40), in: []hidreport.Usage{cOutput}, unit: "V"}},
	{{name: "output.frequency", usage: pd(0x32), in: []hidreport.Usage{cOutput}, unit: "Hz"}},
	{{name: "output.current", usage: pd(0x31), in: []hidreport.Usage{cOutput}, unit: "A"}},
	{{name: "ups.load", usage: pd(0x35), in: []hidreport.Usage{cPowerSummary}, unit: "%"},
		{name: "ups.load", usage: pd(0x35), unit: "%"}},
	{{name: "ups.realpower", usage: pd(0x34), in: []hidreport.Usage{cOutput}, unit: "W"}},
	{{name: "ups.realpower.nominal", usage: pd(0x44), unit: "W"}},
	{{name: "ups.power.nominal", usage: pd(0x43), unit: "VA"}},
	{{name: "ups.temperature", usage: pd(0x36), notIn: []hidreport.Usage{cBattery}, kind: kindKelvin, unit: "°C"}},
	{{name: "ups.test.result", usage: pd(0x58), in: []hidreport.Usage{cBattery}, kind: kindTestResult},
		{name: "ups.test.result", usage: pd(0x58), notIn: []hidreport.Usage{cOutlet}, kind: kindTestResult}},
	{{name: "ups.beeper.status", usage: pd(0x5a), kind: kindBeeper}},
}

// The status flags, each from PresentStatus under PowerSummary first, then
// from a bare 8-bit item under PowerSummary (APC Back-UPS), then anywhere
// but under ChangedStatus or an outlet.
var flagUsages = []struct {
	name  string
	usage hidreport.Usage
}{
	{"ACPresent", bs(0xd0)}, {"Charging", bs(0x44)}, {"Discharging", bs(0x45)},
	{"BelowRemainingCapacityLimit", bs(0x42)}, {"RemainingTimeLimitExpired", bs(0x43)},
	{"ShutdownImminent", pd(0x69)}, {"NeedReplacement", bs(0x4b)}, {"Overload", pd(0x65)},
	{"FullyCharged", bs(0x46)}, {"Boost", pd(0x6e)}, {"Buck", pd(0x6f)},
	{"InternalFailure", pd(0x62)}, {"OverTemperature", pd(0x67)}, {"CommunicationLost", pd(0x73)},
}

func init() {
	for _, f := range flagUsages {
		name := "flag." + f.name
		targets = append(targets, []target{
			{name: name, usage: f.usage, in: []hidreport.Usage{cPowerSummary, pd(0x02)}, kind: kindFlag},
			{name: name, usage: f.usage, in: []hidreport.Usage{cPowerSummary}, notIn: []hidreport.Usage{cChanged}, kind: kindFlag},
			{name: name, usage: f.usage, notIn: []hidreport.Usage{cChanged, cOutlet, cFlow}, kind: kindFlag},
		})
	}
}

func (t *target) matches(f *hidreport.Field) bool {
	if f.Usage != t.usage || f.Array {
		return false
	}
	for _, c := range t.in {
		if !slices.Contains(f.Path, c) {
			return false
		}
	}
	for _, c := range t.notIn {
		if slices.Contains(f.Path, c) {
			return false
		}
	}
	return true
}

// Binding ties a metric to the descriptor fields it is read from: the
// chosen field and its twins of the other report type (the same usage and
// path declared as Input and as Feature under one report ID).
type Binding struct {
	Name   string
	Unit   string
	Fields []*hidreport.Field
	// Alt are other Input fields with the same meaning (APC declares the
	// status bits in three places); an interrupt report carrying one of
	// them updates the value too, since nobody knows which of its copies
	// a UPS sends when mains fails.
	Alt []*hidreport.Field
	t   target
}

// Map is what a descriptor offers: the bindings, and what the driver does
// not understand.
type Map struct {
	Desc     *hidreport.Descriptor
	Bindings []Binding
	// Legrand marks the decimal-places exponent style (see scale).
	Legrand bool
	// PowerDevice is true when the descriptor has a Power Device
	// application collection (or any Power Device / Battery System usage).
	PowerDevice bool
	byName      map[string]int
}

// NewMap chooses the fields of a parsed descriptor.
func NewMap(d *hidreport.Descriptor) *Map {
	m := &Map{Desc: d, byName: map[string]int{}}
	for _, c := range d.Collections {
		if c == pd(0x04) || c == pd(0x05) || c.Page() == pageBattery && c.ID() == 0 {
			m.PowerDevice = true
		}
	}
	for i := range d.Fields {
		f := &d.Fields[i]
		if f.Usage.Page() == pagePower || f.Usage.Page() == pageBattery {
			m.PowerDevice = true
		}
		if f.Unit == hidreport.UnitVolt && f.UnitExponent >= 1 && f.UnitExponent <= 4 {
			m.Legrand = true
		}
	}
	for _, alts := range targets {
	next:
		for _, t := range alts {
			for i := range d.Fields {
				f := &d.Fields[i]
				if !t.matches(f) {
					continue
				}
				b := Binding{Name: t.name, Unit: t.unit, t: t, Fields: []*hidreport.Field{f}}
				for j := range d.Fields {
					g := &d.Fields[j]
					if j != i && g.ReportID == f.ReportID && g.Usage == f.Usage && g.BitOffset == f.BitOffset &&
						g.BitSize == f.BitSize && slices.Equal(g.Path, f.Path) && g.Type != hidreport.Output {
						b.Fields = append(b.Fields, g)
					}
				}
				for _, alt := range alts {
					for j := range d.Fields {
						g := &d.Fields[j]
						if g.Type == hidreport.Input && alt.matches(g) && !slices.Contains(b.Fields, g) && !slices.Contains(b.Alt, g) {
							b.Alt = append(b.Alt, g)
						}
					}
				}
				m.byName[t.name] = len(m.Bindings)
				m.Bindings = append(m.Bindings, b)
				break next
			}
		}
	}
	return m
}

// Binding returns the binding of a metric name.
func (m *Map) Binding(name string) (*Binding, bool) {
	i, ok := m.byName[name]
	if !ok {
		return nil, false
	}
	return &m.Bindings[i], true
}

// FeatureReports lists the Feature report IDs a poll must read, in order.
func (m *Map) FeatureReports() []uint8 {
	var ids []uint8
	for _, b := range m.Bindings {
		for _, f := range b.Fields {
			if f.Type == hidreport.Feature && !slices.Contains(ids, f.ReportID) {
				ids = append(ids, f.ReportID)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// InputOnlyReports lists Input report IDs holding a bound field that has
// no Feature twin: those are read with HIDIOCGINPUT or come only as
// interrupt reports.
func (m *Map) InputOnlyReports() []uint8 {
	var ids []uint8
	for _, b := range m.Bindings {
		feat := false
		for _, f := range b.Fields {
			feat = feat || f.Type == hidreport.Feature
		}
		if !feat && !slices.Contains(ids, b.Fields[0].ReportID) {
			ids = append(ids, b.Fields[0].ReportID)
		}
	}
	slices.Sort(ids)
	return ids
}

// scale converts a raw value of f to the unit of the metric.
func (m *Map) scale(f *hidreport.Field, raw int64) float64 {
	if m.Legrand && f.UnitExponent >= 1 && f.UnitExponent <= 4 &&
		(f.Unit == hidreport.UnitVolt || f.Unit == hidreport.UnitAmpere || f.Unit == hidreport.UnitHertz) {
		// Legrand writes the number of decimal places as a positive
		// exponent (2392 with exponent 1 is 239.2 V).
		return float64(raw) * math.Pow10(-f.UnitExponent)
	}
	return f.Value(raw)
}

// State is the latest value of every binding, fed by reports as they
// arrive (GET_REPORT answers and interrupt reports alike).
type State struct {
	m    *Map
	raw  map[string]int64
	seen map[string]bool
}

// NewState returns an empty state for m.
func (m *Map) NewState() *State {
	return &State{m: m, raw: map[string]int64{}, seen: map[string]bool{}}
}

// Update takes one report of type t (report ID first) and returns the
// names of the bindings it changed.
func (s *State) Update(t hidreport.ReportType, report []byte) ([]string, error) {
	d := s.m.Desc
	var id uint8
	if d.UsesIDs {
		if len(report) == 0 {
			return nil, fmt.Errorf("%w: empty", hidreport.ErrReport)
		}
		id = report[0]
	}
	if _, ok := d.Sizes[hidreport.Key{Type: t, ID: id}]; !ok {
		return nil, fmt.Errorf("%w: the descriptor declares no %s report %d", hidreport.ErrReport, t, id)
	}
	var changed []string
	for _, b := range s.m.Bindings {
		fields := b.Fields
		if t == hidreport.Input && len(b.Alt) > 0 {
			fields = append(append([]*hidreport.Field(nil), b.Fields...), b.Alt...)
		}
		for _, f := range fields {
			if f.Type != t || f.ReportID != id {
				continue
			}
			v, err := d.Raw(report, f)
			if err != nil {
				return changed, fmt.Errorf("%s: %w", b.Name, err)
			}
			if old, ok := s.raw[b.Name]; !ok || old != v {
				changed = append(changed, b.Name)
			}
			s.raw[b.Name], s.seen[b.Name] = v, true
			break
		}
	}
	return changed, nil
}

// Raw returns the last raw value of a binding.
func (s *State) Raw(name string) (int64, bool) {
	v, ok := s.raw[name]
	return v, ok
}

// Set stores a raw value directly (tests, and values from another source).
func (s *State) Set(name string, v int64) { s.raw[name], s.seen[name] = v, true }

func (s *State) flag(name string) (bool, bool) {
	v, ok := s.raw["flag."+name]
	return v != 0, ok
}

// Flags derives the NUT ups.status flags.
func (s *State) Flags() []string {
	var out []string
	ac, hasAC := s.flag("ACPresent")
	dis, _ := s.flag("Discharging")
	chg, _ := s.flag("Charging")
	switch {
	case hasAC && ac, !hasAC && !dis:
		out = append(out, ups.FlagOnLine)
	default:
		out = append(out, ups.FlagOnBattery)
	}
	if v, _ := s.flag("BelowRemainingCapacityLimit"); v {
		out = append(out, ups.FlagLowBattery)
	} else if v, _ := s.flag("ShutdownImminent"); v {
		out = append(out, ups.FlagLowBattery)
	} else if v, _ := s.flag("RemainingTimeLimitExpired"); v {
		out = append(out, ups.FlagLowBattery)
	}
	if v, _ := s.flag("NeedReplacement"); v {
		out = append(out, ups.FlagReplaceBatt)
	}
	if chg {
		out = append(out, ups.FlagCharging)
	}
	if dis {
		out = append(out, ups.FlagDischarging)
	}
	if v, _ := s.flag("Overload"); v {
		out = append(out, ups.FlagOverload)
	}
	if v, _ := s.flag("Buck"); v {
		out = append(out, ups.FlagTrim)
	}
	if v, _ := s.flag("Boost"); v {
		out = append(out, ups.FlagBoost)
	}
	if v, _ := s.flag("InternalFailure"); v {
		out = append(out, ups.FlagAlarm)
	} else if v, _ := s.flag("OverTemperature"); v {
		out = append(out, ups.FlagAlarm)
	}
	return out
}

// Test results as the Power Device tables number them.
var testResults = map[int64]string{
	1: "Done and passed", 2: "Done and warning", 3: "Done and error", 4: "Aborted",
	5: "In progress", 6: "No test initiated",
}

// DecodeDate reads the Battery System date format: bits 15..9 years since
// 1980, 8..5 month, 4..0 day.
func DecodeDate(v int64) (time.Time, bool) {
	y, mo, d := int(v>>9)+1980, int(v>>5)&0xf, int(v)&0x1f
	if v <= 0 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), true
}

// Metrics turns the state into metrics, in binding order; ups.status comes
// last. Status flags are not metrics of their own.
func (s *State) Metrics() []drivers.Metric {
	var out []drivers.Metric
	for _, b := range s.m.Bindings {
		raw, ok := s.raw[b.Name]
		if !ok || b.t.kind == kindFlag {
			continue
		}
		f := b.Fields[0]
		switch b.t.kind {
		case kindNumber:
			v := s.m.scale(f, raw)
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				out = append(out, drivers.Num(b.Name, round(v), b.Unit))
			}
		case kindKelvin:
			out = append(out, drivers.Num(b.Name, round(s.m.scale(f, raw)-273.15), b.Unit))
		case kindTestResult:
			if t, ok := testResults[raw]; ok {
				out = append(out, drivers.Text(b.Name, t))
			}
		case kindDate:
			if t, ok := DecodeDate(raw); ok {
				out = append(out, drivers.Text(b.Name, t.Format("2006-01-02")))
			}
		case kindBeeper:
			switch raw {
			case 1:
				out = append(out, drivers.Text(b.Name, "disabled"))
			case 2:
				out = append(out, drivers.Text(b.Name, "enabled"))
			case 3:
				out = append(out, drivers.Text(b.Name, "muted"))
			}
		}
	}
	if s.hasFlags() {
		out = append(out, drivers.Text("ups.status", strings.Join(s.Flags(), " ")))
	}
	return out
}

func (s *State) hasFlags() bool {
	for k := range s.raw {
		if strings.HasPrefix(k, "flag.") {
			return true
		}
	}
	return false
}

// round drops float noise from decimal scaling (12.000000000000002).
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }
