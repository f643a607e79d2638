// Package nutwire is the line format of the NUT network protocol (upsd,
// TCP 3493), shared by the nut driver (a client) and the gateway's NUT
// server: a request is a line of words, a reply is one line or a BEGIN
// LIST ... END LIST block. Words are separated by blanks; a word holding
// blanks is double-quoted, and inside quotes a backslash escapes the next
// character.
package nutwire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLine bounds one protocol line. upsd's own limit is far below this;
// anything longer is a broken or hostile peer.
const MaxLine = 4096

// ErrLineTooLong is returned for a line over MaxLine bytes.
var ErrLineTooLong = errors.New("line too long")

// ReadLine reads one LF-terminated line without the LF (and without a CR
// before it). Lines longer than MaxLine are an error, so a peer cannot
// make us buffer without bound.
func ReadLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		if len(b)+len(chunk) > MaxLine {
			return "", ErrLineTooLong
		}
		b = append(b, chunk...)
		if !isPrefix {
			return string(b), nil
		}
	}
}

// SplitWords splits a protocol line into words, honouring quotes and
// backslash escapes.
func SplitWords(line string) ([]string, error) {
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

// Quote renders a value as a quoted protocol word.
func Quote(s string) string {
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

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
