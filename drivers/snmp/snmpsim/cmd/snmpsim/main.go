// Command snmpsim is a pass_persist helper for net-snmp's snmpd that answers
// from an snmprec recording, for the demo and for trying profiles by hand:
//
//	pass_persist -p 1 .1.3.6.1 /usr/bin/env SNMPSIM_RECORDING=/path/x.snmprec snmpsim
package main

import (
	"fmt"
	"os"

	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
)

func main() {
	if !snmpsim.HelperMain() {
		fmt.Fprintln(os.Stderr, "snmpsim: set "+snmpsim.EnvRecording+" to an snmprec file (optional: "+snmpsim.EnvRoot+", "+snmpsim.EnvDelay+")")
		os.Exit(2)
	}
}
