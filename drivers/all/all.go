// Package all links every driver into the binary: importing it runs each
// driver package's init(), which registers the driver.
package all

import (
	_ "github.com/praxisgate/praxisgate/drivers/discover" // ARP sweeps and network inventory
	_ "github.com/praxisgate/praxisgate/drivers/sim"      // synthetic devices
)
