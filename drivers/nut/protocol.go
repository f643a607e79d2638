package nut

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The NUT network protocol (upsd, TCP 3493) is line based: a request is a
// line of words, a reply is one line or a BEGIN LIST ... END LIST block.
// Words are separated by blanks; a word holding blanks is double-quoted,
// and inside quotes a backslash escapes the next character.

// maxLine bounds one protocol line. upsd's own limit is far below this;
// anything longer is a broken or hostile peer.
const maxLine = 4096

// errLineTooLong is returned for a line over maxLine bytes.
var errLineTooLong = errors.New("line too long")

// ServerError is an "ERR <code>" reply, e.g. UNKNOWN-UPS or ACCESS-DENIED.
type ServerError struct {
	Code string
	// Extra is any text after the code.
	Extra string
}

func (e *ServerError) Error() string {
	if e.Extra != "" {
		return "server said ERR " + e.Code + " " + e.Extra
	}
	return "server said ERR " + e.Code
}

// readLine reads one LF-terminated line without the LF (and without a CR
// before it). Lines longer than maxLine are an error, so a peer cannot
// make us buffer without bound.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		if len(b)+len(chunk) > maxLine {
			return "", errLineTooLong
		}
		b = append(b, chunk...)
		if !isPrefix {
			return string(b), nil
		}
	}
}

// splitWords splits a protocol line into words, honouring quotes and
// backslash escapes.
func splitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && quoted:
			if i+1 >= len(line) {
				return nil, fmt.Errorf("line %q ends inside an escape", clip(line))
			}
			i++
			cur.WriteByte(line[i])
		case c == '"':
			if quoted {
				quoted = false
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
				continue
			}
			if inWord {
				return nil, fmt.Errorf("line %q has a quote inside a word", clip(line))
			}
			quoted, inWord = true, true
		case (c == ' ' || c == '\t') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			if c < 0x20 && c != '\t' {
				return nil, fmt.Errorf("line %q holds control byte 0x%02x", clip(line), c)
			}
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("line %q has an unterminated quote", clip(line))
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// quote renders a value as a quoted protocol word.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			// A value must stay on one line; control bytes have no
			// escape in the protocol, so they become blanks.
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// errReply turns an "ERR ..." line into a *ServerError, or returns nil.
func errReply(words []string) error {
	if len(words) == 0 || words[0] != "ERR" {
		return nil
	}
	e := &ServerError{Code: "UNKNOWN"}
	if len(words) > 1 {
		e.Code = words[1]
	}
	if len(words) > 2 {
		e.Extra = strings.Join(words[2:], " ")
	}
	return e
}

// Var is one UPS variable as the server sent it.
type Var struct {
	Name, Value string
}

// maxListItems bounds a LIST reply; real UPSes have a few hundred
// variables at most.
const maxListItems = 10000

// readList reads a "BEGIN LIST <kind> [args]" block and returns the words
// of each item line after the kind and args, e.g. for LIST VAR ups each
// item "VAR ups name "value"" yields [name value].
func readList(r *bufio.Reader, kind string, args ...string) ([][]string, error) {
	head := append([]string{kind}, args...)
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	w, err := splitWords(line)
	if err != nil {
		return nil, err
	}
	if e := errReply(w); e != nil {
		return nil, e
	}
	if len(w) < 2 || w[0] != "BEGIN" || w[1] != "LIST" || !equalWords(w[2:], head) {
		return nil, fmt.Errorf("want BEGIN LIST %s, got %q", strings.Join(head, " "), clip(line))
	}
	var items [][]string
	for range maxListItems + 1 {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		w, err := splitWords(line)
		if err != nil {
			return nil, err
		}
		if len(w) >= 2 && w[0] == "END" && w[1] == "LIST" {
			if !equalWords(w[2:], head) {
				return nil, fmt.Errorf("want END LIST %s, got %q", strings.Join(head, " "), clip(line))
			}
			return items, nil
		}
		if e := errReply(w); e != nil {
			return nil, e
		}
		if len(w) < len(head) || !equalWords(w[:len(head)], head) {
			return nil, fmt.Errorf("list item %q does not belong to LIST %s", clip(line), strings.Join(head, " "))
		}
		items = append(items, w[len(head):])
	}
	return nil, fmt.Errorf("LIST %s has more than %d items", strings.Join(head, " "), maxListItems)
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// parseVarList reads the reply to LIST VAR <ups>.
func parseVarList(r *bufio.Reader, ups string) ([]Var, error) {
	items, err := readList(r, "VAR", ups)
	if err != nil {
		return nil, err
	}
	vars := make([]Var, 0, len(items))
	for _, it := range items {
		if len(it) != 2 {
			return nil, fmt.Errorf("VAR item %q: want a name and a value", strings.Join(it, " "))
		}
		vars = append(vars, Var{Name: it[0], Value: it[1]})
	}
	return vars, nil
}

// parseUPSList reads the reply to LIST UPS: name and description of each.
func parseUPSList(r *bufio.Reader) ([]Var, error) {
	items, err := readList(r, "UPS")
	if err != nil {
		return nil, err
	}
	out := make([]Var, 0, len(items))
	for _, it := range items {
		if len(it) < 1 || len(it) > 2 {
			return nil, fmt.Errorf("UPS item %q: want a name and a description", strings.Join(it, " "))
		}
		v := Var{Name: it[0]}
		if len(it) == 2 {
			v.Value = it[1]
		}
		out = append(out, v)
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
