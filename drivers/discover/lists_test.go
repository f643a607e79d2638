package discover

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func TestSetLists(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	seg := newFakeSegment(
		fakeHost{ip: netip.MustParseAddr("10.0.0.2"), mac: mustMAC("00:11:32:00:00:02"), answerFrom: 1},
		fakeHost{ip: netip.MustParseAddr("10.0.0.3"), mac: mustMAC("00:c0:b7:00:00:03"), answerFrom: 1},
	)
	d := fakeDriver(t, testDevice(t), seg, &now)
	d.cfg.LearnFirstSweep = false
	d.policy.learnFirst = false
	if err := d.SetLists(nil, map[string]string{"00:11:32:00:00:02": "nas"}); err != nil {
		t.Fatalf("lists before the first sweep: %v", err)
	}
	if _, err := d.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	marks := func() map[string]Host {
		out := map[string]Host{}
		for _, h := range d.Inventory() {
			out[h.MAC] = h
		}
		return out
	}
	if h := marks()["00:11:32:00:00:02"]; h.Adopted != "nas" || !h.Known {
		t.Fatalf("adopted before the sweep, after it: %+v", h)
	}

	steps := []struct {
		name    string
		known   []string
		adopted map[string]string
		wantErr bool
		// adopted id and known flag of the two hosts after the step
		nas, ups   string
		nasK, upsK bool
	}{
		{"adopt the UPS card", nil, map[string]string{"00:11:32:00:00:02": "nas", "00:C0:B7:00:00:03": "usv"}, false, "nas", "usv", true, true},
		{"unadopt both, expect the vendor", []string{"00:c0:b7"}, nil, false, "", "", false, true},
		{"a bad MAC changes nothing", []string{"not-a-mac"}, nil, true, "", "", false, true},
		{"a bad id changes nothing", nil, map[string]string{"00:11:32:00:00:02": "NAS 1"}, true, "", "", false, true},
	}
	for _, st := range steps {
		err := d.SetLists(st.known, st.adopted)
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: err %v", st.name, err)
		}
		m := marks()
		nas, ups := m["00:11:32:00:00:02"], m["00:c0:b7:00:00:03"]
		if nas.Adopted != st.nas || ups.Adopted != st.ups || nas.Known != st.nasK || ups.Known != st.upsK {
			t.Fatalf("%s: nas %q known %v, ups %q known %v", st.name, nas.Adopted, nas.Known, ups.Adopted, ups.Known)
		}
	}
	// The next sweep judges with the new lists.
	now = now.Add(time.Minute)
	if _, err := d.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := marks(); m["00:c0:b7:00:00:03"].Known != true || m["00:11:32:00:00:02"].Known {
		t.Fatalf("after the next sweep: %+v", m)
	}
}
