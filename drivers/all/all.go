// Package all links every driver into the binary: importing it runs each
// driver package's init(), which registers the driver.
package all

import (
	_ "github.com/praxisgate/praxisgate/drivers/apcmodbus"  // APC Smart-UPS over Modbus RTU
	_ "github.com/praxisgate/praxisgate/drivers/check"      // ping, TCP and HTTP availability
	_ "github.com/praxisgate/praxisgate/drivers/dicom"      // DICOM C-ECHO of imaging devices
	_ "github.com/praxisgate/praxisgate/drivers/discover"   // ARP sweeps and network inventory
	_ "github.com/praxisgate/praxisgate/drivers/httpjson"   // Shelly Gen2 and HTTP JSON sensors
	_ "github.com/praxisgate/praxisgate/drivers/konnektor"  // TI Konnektor, its cards and card terminals
	_ "github.com/praxisgate/praxisgate/drivers/modbus"     // fridges and sensors over Modbus TCP/RTU
	_ "github.com/praxisgate/praxisgate/drivers/mqttsensor" // Tasmota, zigbee2mqtt on a local broker
	_ "github.com/praxisgate/praxisgate/drivers/nut"        // UPS managed by a NUT server (NAS)
	_ "github.com/praxisgate/praxisgate/drivers/onewire"    // DS18B20 probes on the box
	_ "github.com/praxisgate/praxisgate/drivers/sim"        // synthetic devices
	_ "github.com/praxisgate/praxisgate/drivers/snmp"       // printers, UPS cards, NAS, switches
	_ "github.com/praxisgate/praxisgate/drivers/ups"        // UPS on a serial cable
	_ "github.com/praxisgate/praxisgate/drivers/upshid"     // UPS on USB (HID Power Device)
)
