package testpeer

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago. Another
// process may take it before the peer binds it; callers retry on a bind
// failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPort dials 127.0.0.1:port until it accepts, the deadline passes or
// exited is closed (the peer died, waiting longer is pointless).
func waitPort(port int, timeout time.Duration, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("peer exited before %s accepted connections", addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not accept connections within %s", addr, timeout)
}
