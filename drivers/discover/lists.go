package discover

import "fmt"

// SetLists replaces the known_macs and adopted lists of a running driver,
// so that a device a technician adopts on the web page is marked in the
// inventory at once rather than after a restart of the daemon. The lists
// are checked as at start; the hosts already in the inventory are marked
// anew, and the next sweep saves and reports them so.
func (d *Driver) SetLists(known []string, adopted map[string]string) error {
	cfg := d.cfg
	cfg.KnownMACs, cfg.Adopted = known, adopted
	p, err := cfg.check()
	if err != nil {
		return fmt.Errorf("discover %s: lists: %w", d.dev.ID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// Only the list fields: the sweep reads the rest of the policy
	// without the lock.
	d.policy.knownMACs, d.policy.knownOUIs, d.policy.adopted = p.knownMACs, p.knownOUIs, p.adopted
	if d.inv != nil {
		for mac, h := range d.inv.hosts {
			d.policy.mark(h, mac)
		}
	}
	return nil
}
