package handlers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/command"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// testerDriver is a UPS driver that records self-test requests.
type testerDriver struct {
	drivers.Driver
	deep []bool
	err  error
}

func (d *testerDriver) SelfTest(_ context.Context, deep bool) error {
	d.deep = append(d.deep, deep)
	return d.err
}

type plainDriver struct{ drivers.Driver }

// devicesOnly is a Core that knows its devices and nothing else.
type devicesOnly struct {
	Core
	devs []gateway.Device
}

func (c devicesOnly) Devices() []gateway.Device { return c.devs }

func TestUPSSelfTest(t *testing.T) {
	ups := &testerDriver{}
	broken := &testerDriver{err: errors.New("unit answered NAK")}
	g := &server{log: slog.New(slog.DiscardHandler), core: devicesOnly{devs: []gateway.Device{
		{Config: config.Device{ID: "usv", Driver: "upshid"}, Driver: ups},
		{Config: config.Device{ID: "usv-alt", Driver: "apcmodbus"}, Driver: broken},
		{Config: config.Device{ID: "kuehlschrank", Driver: "sim"}, Driver: plainDriver{}},
	}}}
	call := func(args string) (any, error) {
		return g.cmdUPSSelfTest(context.Background(), command.Request{ID: "t", Args: []byte(args)})
	}
	res, err := call(`{"device":"usv","deep":true}`)
	if err != nil || res.(map[string]any)["started"] != true || len(ups.deep) != 1 || !ups.deep[0] {
		t.Fatalf("self-test of usv = %v, %v (requests %v)", res, err, ups.deep)
	}
	for _, tt := range []struct{ args, want string }{
		{`{"device":"kuehlschrank"}`, `"kuehlschrank" (driver sim) cannot start a battery self-test`},
		{`{"device":"nope"}`, `args.device: unknown device "nope"`},
		{`{"device":"gateway"}`, `args.device: unknown device "gateway"`},
		{`{"device":"usv","quick":true}`, `unknown field "quick"`},
		{`{"device":"usv-alt"}`, `self-test of usv-alt: unit answered NAK`},
	} {
		if _, err := call(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.args, err, tt.want)
		}
	}
}
