package konnektor

import (
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequestsValidate checks what the driver sends, and the real answers
// it is tested with, against the gematik XSDs with Debian's xmllint.
func TestRequestsValidate(t *testing.T) {
	testpeer.SkipShort(t, "libxml2-utils (xmllint)")
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found: install the Debian package libxml2-utils (it is in the Makefile's TEST_PEERS)")
	}
	dir := t.TempDir()
	cc := CallContext{MandantID: "Mandant <1> & Co", ClientSystemID: "praxisgate", WorkplaceID: "Monitoring"}
	files := []string{
		"testdata/third_party/cocard/GetResourceInformationResponse_connector.xml",
		"testdata/third_party/cocard/GetCardTerminalsResponse.xml",
		"testdata/third_party/cocard/GetCardsResponse.xml",
		"testdata/third_party/med-united/GetCardsResponse_testcards_med-united.xml",
	}
	reqs := map[string][]byte{
		"gri.xml":      request(opResourceInformation, cc, true, ""),
		"gct.xml":      request(opCardTerminals, cc, true, ""),
		"gct-ws.xml":   request(opCardTerminals, cc, false, ""),
		"gc-smb.xml":   request(opCards, cc, true, "SM-B"),
		"gc-hbax.xml":  request(opCards, cc, true, "HBAx"),
		"gc-smckt.xml": request(opCards, cc, false, "SMC-KT"),
	}
	for name, b := range reqs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out, err := exec.Command(bin, append([]string{"--nonet", "--noout", "--schema", "testdata/soap-envelope.xsd"}, files...)...).CombinedOutput()
	if err != nil || strings.Count(string(out), " validates") != len(files) {
		t.Errorf("xmllint: %v\n%s", err, out)
	}
}
