package konnektor

import (
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
)

// errorCondition is one operational-state condition of gemSpec_Kon
// TAB_KON_503 (5.18.0), with the severity the specification gives it and
// what it means, in our own words.
type errorCondition struct {
	Type     string // Operation or Security
	Severity string // Fatal, Error, Warning or Info
	Meaning  string
}

// errorConditions maps the condition name without its "(ctId)" or "(no)"
// parameter to its specification entry.
var errorConditions = map[string]errorCondition{
	"EC_CardTerminal_Software_Out_Of_Date":             {"Operation", "Info", "the card terminal's firmware is not current"},
	"EC_CardTerminal_gSMC-KT_Certificate_Expires_Soon": {"Operation", "Info", "the card terminal's gSMC-KT certificate expires within five weeks"},
	"EC_Connector_Software_Out_Of_Date":                {"Operation", "Info", "a critical connector update is offered"},
	"EC_FW_Update_Available":                           {"Operation", "Info", "newer connector or card terminal firmware is offered"},
	"EC_FW_Not_Valid_Status_Blocked":                   {"Security", "Fatal", "the firmware must be updated; access to the TI is blocked"},
	"EC_Time_Sync_Not_Successful":                      {"Operation", "Info", "the last time synchronisation failed"},
	"EC_TSL_Update_Not_Successful":                     {"Operation", "Info", "the last download of the trust list (TSL) failed"},
	"EC_TSL_Expiring":                                  {"Security", "Info", "the trust list (TSL) must be renewed within 7 days"},
	"EC_BNetzA_VL_Update_Not_Successful":               {"Operation", "Info", "the last download of the BNetzA trust list failed"},
	"EC_BNetzA_VL_not_valid":                           {"Security", "Warning", "the BNetzA trust list is out of date"},
	"EC_TSL_Trust_Anchor_Expiring":                     {"Security", "Info", "the TSL trust anchor expires within 30 days"},
	"EC_LOG_OVERFLOW":                                  {"Operation", "Warning", "logs were deleted before their retention period; an administrator must reset this"},
	"EC_CRL_Expiring":                                  {"Security", "Warning", "the revocation list (CRL) must be renewed within 3 days"},
	"EC_Time_Sync_Pending_Warning":                     {"Security", "Warning", "no time synchronisation for longer than the warning period"},
	"EC_TSL_Out_Of_Date_Within_Grace_Period":           {"Security", "Warning", "the trust list (TSL) has expired and is in its grace period"},
	"EC_CardTerminal_Not_Available":                    {"Operation", "Error", "a card terminal marked active cannot be reached"},
	"EC_No_VPN_TI_Connection":                          {"Operation", "Error", "there is no VPN tunnel into the TI"},
	"EC_No_VPN_SIS_Connection":                         {"Operation", "Error", "there is no VPN tunnel to the Secure Internet Service"},
	"EC_No_Online_Connection":                          {"Operation", "Error", "the services of the transport network cannot be reached"},
	"EC_IP_Adresses_Not_Available":                     {"Security", "Error", "the connector's network IP addresses are missing or wrong"},
	"EC_CRL_Out_Of_Date":                               {"Security", "Fatal", "the revocation list (CRL) has expired"},
	"EC_Firewall_Not_Reliable":                         {"Security", "Fatal", "the firewall rules could not be built or loaded"},
	"EC_Random_Generator_Not_Reliable":                 {"Security", "Fatal", "the random number generator lacks entropy"},
	"EC_Secure_KeyStore_Not_Available":                 {"Security", "Fatal", "the connector's gSMC-K or trust store is unavailable"},
	"EC_Security_Log_Not_Writable":                     {"Operation", "Fatal", "the security log cannot be written"},
	"EC_Software_Integrity_Check_Failed":               {"Security", "Fatal", "the software integrity self-test failed"},
	"EC_Time_Difference_Intolerable":                   {"Security", "Fatal", "the clock is too far off the time server; an administrator must reset this"},
	"EC_Time_Sync_Pending_Critical":                    {"Security", "Fatal", "no time synchronisation for longer than the grace period"},
	"EC_TSL_Trust_Anchor_Out_Of_Date":                  {"Security", "Fatal", "the TSL trust anchor has expired"},
	"EC_TSL_Out_Of_Date_Beyond_Grace_Period":           {"Security", "Fatal", "the trust list (TSL) has expired beyond its grace period"},
	"EC_CRYPTOPERATION_ALARM":                          {"Security", "Warning", "an unusual rate of cryptographic operations; an administrator must reset this"},
	"EC_NK_Certificate_Expiring":                       {"Security", "Warning", "the connector's VPN certificate (C.NK.VPN) expires within 180 days"},
	"EC_NK_Certificate_Expired":                        {"Security", "Fatal", "the connector's VPN certificate (C.NK.VPN) has expired"},
	"EC_TLS_Client_Certificate_Security":               {"Security", "Info", "a client-interface TLS certificate is weaker than 120 bits"},
	"EC_OTHER_ERROR_STATE":                             {"", "", "a vendor-specific condition (see the connector's manual)"},
}

// vpnConditions are the error states behind "the VPN is down": critical,
// whatever the table says, because the practice has no TI while they last.
var vpnConditions = map[string]bool{"EC_No_VPN_TI_Connection": true, "EC_No_VPN_SIS_Connection": true}

// splitCondition splits "EC_CardTerminal_Not_Available(CT_ID_0176)" into
// its name and parameter.
func splitCondition(s string) (name, param string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		return s[:i], s[i+1 : len(s)-1]
	}
	return s, ""
}

// severityOf maps a gematik severity to praxisgate's: Fatal is critical
// (the connector refuses service), Error major, Warning minor, Info info.
func severityOf(s string) drivers.Severity {
	switch strings.TrimSpace(s) {
	case "Fatal":
		return drivers.Critical
	case "Error":
		return drivers.Major
	case "Warning":
		return drivers.Minor
	case "Info":
		return drivers.Info
	}
	return drivers.Major // an unknown severity is worth a look
}

// conditionSeverity is the praxisgate severity of a present error state:
// the specification's for known conditions, the connector's own for
// vendor-specific or newer ones.
func conditionSeverity(es ErrorState) drivers.Severity {
	name, _ := splitCondition(es.ErrorCondition)
	if vpnConditions[name] {
		return drivers.Critical
	}
	if ec, ok := errorConditions[name]; ok && ec.Severity != "" {
		return severityOf(ec.Severity)
	}
	return severityOf(es.Severity)
}

// slug makes a condition or card id usable in a dotted metric name.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
