package web

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/gateway/alarm"
)

// The overview's "TI" card: each TI connector (driver konnektor) with its
// state, its VPNs, its cards with the days their certificates have left and
// its card terminals, read from the connector's latest poll and the active
// alarms, and worded for the practice's staff with what to do. The
// driver's metric and condition names are in docs/drivers/konnektor.md.

// tiView is one connector on the card.
type tiView struct {
	ID, Name string
	At       time.Time
	// Model and Firmware are the connector's product and version.
	Model, Firmware string
	// State is the connector's overall state in words, Class its colour
	// (ok, warn, bad or empty).
	State, Class string
	VPNs         []tiLine
	Cards        []tiCard
	Terminals    []tiTerminal
}

// tiLine is a labelled state with its colour.
type tiLine struct {
	Label, Text, Class string
}

// tiCard is a card in one of the connector's terminals.
type tiCard struct {
	Type, Holder, Expiry string
	// Days is what the certificate has left; HasDays is false when the
	// connector gave no expiry date.
	Days    int
	HasDays bool
	// Text says what it means and what to do, Class its colour.
	Text, Class string
}

// tiTerminal is a card terminal.
type tiTerminal struct {
	ID, Name, IP string
	// Connected: the connector is connected to it now. Reachable: no
	// alarm says it is gone (a terminal never connected is neither).
	Connected, Reachable bool
	Text, Class          string
}

// tiViews builds the card's connectors from the devices of kind konnektor.
func tiViews(lang string, devs []Device, alarms []alarm.Alarm) []tiView {
	active := map[string]bool{}
	for _, a := range alarms {
		active[a.ID] = true
	}
	var out []tiView
	for _, d := range devs {
		if d.Driver != "konnektor" || d.Disabled {
			continue
		}
		out = append(out, tiViewOf(lang, d, active))
	}
	return out
}

func tiViewOf(lang string, d Device, active map[string]bool) tiView {
	v := tiView{ID: d.ID, Name: d.Name, At: d.At}
	has := func(cond string) bool { return active[d.ID+"/"+cond] }
	text := map[string]string{}
	num := map[string]float64{}
	flag := map[string]bool{}
	cards := map[string]bool{}
	terms := map[string]bool{}
	for _, m := range d.Metrics {
		switch x := m.Value.(type) {
		case string:
			text[m.Name] = x
		case float64:
			num[m.Name] = x
		case bool:
			flag[m.Name] = x
		}
		if rest, ok := strings.CutPrefix(m.Name, "card."); ok {
			if k, _, ok := strings.Cut(rest, "."); ok {
				cards[k] = true
			}
		}
		if rest, ok := strings.CutPrefix(m.Name, "terminal."); ok {
			if k, _, ok := strings.Cut(rest, "."); ok {
				terms[k] = true
			}
		}
	}
	v.Model = strings.TrimSpace(text["device.mfr"] + " " + text["device.model"])
	v.Firmware = text["device.firmware"]

	crit, warn := num["konnektor.error_states.critical"], num["konnektor.error_states.active"]
	switch {
	case d.Err != "" || has(alarm.UnreachableEvent):
		v.State, v.Class = tr(lang, "ti.state.unreachable"), "bad"
	case d.At.IsZero():
		v.State = tr(lang, "ti.state.unknown")
	case crit > 0:
		v.State, v.Class = fmt.Sprintf(tr(lang, "ti.state.critical"), int(crit)), "bad"
	case warn > 0:
		v.State, v.Class = fmt.Sprintf(tr(lang, "ti.state.notes"), int(warn)), "warn"
	default:
		v.State, v.Class = tr(lang, "ti.state.ok"), "ok"
	}

	for _, vpn := range []struct{ key, label, alarm string }{
		{"vpn.ti", "VPN-TI", "konnektor.ec_no_vpn_ti_connection"},
		{"vpn.sis", "VPN-SIS", "konnektor.ec_no_vpn_sis_connection"},
	} {
		st, known := text[vpn.key+".status"]
		if !known {
			continue
		}
		l := tiLine{Label: vpn.label}
		switch {
		case has(vpn.alarm):
			l.Text, l.Class = tr(lang, "ti."+vpn.key+".down"), "bad"
		case st == "Online":
			l.Text, l.Class = tr(lang, "ti.vpn.online"), "ok"
		case vpn.key == "vpn.ti":
			// Offline without an active alarm: the connector does not
			// call it an error (yet), or the alarm engine holds it back
			// as a consequence of a lost line or power; shown, not
			// alarmed.
			l.Text, l.Class = tr(lang, "ti.vpn.offline"), "warn"
		default:
			// A KoCoBox reports an unused SIS VPN Offline with its
			// error state false: no alarm, not a fault.
			l.Text = tr(lang, "ti.vpn.sis.unused")
		}
		v.VPNs = append(v.VPNs, l)
	}

	for _, k := range sortedKeys(cards) {
		p := "card." + k
		c := tiCard{Type: text[p+".type"], Holder: text[p+".holder"], Expiry: text[p+".cert_expiry"]}
		if days, ok := num[p+".cert_days"]; ok {
			c.Days, c.HasDays = int(days), true
		}
		name := tiCardName(lang, c.Type)
		switch {
		case has(p + ".cert_expired"):
			c.Text, c.Class = fmt.Sprintf(tr(lang, "ti.card.expired"), name, tiCardAction(lang, c.Type, true)), "bad"
		case has(p+".cert_expiring_soon") || has(p+".cert_expiring"):
			c.Class = "warn"
			if has(p + ".cert_expiring_soon") {
				c.Class = "bad"
			}
			c.Text = tiExpiresIn(lang, name, c.Days) + ": " + tiCardAction(lang, c.Type, false)
		case c.HasDays:
			c.Text, c.Class = fmt.Sprintf(tr(lang, "ti.card.valid"), c.Days), "ok"
		default:
			c.Text = tr(lang, "ti.card.no_expiry")
		}
		v.Cards = append(v.Cards, c)
	}

	// The most urgent card first.
	sort.SliceStable(v.Cards, func(i, j int) bool {
		a, b := v.Cards[i], v.Cards[j]
		if a.HasDays != b.HasDays {
			return a.HasDays
		}
		return a.Days < b.Days
	})

	for _, k := range sortedKeys(terms) {
		p := "terminal." + k
		t := tiTerminal{ID: k, Name: text[p+".name"], IP: text[p+".ip"], Connected: flag[p+".connected"]}
		gone := has(p+".unreachable") || has("konnektor.ec_cardterminal_not_available."+k)
		switch {
		case gone:
			t.Text, t.Class = tr(lang, "ti.term.gone"), "bad"
		case t.Connected:
			t.Reachable = true
			t.Text, t.Class = tr(lang, "ti.term.connected"), "ok"
		default:
			t.Text = tr(lang, "ti.term.never")
		}
		v.Terminals = append(v.Terminals, t)
	}
	return v
}

// tiCardName is the card type as the practice knows it.
func tiCardName(lang, typ string) string {
	switch typ {
	case "SMC-B", "HSM-B", "HBA", "HBA-qSig", "SMC-KT":
		return tr(lang, "ti.cardname."+strings.ToLower(strings.TrimSuffix(typ, "-qSig")))
	case "":
		return tr(lang, "ti.cardname.unknown")
	}
	return typ
}

// tiCardAction says what to do about an expiring or expired card.
func tiCardAction(lang, typ string, expired bool) string {
	if expired {
		return tr(lang, "ti.do.insert")
	}
	switch typ {
	case "HBA", "HBA-qSig":
		return tr(lang, "ti.do.order_hba")
	case "SMC-KT":
		return tr(lang, "ti.do.order_smckt")
	}
	return tr(lang, "ti.do.order")
}

// tiExpiresIn: "SMC-B läuft in 12 Tagen ab".
func tiExpiresIn(lang, name string, days int) string {
	switch days {
	case 0:
		return fmt.Sprintf(tr(lang, "ti.card.today"), name)
	case 1:
		return fmt.Sprintf(tr(lang, "ti.card.tomorrow"), name)
	}
	return fmt.Sprintf(tr(lang, "ti.card.expires_in"), name, days)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
