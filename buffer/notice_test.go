package buffer

import (
	"encoding/json"
)

// noticeOptions stores notices as JSON events on topic "event/gateway", as
// the gateway does with its own encoding.
func noticeOptions() Options {
	return Options{NoticeRecord: func(n Notice) (Record, error) {
		b, err := json.Marshal(map[string]any{"type": n.Type, "severity": n.Severity, "message": n.Message, "attrs": n.Attrs})
		return Record{Topic: "event/gateway", Payload: b}, err
	}}
}

// storedNotice is a notice read back from the queue.
type storedNotice struct {
	seq      uint64
	Type     string         `json:"type"`
	Severity string         `json:"severity"`
	Message  string         `json:"message"`
	Attrs    map[string]any `json:"attrs"`
}

// noticesIn picks the notices out of records read from the queue.
func noticesIn(recs []Record) []storedNotice {
	var out []storedNotice
	for _, r := range recs {
		if r.Topic != "event/gateway" {
			continue
		}
		var n storedNotice
		if json.Unmarshal(r.Payload, &n) != nil {
			continue
		}
		n.seq = r.Seq
		out = append(out, n)
	}
	return out
}
