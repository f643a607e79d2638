package snmp

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
)

// TestRecordings serves real device recordings through net-snmp's snmpd and
// checks that the right profile is chosen and the readings are right. The
// expected values were read off the recordings by hand (raw value and the
// MIB's scale), and printer supplies are cross-checked against LibreNMS's
// own expected results in the .json beside each recording.
func TestRecordings(t *testing.T) {
	dir := recordingsDir(t)
	tests := []struct {
		file     string
		profiles []string
		kind     string
		metrics  map[string]any
		conds    []string
	}{
		{"apc_smt750x-nmc2", []string{"apc"}, "ups", map[string]any{
			"device.model": "Smart-UPS X 750", "battery.charge": 100.0, "battery.temperature": 23.4,
			"battery.runtime": 109762.0, "input.voltage": 119.1, "ups.status": "OL", "battery.replace": "no",
		}, nil},
		{"eaton-mgeups_9px", []string{"ups-mib"}, "ups", map[string]any{
			"device.mfr": "EATON", "battery.status": "normal", "battery.runtime": 1440.0, "battery.charge": 100.0,
			"input.frequency": 50.1, "input.voltage": 237.0, "ups.status": "OL", "ups.load": 35.0, "output.realpower": 310.0,
		}, nil},
		{"netmanplus_204", []string{"ups-mib"}, "ups", map[string]any{
			"battery.voltage": 122.5, "battery.runtime": 8100.0, "battery.temperature": 37.0, "ups.status": "OL", "ups.load": 8.0,
		}, nil},
		{"cyberpower", []string{"cyberpower"}, "ups", map[string]any{
			"device.model": "OL2200RTXL2U", "battery.charge": 100.0, "battery.runtime": 1740.0, "input.voltage": 119.5, "ups.status": "OL",
		}, nil},
		{"eatonups", []string{"eaton-xups"}, "ups", map[string]any{
			"battery.runtime": 8620.0, "battery.charge": 100.0, "input.frequency": 50.0, "ups.load": 25.0, "ups.status": "OL",
		}, nil},
		{"jetdirect_m252dw", []string{"printer"}, "printer", map[string]any{
			"printer.supply.black_cartridge_hp_cf400x.percent": 63.0, "printer.supply.yellow_cartridge_hp_cf402x.percent": 36.0,
		}, nil},
		{"jetdirect_m880", []string{"printer"}, "printer", map[string]any{
			// The description continues after a newline as hex text.
			"printer.supply.black_cartridge_827a_hp_cf300a.percent": 92.0,
			"printer.supply.cyan_cartridge_827a_hp_cf301a.percent":  16.0,
		}, nil},
		{"brother_hl5370dw", []string{"printer"}, "printer", map[string]any{
			// Toner capacity -2 (unknown): no percentage; the drum counts pages.
			"printer.supply.drum_unit.percent": 68.832, "printer.pages": 7792.0,
		}, nil},
		{"ricoh_mpc3002", []string{"printer"}, "printer", map[string]any{
			"printer.supply.cyan_toner.percent": 20.0, "printer.pages": 271871.0,
			// The waste toner box (type wasteToner) has all its space left.
			"printer.supply.waste_toner.space_percent": 100.0,
		}, nil},
		{"konica_c250i", []string{"printer"}, "printer", map[string]any{
			"printer.supply.toner_black.percent": 86.0, "printer.pages": 33810.0,
		}, []string{"printer.service_requested"}}, // hrPrinterDetectedErrorState 01 00
		{"canonprinter_lbp", []string{"printer"}, "printer", map[string]any{
			"printer.supply.canon_cartridge_719_719h.percent": 70.0,
		}, nil},
		{"dsm_ds214se-dsm7", []string{"synology", "host-resources", "if-mib"}, "nas", map[string]any{
			"system.status": "normal", "system.temperature": 34.0, "device.model": "DS214se",
			"disk.disk_1.status": "normal", "disk.disk_2.temperature": 33.0, "raid.volume_1.status": "normal",
			"storage.volume1.size": 5943208427520.0, "storage.root.size": 2509889536.0,
		}, nil},
		{"qnap", []string{"qnap", "host-resources", "if-mib"}, "nas", map[string]any{
			"device.model": "TVS-871U-RP", "system.temperature": 33.0, "disk.hdd1.temperature": 28.0,
			"disk.hdd1.status": "ready", "disk.hdd1.smart": "GOOD",
		}, []string{"storage.mnt_ext.almost_full"}}, // /mnt/ext is 93 % used in the recording
		{"hwg-ste2", []string{"hwg"}, "sensor", map[string]any{
			"sensor.datorrum_2": 20.3, "sensor.datorrum_2.state": "normal",
		}, nil},
		{"hwg-poseidon", []string{"hwg"}, "sensor", map[string]any{
			"sensor.h_servidores": 29.6, "sensor.t_ambiente": 26.8,
		}, nil},
		{"avtech_roomalert4e", []string{"avtech"}, "sensor", map[string]any{
			"sensor.internal": 22.0, "sensor.external_1": 23.0, "sensor.external_2": 23.0,
		}, nil},
		{"tplink_sg2008", []string{"switch", "if-mib"}, "switch", map[string]any{
			"if.port_1_gigabit_copper.oper_status": "up", "if.port_5_gigabit_copper.oper_status": "down",
		}, nil},
		{"ciscosb_sg350-10", []string{"switch", "if-mib"}, "switch", map[string]any{
			"if.gigabitethernet1.oper_status": "up", "if.gigabitethernet9.oper_status": "down",
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a := startAgent(t, filepath.Join(dir, tc.file+".snmprec"), snmpsim.AgentConfig{})
			d, s := pollOnce(t, v2cConfig(a.Addr()))
			if got := d.Profiles(); !slices.Equal(got, tc.profiles) {
				t.Errorf("profiles = %v, want %v", got, tc.profiles)
			}
			if s.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", s.Kind, tc.kind)
			}
			got := map[string]any{}
			for _, m := range s.Metrics {
				got[m.Name] = m.Value
			}
			for name, want := range tc.metrics {
				if g, ok := got[name]; !ok {
					t.Errorf("metric %s missing", name)
				} else if g != want {
					t.Errorf("metric %s = %v (%T), want %v", name, g, g, want)
				}
			}
			var conds []string
			for _, c := range s.Conditions {
				conds = append(conds, c.Name)
			}
			if !slices.Equal(conds, tc.conds) {
				t.Errorf("conditions = %v, want %v", conds, tc.conds)
			}
			if tc.kind == "printer" {
				checkSuppliesAgainstLibreNMS(t, filepath.Join(dir, tc.file+".json"), filepath.Join(dir, tc.file+".snmprec"), s.Metrics)
			}
		})
	}
}

// checkSuppliesAgainstLibreNMS compares our supply percentages with
// LibreNMS's for every supply whose level and capacity are real numbers
// (LibreNMS guesses 50 % for "some remaining"; we deliberately publish
// nothing then). Names differ between the two, so the values are compared as
// multisets, restricted to marker supplies (LibreNMS also lists paper trays).
func checkSuppliesAgainstLibreNMS(t *testing.T, jsonPath, recPath string, ms []drivers.Metric) {
	t.Helper()
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Supplies struct {
			Discovery struct {
				Supplies []struct {
					OID      string `json:"supply_oid"`
					Current  int    `json:"supply_current"`
					Capacity int    `json:"supply_capacity"`
				} `json:"printer_supplies"`
			} `json:"discovery"`
		} `json:"printer-supplies"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(recPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := snmpsim.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, s := range doc.Supplies.Discovery.Supplies {
		level := strings.TrimPrefix(s.OID, ".")
		if !strings.HasPrefix(level, "1.3.6.1.2.1.43.11.1.1.9.") {
			continue // input trays
		}
		lo, _ := snmpsim.ParseOID(level)
		v, ok := rec.Get(lo)
		if !ok {
			continue
		}
		raw, _ := strconv.Atoi(v.Value)
		if raw < 0 || s.Capacity <= 0 {
			continue
		}
		want = append(want, s.Current)
	}
	var got []int
	for _, m := range ms {
		// LibreNMS lists a receptacle's level too (its space left).
		if strings.HasPrefix(m.Name, "printer.supply.") && (strings.HasSuffix(m.Name, ".percent") || strings.HasSuffix(m.Name, ".space_percent")) {
			got = append(got, int(math.Round(m.Value.(float64))))
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("supply percentages %v, LibreNMS has %v", got, want)
	}
}
