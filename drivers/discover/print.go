package discover

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable prints hosts as the aligned table `praxisgate discover`
// shows a technician on site: one line per device, IP first because that
// is what they look for. Device-supplied text is already cleaned of
// control characters by the enrichment, so it cannot garble a terminal.
func WriteTable(w io.Writer, hosts []Host) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IP\tMAC\tVENDOR\tKIND\tNAME\tPORTS\tSTATUS")
	for _, h := range hosts {
		ports := make([]string, len(h.OpenPorts))
		for i, p := range h.OpenPorts {
			ports[i] = strconv.Itoa(p)
		}
		var status []string
		if !h.Present {
			status = append(status, "gone")
		}
		switch {
		case h.Randomized:
			status = append(status, "randomised MAC")
		case h.Adopted != "":
			status = append(status, "adopted as "+h.Adopted)
		case h.Known:
			status = append(status, "known")
		default:
			status = append(status, "unknown")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			dash(strings.Join(h.IPs, " ")), h.MAC, dash(truncate(h.Vendor, 28)), dash(h.Kind),
			dash(truncate(h.Name, 32)), dash(strings.Join(ports, ",")), strings.Join(status, ", "))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
