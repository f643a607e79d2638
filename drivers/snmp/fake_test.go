package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/praxisgate/praxisgate/drivers"
)

// fakeAgent answers tooBig whenever a GET carries more than maxGet OIDs or
// a GETBULK asks for more than maxVarbinds values. net-snmp truncates bulk
// responses instead (RFC 3416 4.2.3), but older agents in printers and UPS
// cards answer tooBig; this fake, used in addition to the snmpd tests,
// covers that branch of the walk.
type fakeAgent struct {
	conn        *net.UDPConn
	rows        int
	maxGet      atomic.Int32
	maxVarbinds int
	done        chan struct{}
}

func startFakeAgent(t *testing.T, rows, maxGet, maxVarbinds int) *fakeAgent {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{conn: c, rows: rows, maxVarbinds: maxVarbinds, done: make(chan struct{})}
	f.maxGet.Store(int32(maxGet))
	go f.serve()
	t.Cleanup(func() { c.Close(); <-f.done })
	return f
}

func (f *fakeAgent) cell(col, row int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: fmt.Sprintf(".1.3.6.1.4.1.99.1.1.%d.%d", col, row), Type: gosnmp.Integer, Value: col*1000 + row}
}

// next returns the cell after o in column order (entry.col.row).
func (f *fakeAgent) next(o string) gosnmp.SnmpPDU {
	oo, err := parseOID(o)
	entry := oid{1, 3, 6, 1, 4, 1, 99, 1, 1}
	if err != nil || oo.compare(entry.child(1, 1)) < 0 {
		return f.cell(1, 1)
	}
	if !oo.hasPrefix(entry) || len(oo) < len(entry)+1 {
		return gosnmp.SnmpPDU{Name: o, Type: gosnmp.EndOfMibView}
	}
	col, row := int(oo[len(entry)]), 0
	if len(oo) > len(entry)+1 {
		row = int(oo[len(entry)+1])
	}
	switch {
	case col > 3:
		return gosnmp.SnmpPDU{Name: o, Type: gosnmp.EndOfMibView}
	case row < f.rows:
		return f.cell(col, row+1)
	case col < 3:
		return f.cell(col+1, 1)
	}
	return gosnmp.SnmpPDU{Name: o, Type: gosnmp.EndOfMibView}
}

func (f *fakeAgent) serve() {
	defer close(f.done)
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	buf := make([]byte, 65535)
	for {
		n, from, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		req, err := dec.SnmpDecodePacket(buf[:n])
		if err != nil {
			continue
		}
		resp := *req
		resp.PDUType = gosnmp.GetResponse
		resp.Variables = nil
		switch req.PDUType {
		case gosnmp.GetRequest:
			if len(req.Variables) > int(f.maxGet.Load()) {
				resp.Error = gosnmp.TooBig
				break
			}
			for _, v := range req.Variables {
				resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.NoSuchInstance})
			}
		case gosnmp.GetBulkRequest:
			if int(req.MaxRepetitions)*len(req.Variables) > f.maxVarbinds {
				resp.Error = gosnmp.TooBig
				break
			}
			cursors := make([]string, len(req.Variables))
			for i, v := range req.Variables {
				cursors[i] = v.Name
			}
			for range req.MaxRepetitions {
				for i := range cursors {
					v := f.next(cursors[i])
					cursors[i] = v.Name
					resp.Variables = append(resp.Variables, v)
				}
			}
		}
		resp.MaxRepetitions, resp.NonRepeaters = 0, 0
		out, err := resp.MarshalMsg()
		if err != nil {
			continue
		}
		_, _ = f.conn.WriteToUDP(out, from)
	}
}

func TestWalkTooBigFallback(t *testing.T) {
	f := startFakeAgent(t, 40, 4, 12)
	cfg := v2cConfig(f.conn.LocalAddr().String())
	cfg.MaxRepetitions = 50
	cfg.MaxOIDs = 32
	cfg.Timeout = 2 * time.Second
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	entry := oid{1, 3, 6, 1, 4, 1, 99, 1, 1}
	rd := readings{}
	if err := c.walk(ctx, []oid{entry.child(1), entry.child(2), entry.child(3)}, rd); err != nil {
		t.Fatal(err)
	}
	if len(rd) != 120 {
		t.Fatalf("walked %d cells, want 120", len(rd))
	}
	for col := 1; col <= 3; col++ {
		for row := 1; row <= 40; row++ {
			r := rd[entry.child(uint32(col), uint32(row)).String()]
			if !r.isNum || r.num != float64(col*1000+row) {
				t.Fatalf("cell %d.%d = %+v", col, row, r)
			}
		}
	}
	if c.maxReps*3 > 12 && c.maxVarbinds > 12 {
		t.Fatalf("bulk size did not shrink below the agent's limit: reps %d, varbinds %d", c.maxReps, c.maxVarbinds)
	}
	// GET: 10 OIDs against an agent that takes 4.
	var oids []oid
	for i := range 10 {
		oids = append(oids, oid{1, 3, 6, 1, 4, 1, 99, 2, uint32(i), 0})
	}
	if err := c.get(ctx, oids, readings{}); err != nil {
		t.Fatal(err)
	}
	if c.maxOIDs > 4 {
		t.Fatalf("GET batch %d, agent takes 4", c.maxOIDs)
	}
	// An agent that answers tooBig even for one value is a protocol error.
	f.maxGet.Store(0)
	err = c.get(ctx, oids[:1], readings{})
	if !errors.Is(err, drivers.ErrProtocol) {
		t.Fatalf("err = %v", err)
	}
}
