package buffer

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestValueRoundTrip(t *testing.T) {
	created := time.Date(2026, 11, 22, 13, 0, 0, 123456789, time.UTC)
	cases := []struct {
		name    string
		topic   string
		payload []byte
	}{
		{"typical", "telemetry/usv-rack", samplePayload},
		{"empty payload", "status", nil},
		{"empty topic", "", []byte("x")},
		{"long topic", string(bytes.Repeat([]byte("a"), maxTopicLen)), []byte("{}")},
		{"binary payload", "event/x", []byte{0, 1, 2, 0xff}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := encodeValue(created, tc.topic, tc.payload)
			if len(v) != valueLen(tc.topic, tc.payload) {
				t.Fatalf("valueLen %d, encoded %d", valueLen(tc.topic, tc.payload), len(v))
			}
			gotCreated, topic, payload, err := decodeValue(v)
			if err != nil {
				t.Fatal(err)
			}
			if !gotCreated.Equal(created) || topic != tc.topic || !bytes.Equal(payload, tc.payload) {
				t.Fatalf("decoded %v %q %q", gotCreated, topic, payload)
			}
		})
	}
}

func TestDecodeValueRejects(t *testing.T) {
	good := encodeValue(time.Unix(1, 0), "topic", []byte("p"))
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:5]},
		{"other version", append([]byte{2}, good[1:]...)},
		{"no topic length", good[:valueHeaderLen]},
		{"topic longer than value", append(append([]byte(nil), good[:valueHeaderLen]...), 50, 'a')},
		{"topic length over limit", append(append([]byte(nil), good[:valueHeaderLen]...), 0x81, 0x10)},
		{"varint overflow", append(append([]byte(nil), good[:valueHeaderLen]...), bytes.Repeat([]byte{0xff}, 11)...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := decodeValue(tc.b); !errors.Is(err, errBadValue) {
				t.Fatalf("decodeValue(%x) = %v, want errBadValue", tc.b, err)
			}
		})
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := meta{lastSeq: 1 << 40}
	m.cls[0] = classMeta{count: 3, bytes: 900, evicted: 7, head: 12, headCreated: 99}
	m.cls[1] = classMeta{count: 1, bytes: 300, evicted: 0, head: 1 << 40, headCreated: -5}
	got, err := decodeMeta(m.encode())
	if err != nil || got != m {
		t.Fatalf("decodeMeta = %+v, %v; want %+v", got, err, m)
	}
	if _, err := decodeMeta(m.encode()[:metaLen-1]); err == nil {
		t.Fatal("truncated meta accepted")
	}
}

// FuzzDecodeValue feeds arbitrary bytes, as if read back from a damaged
// disk, to the value decoder: it must never panic, and whatever it accepts
// must survive a re-encode unchanged.
func FuzzDecodeValue(f *testing.F) {
	f.Add(encodeValue(time.Unix(1_700_000_000, 5), "telemetry/usv-rack", samplePayload))
	f.Add(encodeValue(time.Unix(0, 0), "", nil))
	f.Add([]byte{valueVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		created, topic, payload, err := decodeValue(b)
		if err != nil {
			if !errors.Is(err, errBadValue) {
				t.Fatalf("error %v does not wrap errBadValue", err)
			}
			return
		}
		if len(topic) > maxTopicLen {
			t.Fatalf("accepted topic of %d bytes", len(topic))
		}
		again := encodeValue(created, topic, payload)
		c2, t2, p2, err := decodeValue(again)
		if err != nil || !c2.Equal(created) || t2 != topic || !bytes.Equal(p2, payload) {
			t.Fatalf("re-encode of %x changed it: %v %q %q %v", b, c2, t2, p2, err)
		}
	})
}
