package upshid

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/praxisgate/praxisgate/drivers/upshid/hidraw"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// Inspect writes what a report descriptor declares, which metric each
// usage feeds, the values the given reports yield (none when reports is
// empty) and everything the driver does not understand. It is what
// `praxisgate ups inspect` prints, for support to judge a UPS model from
// the dump a user sends.
func Inspect(w io.Writer, desc []byte, reports []hidreport.Recorded) error {
	d, err := hidreport.Parse(desc)
	if err != nil {
		fmt.Fprintf(w, "descriptor: %d bytes, NOT UNDERSTOOD: %v\n", len(desc), err)
		return err
	}
	m := NewMap(d)
	bound := map[*hidreport.Field]string{}
	for _, b := range m.Bindings {
		for _, f := range b.Fields {
			bound[f] = b.Name
		}
		for _, f := range b.Alt {
			bound[f] = b.Name
		}
	}
	var in, feat int
	for k := range d.Sizes {
		switch k.Type {
		case hidreport.Input:
			in++
		case hidreport.Feature:
			feat++
		}
	}
	fmt.Fprintf(w, "descriptor: %d bytes, %d fields, %d input and %d feature reports", len(desc), len(d.Fields), in, feat)
	if m.PowerDevice {
		fmt.Fprintf(w, ", HID Power Device\n")
	} else {
		fmt.Fprintf(w, ", NOT a HID Power Device (no usage on pages 0x84/0x85)\n")
	}
	if m.Legrand {
		fmt.Fprintf(w, "quirk: voltages carry a positive unit exponent meant as decimal places (Legrand style)\n")
	}
	for _, f := range d.Fields {
		if f.LogMaxFixed {
			fmt.Fprintf(w, "quirk: Logical Maximum written as a negative byte, read as unsigned (APC style)\n")
			break
		}
	}
	for _, wmsg := range d.Warnings {
		fmt.Fprintf(w, "tolerated: %s\n", wmsg)
	}

	fmt.Fprintf(w, "\nUSAGES\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "type\treport\tbits\tpath\tunit\tmetric\n")
	for i := range d.Fields {
		f := &d.Fields[i]
		if f.Array && len(f.Usages) == 0 {
			continue
		}
		metric := bound[f]
		if strings.HasPrefix(metric, "flag.") {
			metric = "ups.status (" + strings.TrimPrefix(metric, "flag.") + ")"
		}
		fmt.Fprintf(tw, "%s\t0x%02x\t%d+%d\t%s\t%s\t%s\n", f.Type, f.ReportID, f.BitOffset, f.BitSize, PathName(f), unitName(f), metric)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nMETRICS\n")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, b := range m.Bindings {
		f := b.Fields[0]
		var ids []string
		for _, x := range b.Fields {
			ids = append(ids, fmt.Sprintf("%s 0x%02x", x.Type, x.ReportID))
		}
		fmt.Fprintf(tw, "%s\t← %s\t(%s)\n", b.Name, PathName(f), strings.Join(ids, ", "))
	}
	tw.Flush()

	var problems []string
	if len(reports) > 0 {
		st := m.NewState()
		for _, r := range reports {
			if _, err := st.Update(r.Type, r.Bytes); err != nil {
				problems = append(problems, fmt.Sprintf("report % x: %v", r.Bytes, err))
			}
			// NUT-style dumps read Input items with Feature requests.
			if r.Type == hidreport.Feature && d.UsesIDs && len(r.Bytes) > 0 {
				if n, ok := d.Sizes[hidreport.Key{Type: hidreport.Input, ID: r.Bytes[0]}]; ok && n == len(r.Bytes) {
					_, _ = st.Update(hidreport.Input, r.Bytes)
				}
			}
		}
		fmt.Fprintf(w, "\nVALUES (from %d reports)\n", len(reports))
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, mt := range st.Metrics() {
			fmt.Fprintf(tw, "%s\t%v\t%s\n", mt.Name, mt.Value, mt.Unit)
		}
		tw.Flush()
	} else {
		fmt.Fprintf(w, "\nVALUES: none (give the reports to see values)\n")
	}

	// What the driver does not understand.
	vendor := map[uint16]int{}
	var unknownStd []string
	for i := range d.Fields {
		f := &d.Fields[i]
		if _, ok := bound[f]; ok {
			continue
		}
		switch p := f.Usage.Page(); {
		case p >= 0xff00:
			vendor[p]++
		case f.Usage != 0 && !known(f.Usage) && (p == pagePower || p == pageBattery):
			unknownStd = append(unknownStd, PathName(f))
		}
	}
	for _, want := range []string{"battery.charge", "battery.runtime", "flag.ACPresent", "ups.load", "input.voltage", "output.voltage"} {
		if _, ok := m.Binding(want); !ok {
			problems = append(problems, "no usage found for "+strings.TrimPrefix(want, "flag."))
		}
	}
	fmt.Fprintf(w, "\nNOT UNDERSTOOD\n")
	pages := make([]int, 0, len(vendor))
	for p := range vendor {
		pages = append(pages, int(p))
	}
	sort.Ints(pages)
	for _, p := range pages {
		fmt.Fprintf(w, "vendor page 0x%04x: %d fields (ignored)\n", p, vendor[uint16(p)])
	}
	slices.Sort(unknownStd)
	for _, u := range slices.Compact(unknownStd) {
		fmt.Fprintf(w, "reserved Power Device usage: %s\n", u)
	}
	for _, p := range problems {
		fmt.Fprintf(w, "%s\n", p)
	}
	if len(pages) == 0 && len(unknownStd) == 0 && len(problems) == 0 {
		fmt.Fprintf(w, "nothing\n")
	}
	return nil
}

func unitName(f *hidreport.Field) string {
	var u string
	switch f.Unit {
	case hidreport.UnitNone:
		return ""
	case hidreport.UnitVolt:
		u = "V"
	case hidreport.UnitAmpere:
		u = "A"
	case hidreport.UnitWatt:
		u = "W/VA"
	case hidreport.UnitSecond:
		u = "s"
	case hidreport.UnitHertz:
		u = "Hz"
	case hidreport.UnitKelvin:
		u = "K"
	default:
		u = fmt.Sprintf("unit %08x", f.Unit)
	}
	if f.UnitExponent != 0 {
		u += fmt.Sprintf(" e%d", f.UnitExponent)
	}
	return u
}

// InspectLive writes, for every USB UPS under roots, what Inspect writes,
// with the values read from the device (every Feature report of its
// descriptor). A UPS whose node cannot be opened (no udev rule, not root)
// is still described from sysfs.
func InspectLive(ctx context.Context, w io.Writer, roots hidraw.Roots) (int, error) {
	cands, err := Find(roots)
	if err != nil {
		return 0, err
	}
	for i, c := range cands {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s  %s  %q  serial %q\n", c.Path, c.ID(), strings.TrimSpace(c.Manufacturer+" "+c.ProductName), c.Serial)
		if c.Map == nil {
			fmt.Fprintf(w, "descriptor not readable: %v\n", c.Err)
			continue
		}
		var reps []hidreport.Recorded
		dev, err := hidraw.Open(c.Path)
		if err != nil {
			fmt.Fprintf(w, "cannot open %s (%v): no values; the udev rule or root gives access\n", c.Path, err)
		} else {
			ids := make([]int, 0)
			for k := range c.Map.Desc.Sizes {
				if k.Type == hidreport.Feature {
					ids = append(ids, int(k.ID))
				}
			}
			sort.Ints(ids)
			for _, id := range ids {
				if ctx.Err() != nil {
					break
				}
				buf := make([]byte, c.Map.Desc.Sizes[hidreport.Key{Type: hidreport.Feature, ID: uint8(id)}])
				buf[0] = uint8(id)
				n, err := dev.GetFeature(buf)
				if err != nil {
					fmt.Fprintf(w, "GET_REPORT(Feature 0x%02x): %v\n", id, err)
					if len(reps) == 0 {
						fmt.Fprintf(w, "the first report failed: no values read\n")
						break
					}
					continue
				}
				reps = append(reps, hidreport.Recorded{Type: hidreport.Feature, Bytes: buf[:n]})
				fmt.Fprintf(w, "get % x\n", buf[:n])
			}
			dev.Close()
		}
		if err := Inspect(w, c.Node.Descriptor, reps); err != nil {
			fmt.Fprintf(w, "%v\n", err)
		}
	}
	return len(cands), nil
}
