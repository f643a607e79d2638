package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// saveMu serialises edits of the config file: two technicians' browsers
// saving at once must not lose one of the changes.
var saveMu sync.Mutex

// errNoConfigFile: the gateway runs from a config that has no file (tests,
// demo), so there is nothing to edit.
var errNoConfigFile = errors.New("web: the config has no file")

// saveResult says why a save did not happen: field messages (form field
// name → message) and problems that belong to no field of the form.
type saveResult struct {
	Fields   map[string]string
	Problems []string
	// Applied says, after a successful save, what is in effect.
	Applied Applied
}

func (r saveResult) ok() bool { return len(r.Fields) == 0 && len(r.Problems) == 0 }

// saveConfig applies edits to the config file, validates the result with
// the same loader the daemon uses at start, and only then writes it
// atomically, keeping the previous file as .bak. fields maps config paths
// (uplink.broker) to the form's field names for field-level messages.
func (s *Server) saveConfig(ctx context.Context, lang string, edits []edit, fields map[string]string) (saveResult, error) {
	saveMu.Lock()
	defer saveMu.Unlock()
	path := s.be.Config().Path
	if path == "" {
		return saveResult{}, errNoConfigFile
	}
	st, err := os.Stat(path)
	if err != nil {
		return saveResult{}, fmt.Errorf("web: config file: %w", err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return saveResult{}, fmt.Errorf("web: read config: %w", err)
	}
	data, err := applyEdits(old, edits)
	if err != nil {
		return saveResult{}, fmt.Errorf("web: edit config: %w", err)
	}
	cfg, err := config.Parse(data, path)
	if err != nil {
		var ce *config.Errors
		if !errors.As(err, &ce) {
			return saveResult{}, fmt.Errorf("web: check config: %w", err)
		}
		return problemsToFields(ce.List, fields, lang), nil
	}
	if err := replaceKeepingOld(path, data, st.Mode().Perm()); err != nil {
		return saveResult{}, fmt.Errorf("web: write config: %w", err)
	}
	return saveResult{Applied: s.be.Apply(ctx, cfg)}, nil
}

// problemsToFields turns the loader's refusal into what the form shows:
// every problem in the list under the heading "Die Konfiguration wurde
// nicht übernommen:" (the loader speaks English and names the key path,
// which is precise and what a support call needs), and at the field it
// concerns a marker in the page's language pointing there, rather than an
// English sentence beside a German label.
func problemsToFields(list []config.Problem, fields map[string]string, lang string) saveResult {
	res := saveResult{Fields: map[string]string{}}
	for _, p := range list {
		// Line numbers refer to the edited text, which the technician
		// never saw; the key path says where.
		res.Problems = append(res.Problems, p.Path+": "+p.Msg)
		if f, ok := fields[p.Path]; ok {
			res.Fields[f] = tr(lang, "err.see_problems")
		}
	}
	return res
}
