package modem

import (
	"fmt"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

// encode builds the SMS-SUBMIT TPDUs for a text: GSM 7-bit default
// alphabet when every character is in it (German umlauts and ß are),
// UCS-2 otherwise (e.g. a degree sign), split into concatenated parts with
// a user data header when it does not fit one SMS.
func encode(number, text string) ([]tpdu.TPDU, error) {
	if !validNumber(number) {
		return nil, fmt.Errorf("encode SMS: number %q is not +digits or digits", number)
	}
	pdus, err := sms.Encode([]byte(text), sms.To(number))
	if err != nil {
		return nil, fmt.Errorf("encode SMS: %w", err)
	}
	return pdus, nil
}

// validNumber accepts what a modem dials: an optional + and 3 to 20 digits.
func validNumber(n string) bool {
	if len(n) > 0 && n[0] == '+' {
		n = n[1:]
	}
	if len(n) < 3 || len(n) > 20 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}
