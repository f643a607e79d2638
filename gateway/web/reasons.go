package web

import (
	"regexp"
	"strings"
)

// The self-update explains itself in English (update/, for the log and
// the provider's events). The Update page shows the reasons it knows in
// the page's language; anything else is a technical error text, shown as
// it is but labelled so on a German page.

type reasonPattern struct {
	re  *regexp.Regexp
	key string
}

var reasonPatterns = []reasonPattern{
	{regexp.MustCompile(`^no update: section in the config$`), "upd.r_no_section"},
	{regexp.MustCompile(`^update: is configured, but this box cannot update`), "upd.r_cannot"},
	{regexp.MustCompile(`^running the newest release$`), "upd.r_newest"},
	{regexp.MustCompile(`^outside the maintenance window$`), "upd.r_window"},
	{regexp.MustCompile(`^UPS (\S+) is on battery$`), "upd.r_on_battery"},
	{regexp.MustCompile(`^critical alarm active: (.+)$`), "upd.r_critical"},
	{regexp.MustCompile(`^a version is on trial; wait for it to commit or roll back$`), "upd.r_trial_wait"},
	{regexp.MustCompile(`^restarting into the new version$`), "upd.r_restarting"},
	{regexp.MustCompile(`^healthy$`), "upd.r_healthy"},
	{regexp.MustCompile(`^must become healthy within (\S+)$`), "upd.r_trial"},
	{regexp.MustCompile(`^staged rollout at (\d+%), this gateway is in bucket (\d+)$`), "upd.r_rollout"},
	{regexp.MustCompile(`^(\S+) for (\S+) on (\S+), rollout (\d+%)$`), "upd.r_available"},
	{regexp.MustCompile(`^(\S+) was refused here before \(its binary is not what its label says\); waiting for a newer release$`), "upd.r_refused_before"},
	{regexp.MustCompile(`^(\S+) was rolled back here before; waiting for a newer release$`), "upd.r_rolled_before"},
	{regexp.MustCompile(`^downgrade refused: the repository offers (\S+), older than the running (\S+), without allow_downgrade$`), "upd.r_downgrade"},
	{regexp.MustCompile(`^no release for (\S+) on (\S+) \(`), "upd.r_no_release"},
	{regexp.MustCompile(`^(\S+) started (\d+) times without becoming healthy \((.+)\)$`), "upd.r_boots"},
}

// updateReason writes an update reason in the page's language.
func updateReason(lang, reason string) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return ""
	}
	for _, p := range reasonPatterns {
		m := p.re.FindStringSubmatch(reason)
		if m == nil {
			continue
		}
		args := make([]any, len(m)-1)
		for i, a := range m[1:] {
			args[i] = a
		}
		return tf(lang, p.key, args...)
	}
	return tf(lang, "upd.r_technical", reason)
}
