package uplink

import (
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// connCutter records the uplink's TCP connections so a test can cut one
// underneath paho, as a pulled cable or a crashed router would: no
// DISCONNECT is sent, so the broker must publish the Last Will.
type connCutter struct {
	mu    sync.Mutex
	conns []*cutConn
}

// cutConn reports a cut as a reset, because paho treats "use of closed
// network connection" as its own close and would only notice the loss at
// the next keep-alive timeout.
type cutConn struct {
	net.Conn
	cut atomic.Bool
}

var errCut = errors.New("connection reset (cut by test)")

func (c *cutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && c.cut.Load() {
		err = errCut
	}
	return n, err
}

func (c *cutConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil && c.cut.Load() {
		err = errCut
	}
	return n, err
}

func (c *connCutter) open(uri *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", uri.Host, 2*time.Second)
	if err != nil {
		return nil, err
	}
	cc := &cutConn{Conn: nc}
	c.mu.Lock()
	c.conns = append(c.conns, cc)
	c.mu.Unlock()
	return cc, nil
}

func (c *connCutter) cutLast(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.conns) == 0 {
		t.Fatal("no connection to cut")
	}
	last := c.conns[len(c.conns)-1]
	last.cut.Store(true)
	if err := last.Close(); err != nil {
		t.Fatalf("cut connection: %v", err)
	}
}

// states returns the "state" of every status message in arrival order.
func states(t *testing.T, msgs []obsMsg) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		var s contract.Status
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			t.Fatalf("status payload %s: %v", m.Payload, err)
		}
		out = append(out, s.State)
	}
	return out
}

// retainedState subscribes a fresh client to the status topic and returns
// the retained state it is handed ("" if none arrives).
func retainedState(t *testing.T, brokerURL string) string {
	t.Helper()
	o := newObserver(t, brokerURL, testRoot+"/"+contract.TopicStatus, false)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range o.messages() {
			if !m.Retained {
				t.Errorf("first status message to a new subscriber not marked retained")
			}
			return states(t, []obsMsg{m})[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ""
}

func lastState(t *testing.T, o *observer) string {
	s := states(t, o.onTopic(testRoot+"/"+contract.TopicStatus))
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// TestStatusWillRetainedAndCommands covers the session-level contract:
// retained status online, Last Will offline when the TCP connection dies,
// retained state and subscriptions restored after the reconnect, direct
// publishes, and a retained offline after a clean shutdown.
func TestStatusWillRetainedAndCommands(t *testing.T) {
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	obs := newObserver(t, m.URL(), testRoot+"/#", false)
	cut := &connCutter{}
	q := buffer.NewMemory(buffer.Options{})
	alarms := testOrigin.EncodeAlarms([]contract.Alarm{{ID: "dev-1/temperature", Device: "dev-1", Severity: "critical", Message: "warm", Since: contract.FormatTime(time.Now())}}, testClock())
	cmds := make(chan string, 10)
	r := startUplink(t, testConfig(m.URL()), q, func(u *Uplink) {
		u.openConn = cut.open
		u.SetRetained(contract.TopicAlarms, alarms)
		u.Subscribe("cmd/#", func(suffix string, payload []byte) {
			cmds <- suffix + " " + string(payload)
			if suffix == "cmd/panic" {
				panic("handler bug")
			}
		})
	})
	alarmTopic := testRoot + "/" + contract.TopicAlarms
	waitFor(t, 10*time.Second, "status online", func() bool { return lastState(t, obs) == contract.StateOnline })
	waitFor(t, 10*time.Second, "retained alarms", func() bool { return len(obs.onTopic(alarmTopic)) == 1 })
	if got := retainedState(t, m.URL()); got != contract.StateOnline {
		t.Fatalf("retained status for a new subscriber = %q, want online", got)
	}

	command := func(name string) {
		t.Helper()
		tok := obs.client.Publish(testRoot+"/cmd/"+name, 1, false, `{"id":"c1"}`)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish command: %v", tok.Error())
		}
		select {
		case got := <-cmds:
			if want := "cmd/" + name + ` {"id":"c1"}`; got != want {
				t.Fatalf("command handler got %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("command %s not delivered to the handler", name)
		}
	}
	command("rediscover")
	// A handler that panics is contained: the next command still works.
	command("panic")

	gen := r.Stats().Generation
	cut.cutLast(t)
	waitFor(t, 10*time.Second, "Last Will offline, then online again", func() bool {
		s := states(t, obs.onTopic(testRoot+"/"+contract.TopicStatus))
		for i := range s {
			if s[i] == contract.StateOffline {
				return s[len(s)-1] == contract.StateOnline && r.Connected()
			}
		}
		return false
	})
	if st := r.Stats(); st.Generation <= gen || st.Reconnects < 1 {
		t.Errorf("after the cut stats = %+v, want a new generation", st)
	}
	waitFor(t, 10*time.Second, "retained alarms re-published after reconnect", func() bool { return len(obs.onTopic(alarmTopic)) == 2 })
	command("poll")

	r.SetRetained(contract.TopicAlarms, testOrigin.EncodeAlarms(nil, testClock()))
	waitFor(t, 10*time.Second, "changed alarms published at once", func() bool { return len(obs.onTopic(alarmTopic)) == 3 })

	if err := r.Publish(t.Context(), contract.ReplyTopic("c1"), []byte(`{"id":"c1","ok":true}`), false); err != nil {
		t.Fatalf("Publish reply: %v", err)
	}
	waitFor(t, 10*time.Second, "reply", func() bool { return len(obs.onTopic(testRoot+"/reply/c1")) == 1 })

	r.Stop(t)
	waitFor(t, 10*time.Second, "status offline at shutdown", func() bool { return lastState(t, obs) == contract.StateOffline })
	if got := retainedState(t, m.URL()); got != contract.StateOffline {
		t.Fatalf("retained status after shutdown = %q, want offline", got)
	}
	if err := r.Publish(t.Context(), "reply/c2", []byte(`{}`), false); err == nil {
		t.Error("Publish after shutdown succeeded, want ErrNotConnected")
	}
}
