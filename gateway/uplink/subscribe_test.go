package uplink

import (
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// A Subscribe that comes while a connection is being set up (after its
// subscriptions were made, before it counts as current) is not lost:
// commands reach the handler on that connection, not only after a
// reconnect. The daemon subscribes to cmd/# just after starting the
// uplink, so this is the window it usually hits.
func TestSubscribeWhileConnecting(t *testing.T) {
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	obs := newObserver(t, m.URL(), testRoot+"/status", false)
	cmds := make(chan string, 10)
	var u *Uplink
	var once sync.Once
	testHookSubscribed = func() {
		once.Do(func() {
			u.Subscribe("cmd/#", func(suffix string, payload []byte) { cmds <- suffix })
		})
	}
	t.Cleanup(func() { testHookSubscribed = nil })
	r := startUplink(t, testConfig(m.URL()), buffer.NewMemory(buffer.Options{}), func(up *Uplink) { u = up })
	waitFor(t, 10*time.Second, "connected", r.Connected)
	gen := r.Stats().Generation
	deadline := time.Now().Add(10 * time.Second)
	for {
		tok := obs.client.Publish(testRoot+"/cmd/ping", 1, false, `{"id":"p"}`)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish command: %v", tok.Error())
		}
		select {
		case got := <-cmds:
			if got != "cmd/ping" {
				t.Fatalf("handler got %q", got)
			}
			if g := r.Stats().Generation; g != gen {
				t.Fatalf("delivered only after a reconnect (generation %d → %d)", gen, g)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("command never reached the handler subscribed while connecting")
		}
	}
}
