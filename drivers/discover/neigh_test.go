package discover

import (
	"strings"
	"testing"
)

const procNetARP = `IP address       HW type     Flags       HW address            Mask     Device
192.168.1.1      0x1         0x2         00:11:32:aa:bb:cc     *        eth0
192.168.1.7      0x1         0x0         00:00:00:00:00:00     *        eth0
192.168.1.9      0x1         0x6         00:c0:b7:01:02:03     *        eth1
`

func TestParseNeighbours(t *testing.T) {
	got, err := parseNeighbours(strings.NewReader(procNetARP))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].IP.String() != "192.168.1.1" || got[0].MAC.String() != "00:11:32:aa:bb:cc" ||
		got[1].Iface != "eth1" {
		t.Errorf("got %+v", got)
	}
	for _, bad := range []string{
		"garbage\n",
		"IP address HW type Flags HW address Mask Device\n1.2.3.4 0x1 0x2 00:11:22:33:44:55 *\n",
		"IP address HW type Flags HW address Mask Device\n::1 0x1 0x2 00:11:22:33:44:55 * eth0\n",
		"IP address HW type Flags HW address Mask Device\n1.2.3.4 0x1 0xZ 00:11:22:33:44:55 * eth0\n",
		"IP address HW type Flags HW address Mask Device\n1.2.3.4 0x1 0x2 00:11:22 * eth0\n",
	} {
		if _, err := parseNeighbours(strings.NewReader(bad)); err == nil {
			t.Errorf("parseNeighbours(%q) accepted", bad)
		}
	}
}

// FuzzParseNeighbours: the table is kernel output, but a broken /proc or
// a future format must give an error, not a panic or a bogus entry.
func FuzzParseNeighbours(f *testing.F) {
	f.Add(procNetARP)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseNeighbours(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, n := range got {
			if !n.IP.Is4() || len(n.MAC) != 6 || isZero(n.MAC) || n.Iface == "" {
				t.Fatalf("bad entry %+v", n)
			}
		}
	})
}
