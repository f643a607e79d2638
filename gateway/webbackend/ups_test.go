package webbackend

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
	_ "github.com/praxisgate/praxisgate/drivers/upshid"
	"github.com/praxisgate/praxisgate/drivers/upshid/upshidsim"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
)

// selfprobe is a UPS driver whose self-test the test watches.
type selfprobe struct{}

type selfprobeConfig struct{}

var (
	selfMu    sync.Mutex
	selfTests []string
)

func init() {
	drivers.Register(drivers.Spec[selfprobeConfig]{
		Name: "selfprobe", Kind: "ups", Doc: "a UPS whose self-test the web backend test watches",
		New: func(drivers.Device, selfprobeConfig, *slog.Logger) (drivers.Driver, error) { return selfprobe{}, nil },
	})
}

func (selfprobe) Poll(context.Context) (drivers.Sample, error) {
	return drivers.Sample{Metrics: []drivers.Metric{drivers.Text("ups.status", "OL")}}, nil
}

func (selfprobe) SelfTest(_ context.Context, deep bool) error {
	selfMu.Lock()
	defer selfMu.Unlock()
	selfTests = append(selfTests, fmt.Sprint(deep))
	return nil
}

// The page's UPS parts on a real gateway: the self-test button shows for
// a driver that can start one and reaches it; the USB UPSes found under
// the configured sysfs tree are listed with the device that reads one.
func TestSelfTestAndAttached(t *testing.T) {
	bus, err := upshidsim.NewBus(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, serial := range []string{"AAA1", "BBB2"} {
		u, err := upshidsim.Load("../../drivers/testdata/third_party/hid/eaton-3s-700.rdesc.hex", "", "")
		if err != nil {
			t.Fatal(err)
		}
		u.Serial, u.Vendor, u.Product, u.Name = serial, 0x0463, 0xffff, "Eaton 3S"
		if _, err := bus.Attach(u); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cfg := gwtest.Load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: "tcp://127.0.0.1:1"}
devices:
  - {id: usv, driver: selfprobe, interval: 1h}
  - {id: fridge, driver: sim, kind: fridge, interval: 1h, sim: {scenario: fridge}}
  - {id: usb, driver: upshid, disabled: true, upshid: {serial: AAA1, sys_root: %q, dev_root: %q}}
`, dir, bus.Roots.Sys, bus.Roots.Dev))
	g := gwtest.New(t, cfg, "test")
	be := New(g, nil, nil)
	gwtest.Run(t, g)

	can := map[string]bool{}
	for _, d := range be.Devices() {
		can[d.ID] = d.SelfTest
	}
	if !can["usv"] || can["fridge"] || can["usb"] {
		t.Fatalf("self-test buttons %v", can)
	}
	if err := be.SelfTest(context.Background(), "usv", true); err != nil {
		t.Fatal(err)
	}
	selfMu.Lock()
	if len(selfTests) != 1 || selfTests[0] != "true" {
		t.Errorf("self-tests %v", selfTests)
	}
	selfMu.Unlock()
	if err := be.SelfTest(context.Background(), "fridge", false); err == nil {
		t.Error("a fridge started a battery self-test")
	}

	adopted := map[string]string{}
	for _, a := range be.Attached() {
		adopted[a.Key] = a.Adopted
	}
	if len(adopted) != 2 || adopted["AAA1"] != "usb" || adopted["BBB2"] != "" {
		t.Fatalf("attached %v", adopted)
	}
}
