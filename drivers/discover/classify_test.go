package discover

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordings are LibreNMS snmprec captures of real devices, kept apart as
// third-party test data (GPL-3.0, see its README).
const recordings = "../testdata/third_party/librenms-snmprec"

// identityFromRecording reads the three system-group objects from an
// snmprec file (OID|type|value per line).
func identityFromRecording(t *testing.T, name string) *SNMPIdentity {
	t.Helper()
	f, err := os.Open(filepath.Join(recordings, name+".snmprec"))
	if err != nil {
		t.Fatalf("recording: %v (the recordings live in drivers/testdata/third_party)", err)
	}
	defer f.Close()
	id := &SNMPIdentity{Via: "recording"}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		oid, rest, _ := strings.Cut(sc.Text(), "|")
		_, val, _ := strings.Cut(rest, "|")
		switch oid {
		case oidSysDescr:
			id.SysDescr = cleanText(val, 255)
		case oidSysObjectID:
			id.SysObjectID = strings.TrimPrefix(val, ".")
		case oidSysName:
			id.SysName = cleanText(val, 255)
		}
	}
	return id
}

func TestClassifyRecordings(t *testing.T) {
	tests := []struct {
		recording string
		kind      string
		reason    string
	}{
		{"apc_smt750x-nmc2", KindUPSCard, "APC"},
		{"eatonups", KindUPSCard, "Eaton (Powerware)"},
		{"eaton-mgeups_9px", KindUPSCard, "Eaton (MGE)"},
		{"cyberpower", KindUPSCard, "CyberPower"},
		{"netagent2", KindUPSCard, "NetAgent"},
		{"netmanplus_204", KindUPSCard, "Riello"},
		{"brother_hl5370dw", KindPrinter, "Brother"},
		{"canonprinter_lbp", KindPrinter, "Canon"},
		{"jetdirect_m252dw", KindPrinter, "JetDirect"},
		{"jetdirect_m880", KindPrinter, "JetDirect"},
		{"konica_c250i", KindPrinter, "Konica"},
		{"ricoh_mpc3002", KindPrinter, "Ricoh"},
		{"ciscosb_sg350-10", KindSwitch, "Cisco"},
		{"tplink_sg2008", KindSwitch, "TP-Link"},
		{"qnap", KindNAS, "QNAP"},
		// A Synology with DSM 7 reports the net-snmp Linux OID; its name
		// is what gives it away.
		{"dsm_ds214se-dsm7", KindNAS, `mentions "nas"`},
		{"avtech_roomalert4e", KindIoT, "AVTECH"},
		{"hwg-poseidon", KindIoT, "HW group"},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			h := &Host{SNMP: identityFromRecording(t, tt.recording)}
			if tt.recording == "dsm_ds214se-dsm7" {
				h.SNMP.SysName = "nas0" // the recording's sysName is redacted; its sysDescr names the host
			}
			kind, reason := classify(h)
			if kind != tt.kind || !strings.Contains(reason, tt.reason) {
				t.Errorf("classify(%+v) = %s (%s), want %s because of %q", h.SNMP, kind, reason, tt.kind, tt.reason)
			}
		})
	}
}

func TestClassifyWithoutSNMP(t *testing.T) {
	tests := []struct {
		name string
		h    Host
		kind string
	}{
		{"jetdirect port", Host{OpenPorts: []int{80, 9100}}, KindPrinter},
		{"ipp only", Host{OpenPorts: []int{631}}, KindPrinter},
		{"cups server is no printer", Host{OpenPorts: []int{22, 631}}, KindUnknown},
		{"synology by vendor", Host{Vendor: "Synology Incorporated", OpenPorts: []int{22, 80, 443, 445}}, KindNAS},
		{"desk phone by vendor", Host{Vendor: "Yealink(Xiamen) Network Technology Co.,Ltd."}, KindPhone},
		{"windows pc", Host{OpenPorts: []int{445, 3389}}, KindWorkstation},
		{"file server", Host{OpenPorts: []int{445}}, KindServer},
		{"linux box", Host{OpenPorts: []int{22, 443}}, KindServer},
		{"web-only gadget", Host{OpenPorts: []int{80}}, KindIoT},
		{"randomised phone", Host{Randomized: true}, KindUnknown},
		{"silent", Host{Vendor: "Intel Corporate"}, KindUnknown},
		{"windows agent", Host{SNMP: &SNMPIdentity{SysDescr: "Hardware: Intel64 - Software: Windows Version 6.3"}, OpenPorts: []int{3389}}, KindWorkstation},
		{"word boundaries", Host{SNMP: &SNMPIdentity{SysDescr: "workgroups server"}}, KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, reason := classify(&tt.h)
			if kind != tt.kind || reason == "" {
				t.Errorf("classify = %s (%s), want %s", kind, reason, tt.kind)
			}
		})
	}
}
