package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// discoverTimeout bounds one sweep from the page: a sweep of a /24 with
// SNMP enrichment takes tens of seconds; the scheduler's per-device
// timeout normally ends it sooner.
const discoverTimeout = 3 * time.Minute

// discoveryResult is one discovery device's sweep as the Diagnose page
// shows it.
type discoveryResult struct {
	// Device is the discovery device's id, Name its configured name
	// (else the id).
	Device, Name string
	Err          string
	Took         time.Duration
	// Hosts present, New ones not seen before, Unknown ones neither known
	// nor adopted, Gone since the last sweep.
	Hosts, New, Unknown, Gone int
}

// discoveryDevices are the enabled network discovery devices: those whose
// driver keeps lists of known and adopted hosts (drivers.HostListConfig).
func (s *Server) discoveryDevices() []string {
	var ids []string
	if cfg := s.be.Config(); cfg != nil {
		for _, d := range cfg.Devices {
			if _, ok := d.DriverConfig.(drivers.HostListConfig); ok && !d.Disabled {
				ids = append(ids, d.ID)
			}
		}
	}
	return ids
}

// postDiscover runs a sweep of every discovery device now, through the
// scheduler (never concurrently with a scheduled sweep), and shows what
// it found. The technician's action is audited: it sends probes into the
// practice network.
func (s *Server) postDiscover(w http.ResponseWriter, r *request) {
	ids := s.discoveryDevices()
	names := deviceNames(s.be.Devices())
	res := []discoveryResult{}
	var details []string
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(r.Context(), discoverTimeout)
		start := time.Now()
		sample, err := s.be.PollNow(ctx, id)
		cancel()
		dr := discoveryResult{Device: id, Name: deviceName(names, id), Took: time.Since(start).Round(time.Millisecond)}
		if err != nil {
			dr.Err = err.Error()
			details = append(details, id+": "+dr.Err)
		} else {
			dr.Hosts, dr.New = metricInt(sample, "discover.hosts"), metricInt(sample, "discover.hosts.new")
			dr.Unknown, dr.Gone = metricInt(sample, "discover.hosts.unknown"), metricInt(sample, "discover.hosts.gone")
			details = append(details, fmt.Sprintf("%s: %d hosts, %d new, %d unknown", id, dr.Hosts, dr.New, dr.Unknown))
		}
		res = append(res, dr)
	}
	if len(ids) == 0 {
		details = append(details, "no discovery device configured")
	}
	s.change(r, "discovery.run", strings.Join(details, "; "))
	s.diagnosticsPage(w, r, res)
}

func metricInt(s drivers.Sample, name string) int {
	for _, m := range s.Metrics {
		if m.Name == name {
			if f, ok := m.Float(); ok {
				return int(f)
			}
		}
	}
	return 0
}
