package nutserve

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/internal/nutwire"
)

// FuzzServer feeds request bytes to the server's answer loop: whatever
// comes, every reply line parses and logins are undone by logout.
func FuzzServer(f *testing.F) {
	f.Add([]byte("LIST VAR usv\nGET VAR usv ups.status\nUSERNAME a\nPASSWORD \"b c\"\nLOGIN usv\nLOGOUT\n"))
	f.Add([]byte("GET \"unterminated\nLIST\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		src := &fakeUPS{vars: map[string]map[string]string{"usv": {"ups.status": "OB LB", "x": "a\"b"}}}
		s := &Server{Username: "user", Password: "password1", UPSes: src.get}
		log := slog.New(slog.DiscardHandler)
		ss := &session{addr: "127.0.0.1:1"}
		r := bufio.NewReader(bytes.NewReader(b))
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		for range 100 {
			line, err := nutwire.ReadLine(r)
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && err != nutwire.ErrLineTooLong {
					t.Fatalf("readLine: %v", err)
				}
				break
			}
			words, err := nutwire.SplitWords(line)
			if err != nil {
				continue
			}
			if s.answer(w, ss, words, log) {
				break
			}
		}
		w.Flush()
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if l == "" && out.Len() > 0 {
				t.Fatalf("empty reply line in %q", out.String())
			}
			if _, err := nutwire.SplitWords(l); err != nil {
				t.Fatalf("server wrote an unparsable line %q: %v", l, err)
			}
		}
		s.logout(ss)
		if n := s.numLogins("usv"); n != 0 {
			t.Fatalf("%d logins left after logout", n)
		}
	})
}
