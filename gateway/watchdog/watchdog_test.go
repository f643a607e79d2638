package watchdog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
)

// Alive follows the self polls: true while they come, false once they
// stopped for longer than the limit.
func TestWatchAlive(t *testing.T) {
	dir := t.TempDir()
	cfg := gwtest.Load(t, dir, fmt.Sprintf("site: s\ngateway: g\nstate_dir: %s\nuplink: {broker: \"tcp://127.0.0.1:1\"}\nweb: {listen: \"off\"}\nself: {interval: 1s}\n", dir))
	g := gwtest.New(t, cfg, "1.0.0")
	stopRun := gwtest.Run(t, g)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	alive := watch(watchCtx, g, 3*time.Second, 100*time.Millisecond)
	gwtest.WaitFor(t, "self polls", func() bool { _, ok := selfPollTime(g); return ok })
	for i := 0; i < 4; i++ { // across several self polls
		if !alive() {
			t.Fatal("not alive while polling")
		}
		time.Sleep(time.Second)
	}
	stopRun() // the scheduler stops: no more self polls
	gwtest.WaitFor(t, "not alive", func() bool { return !alive() })
}
