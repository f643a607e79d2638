package drivers

import "log/slog"

// Secret holds a password, community string or key. It prints as "[redacted]"
// in logs, %v and JSON, so a secret never reaches a log line or a support
// bundle by accident; call Reveal where the protocol needs it.
//
// In the config file a Secret field `password` may instead be given as
// `password_file: path`; the gateway reads the file (trailing newline
// removed, path relative to the config file).
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String redacts.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts %#v too.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts in slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts in JSON and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
