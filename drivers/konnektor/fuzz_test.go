package konnektor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

var fuzzOps = []string{opResourceInformation, opCardTerminals, opCards}

// FuzzDecode feeds arbitrary bytes to the SOAP answer parser and the code
// that turns an answer into metrics and conditions: it must never panic,
// and what it accepts must make a valid sample. The seed corpus
// (testdata/fuzz/FuzzDecode) holds simulator answers in several states
// and faults; the real answers in testdata/third_party are added here, so
// they stay in the folder that carries their licence.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		op   uint8 // index into fuzzOps
		path string
	}{
		{0, "cocard/GetResourceInformationResponse_connector.xml"},
		{1, "cocard/GetCardTerminalsResponse.xml"},
		{2, "cocard/GetCardsResponse.xml"},
		{2, "med-united/GetCardsResponse_testcards_med-united.xml"},
	} {
		f.Add(s.op, readSeed(f, s.path))
	}
	f.Fuzz(func(t *testing.T, op uint8, data []byte) {
		o := fuzzOps[int(op)%len(fuzzOps)]
		env, err := decode(o, data)
		if err != nil {
			if env != nil {
				t.Fatal("an error with a result")
			}
			return
		}
		r := &reading{now: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), warn: 60, crit: 14}
		switch o {
		case opResourceInformation:
			r.connector(env.Body.Resource.Connector)
		case opCardTerminals:
			r.unavailable = map[string]bool{}
			r.terminals(env.Body.Terminals.Terminals)
			r.finish()
		case opCards:
			r.cards(env.Body.Cards.Cards)
		}
		s := drivers.Sample{Metrics: r.metrics, Conditions: r.conds}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted answer gives an invalid sample: %v", err)
		}
		for _, c := range s.Conditions {
			if strings.ContainsAny(c.Name, " /()") {
				t.Fatalf("condition name %q", c.Name)
			}
		}
	})
}

// FuzzServiceDirectory feeds arbitrary bytes to the connector.sds parser
// and the endpoint choice; seeds are the simulator's directory
// (testdata/fuzz) and the four real ones.
func FuzzServiceDirectory(f *testing.F) {
	for _, p := range []string{"med-united/kocobox-ptv4.80.3-fw4.2.16_med-united.sds", "med-united/rise-ptv5.0.2-fw4.2.8_med-united.sds",
		"med-united/secunet-ptv5.53.0-fw5.10.0_med-united.sds", "cocard/kocobox-ptv5.1.0-fw5.1.8_cocard.sds"} {
		f.Add(readSeed(f, p))
	}
	base := &Driver{}
	base.base, _ = base.base.Parse("https://192.168.1.10")
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := ParseServiceDirectory(data)
		if err != nil {
			return
		}
		loc, _, err := sd.EventServiceEndpoint()
		if err != nil {
			return
		}
		ep, err := base.endpoint(loc)
		if err != nil {
			return
		}
		if !strings.HasPrefix(ep, "https://192.168.1.10/") {
			t.Fatalf("endpoint %q left the configured host", ep)
		}
	})
}

func readSeed(f *testing.F, p string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata/third_party", p))
	if err != nil {
		f.Fatal(err)
	}
	return b
}
