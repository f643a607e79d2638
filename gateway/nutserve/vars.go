package nutserve

import (
	"strconv"

	"github.com/praxisgate/praxisgate/drivers"
)

// VarsFromMetrics renders a Sample's metrics as NUT variables, for
// feeding Server from the latest sample of a UPS device: the metric names
// of UPS drivers are NUT's variable names already. Numbers are printed in
// their shortest exact form; booleans as 1 or 0.
func VarsFromMetrics(ms []drivers.Metric) map[string]string {
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		switch v := m.Value.(type) {
		case float64:
			out[m.Name] = strconv.FormatFloat(v, 'f', -1, 64)
		case string:
			out[m.Name] = v
		case bool:
			if v {
				out[m.Name] = "1"
			} else {
				out[m.Name] = "0"
			}
		}
	}
	return out
}
