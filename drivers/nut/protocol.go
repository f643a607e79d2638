package nut

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/praxisgate/praxisgate/internal/nutwire"
)

// The NUT network protocol (upsd, TCP 3493) is line based: a request is a
// line of words, a reply is one line or a BEGIN LIST ... END LIST block.
// Words are separated by blanks; a word holding blanks is double-quoted,
// and inside quotes a backslash escapes the next character.

// The line format is internal/nutwire's, which the gateway's NUT server
// shares.
var (
	readLine       = nutwire.ReadLine
	splitWords     = nutwire.SplitWords
	quote          = nutwire.Quote
	errLineTooLong = nutwire.ErrLineTooLong
)

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
