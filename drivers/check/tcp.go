package check

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// tcpProbe times one TCP handshake. Only the handshake is measured and the
// connection is closed at once: the check must not look like a client to
// the practice software's licence counter.
func (d *Driver) tcpProbe(ctx context.Context) (time.Duration, []drivers.Metric, error) {
	dialer := net.Dialer{Timeout: d.cfg.Timeout}
	start := d.now()
	c, err := dialer.DialContext(ctx, "tcp", d.cfg.target())
	if err != nil {
		return 0, nil, fmt.Errorf("connect: %w", err)
	}
	rtt := d.now().Sub(start)
	c.Close()
	return rtt, nil, nil
}
