package fleetwatch

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind is what a topic below a box's root carries.
type Kind int

// The topic kinds the watcher tells apart.
const (
	KindOther Kind = iota
	KindStatus
	KindAlarms
	KindTelemetry
	KindEvent
	KindCommand // cloud → box: not a sign of the box's life
)

func (k Kind) String() string {
	return [...]string{"other", "status", "alarms", "telemetry", "event", "command"}[k]
}

// Message is what the watcher needs of one box message.
type Message struct {
	Box   string // "site/gateway"
	Kind  Kind
	Seq   uint64 // 0: none
	Boot  string
	Clock string // "synced", "unsynced" or ""
	State string // status only: "online", "offline"
	// Alarms is the active set (alarms topic only).
	Alarms []Alarm
}

// Alarm is one active alarm of a box's retained alarms topic.
type Alarm struct {
	ID       string    `json:"id"`
	Device   string    `json:"device"`
	Severity string    `json:"severity"`
	Message  string    `json:"message"`
	Since    time.Time `json:"since"`
	Acked    bool      `json:"acked"`
}

// Decode parses one message of topic below prefix. A retained message
// cleared with an empty payload decodes with Kind set and nothing else.
// Bytes from the broker are outside input: anything malformed is an error
// (counted, never a crash).
func Decode(prefix, topic string, payload []byte) (Message, error) {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	if !ok {
		return Message{}, fmt.Errorf("topic %q is not below %q", topic, prefix)
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return Message{}, fmt.Errorf("topic %q: want %s/{site}/{gateway}/...", topic, prefix)
	}
	m := Message{Box: parts[0] + "/" + parts[1]}
	switch parts[2] {
	case "status":
		m.Kind = KindStatus
	case "alarms":
		m.Kind = KindAlarms
	case "telemetry":
		m.Kind = KindTelemetry
	case "event":
		m.Kind = KindEvent
	case "cmd":
		m.Kind = KindCommand
		return m, nil
	}
	if len(payload) == 0 {
		return m, nil
	}
	var p struct {
		Seq    *uint64 `json:"seq"`
		Boot   string  `json:"boot"`
		Clock  string  `json:"clock"`
		State  string  `json:"state"`
		Alarms []Alarm `json:"alarms"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return m, fmt.Errorf("%s: %w", topic, err)
	}
	if p.Clock != "" && p.Clock != "synced" && p.Clock != "unsynced" {
		return m, fmt.Errorf("%s: clock %q is neither synced nor unsynced", topic, p.Clock)
	}
	m.Boot, m.Clock, m.State = p.Boot, p.Clock, p.State
	switch m.Kind {
	case KindTelemetry, KindEvent:
		if p.Seq == nil || *p.Seq == 0 {
			return m, fmt.Errorf("%s: no seq", topic)
		}
		m.Seq = *p.Seq
	case KindStatus:
		if p.State != "online" && p.State != "offline" {
			return m, fmt.Errorf("%s: state %q is neither online nor offline", topic, p.State)
		}
	case KindAlarms:
		for _, a := range p.Alarms {
			if a.ID == "" {
				return m, fmt.Errorf("%s: an alarm without id", topic)
			}
		}
		m.Alarms = p.Alarms
		if m.Alarms == nil {
			m.Alarms = []Alarm{}
		}
	}
	return m, nil
}
