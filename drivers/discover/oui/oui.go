// Package oui names the maker of a network card from the first three bytes
// of its MAC address, using the IEEE MA-L registry compiled into table.go.
//
// The table is generated, not hand-written: the gateway has no internet on
// site, so the registry travels inside the binary. It is stored as a sorted
// array of 24-bit prefixes plus a de-duplicated string table (about 0.6 MB in
// the binary) rather than a map literal, which would cost several megabytes
// of heap and slow start-up on a Raspberry Pi.
package oui

import (
	"net"
	"sort"
)

//go:generate go run ./internal/ouigen -in /usr/share/ieee-data/oui.csv -lastupdate /usr/share/ieee-data/.lastupdate -source "Debian package ieee-data 20220827.1, file /usr/share/ieee-data/oui.csv" -out table.go

// Lookup returns the registered organisation for mac's OUI, or "" when the
// prefix is not in the table or mac is too short. Locally administered
// addresses (randomised by phones and laptops) never match: the IEEE does
// not assign them.
func Lookup(mac net.HardwareAddr) string {
	if len(mac) < 3 || mac[0]&0x02 != 0 {
		return ""
	}
	p := uint32(mac[0])<<16 | uint32(mac[1])<<8 | uint32(mac[2])
	i := sort.Search(len(prefixes), func(i int) bool { return prefixes[i] >= p })
	if i == len(prefixes) || prefixes[i] != p {
		return ""
	}
	n := nameIndex[i]
	return names[nameOffsets[n]:nameOffsets[n+1]]
}

// Len reports how many prefixes the table holds, so tests and `praxisgate
// version` can show that the table is not empty.
func Len() int { return len(prefixes) }

// Source names where the table came from and how old it is.
func Source() string { return source }
