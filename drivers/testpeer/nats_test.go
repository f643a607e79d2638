package testpeer

import "testing"

func TestNATSMQTTStopRestart(t *testing.T) {
	n := StartNATS(t)
	if err := connect(t, n.URL(), "", "", nil); err != nil {
		t.Fatalf("connect: %v", err)
	}
	n.Stop()
	if err := connect(t, n.URL(), "", "", nil); err == nil {
		t.Fatal("connected to a stopped server")
	}
	n.Restart()
	if err := connect(t, n.URL(), "", "", nil); err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
}
