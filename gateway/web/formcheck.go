package web

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
)

// The forms judge their own fields before the config loader sees them, so
// that the technician reads what is wrong in the page's language next to
// the field (the loader speaks English and names YAML paths). The loader
// still has the last word; what it refuses appears under a heading of
// its own (problemsToFields).

// slugRE is the loader's shape of site, gateway and device ids (they
// become MQTT topic levels).
var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// brokerSchemes are the URL schemes the uplink speaks.
var brokerSchemes = map[string]bool{"mqtt": true, "mqtts": true, "tcp": true, "ssl": true, "tls": true, "ws": true, "wss": true}

// checkSlug returns the message key for an id field, "" when it is fine.
func checkSlug(v string) string {
	switch {
	case v == "":
		return "err.required"
	case !slugRE.MatchString(v):
		return "err.slug"
	}
	return ""
}

// checkBroker returns the message key for the broker URL, "" when the
// form can find nothing wrong with it.
func checkBroker(v string) string {
	if v == "" {
		return "err.required"
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "err.url"
	}
	if !brokerSchemes[strings.ToLower(u.Scheme)] {
		return "err.scheme"
	}
	if u.User != nil {
		return "err.url_user"
	}
	if u.Hostname() == "" {
		return "err.url_host"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "err.port"
		}
	}
	return ""
}

// checkRule judges the threshold form; stale says the rule also watches
// for silence, which makes a rule without limits valid.
func checkRule(f ruleForm, stale bool, lang string) map[string]string {
	fields := map[string]string{}
	nums := map[string]float64{}
	for _, p := range []struct{ name, v string }{{"above", f.Above}, {"below", f.Below}, {"hysteresis", f.Hysteresis}} {
		if p.v == "" {
			continue
		}
		s, ok := parseNumber(p.v)
		if !ok {
			fields[p.name] = tr(lang, "err.number")
			continue
		}
		nums[p.name], _ = strconv.ParseFloat(s, 64)
	}
	above, hasAbove := nums["above"]
	below, hasBelow := nums["below"]
	if hasAbove && hasBelow && above <= below {
		fields["above"] = tr(lang, "err.above_below")
	}
	if f.Above == "" && f.Below == "" && !stale {
		fields["above"] = tr(lang, "err.need_bound")
	}
	if h, ok := nums["hysteresis"]; ok && h < 0 {
		fields["hysteresis"] = tr(lang, "err.negative")
	}
	if f.For != "" && !validDuration(f.For) {
		fields["for"] = tr(lang, "err.duration")
	}
	switch drivers.Severity(f.Severity) {
	case "", drivers.Critical, drivers.Major, drivers.Minor:
	default:
		fields["severity"] = tr(lang, "err.severity")
	}
	return fields
}
