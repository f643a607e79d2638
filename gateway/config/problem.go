package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one mistake in a config file. Path is the key path in the style
// a technician reads in the file (devices[2].interval); Line and Column are
// 1-based and point at the key, or at the enclosing mapping when the key is
// missing.
type Problem struct {
	Path   string
	Line   int
	Column int
	Msg    string
}

// String formats the problem without the file name: LINE:COL: PATH: MSG.
func (p Problem) String() string {
	if p.Path == "" {
		return fmt.Sprintf("%d:%d: %s", p.Line, p.Column, p.Msg)
	}
	return fmt.Sprintf("%d:%d: %s: %s", p.Line, p.Column, p.Path, p.Msg)
}

// Errors is every problem found in one file. Load and Parse return it as
// their error so that check-config can print the whole list: fixing a file
// one restart per mistake wastes a technician's visit.
type Errors struct {
	// File is the config file's path as given to Load or Parse.
	File string
	// List is sorted by line, then column, then discovery order.
	List []Problem
}

// Error prints one problem per line as FILE:LINE:COL: PATH: MSG, the format
// editors and grep understand.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, p := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.File != "" {
			b.WriteString(e.File)
			b.WriteByte(':')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// sortProblems orders problems by position, keeping discovery order for
// problems at the same place so related messages stay together.
func sortProblems(list []Problem) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Line != list[j].Line {
			return list[i].Line < list[j].Line
		}
		return list[i].Column < list[j].Column
	})
}
