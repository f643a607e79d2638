// Package logring keeps the daemon's last log lines in memory, for the
// get-log command, support bundles and the web page: a box in a practice
// has no technician reading journald, and the provider must see why it
// misbehaves without a VPN. It is a slog.Handler that tees every record to
// the daemon's real handler and to a fixed-size ring of text lines.
package logring

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// Ring is the shared store of lines; Handler writes into it.
type Ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

// NewRing keeps the last n lines (at least 1).
func NewRing(n int) *Ring {
	return &Ring{lines: make([]string, max(n, 1))}
}

func (r *Ring) add(line string) {
	r.mu.Lock()
	r.lines[r.next] = line
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// Lines returns up to n of the most recent lines, oldest first (n <= 0:
// all that are kept).
func (r *Ring) Lines(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	if r.full {
		all = append(append(all, r.lines[r.next:]...), r.lines[:r.next]...)
	} else {
		all = append(all, r.lines[:r.next]...)
	}
	if n > 0 && n < len(all) {
		all = all[len(all)-n:]
	}
	return all
}

// Handler tees records to next and, formatted as slog text lines, to the
// ring. Secrets stay out because drivers.Secret redacts itself through
// LogValue before any handler sees it.
type Handler struct {
	next  slog.Handler
	text  slog.Handler
	ring  *Ring
	level slog.Leveler
}

// lineWriter receives the text handler's output, one record per Write.
type lineWriter struct {
	ring *Ring
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.ring.add(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// New returns a handler that logs to next and keeps records at level or
// above in ring. The ring may keep more than next shows (info while the
// console is at warn): that is what a support case needs.
func New(next slog.Handler, ring *Ring, level slog.Leveler) *Handler {
	w := &lineWriter{ring: ring}
	return &Handler{next: next, ring: ring, level: level,
		text: slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})}
}

// Ring returns the store, for readers.
func (h *Handler) Ring() *Ring { return h.ring }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level.Level() || h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.level.Level() {
		h.text.Handle(ctx, r) // cannot fail: the writer never does
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next, c.text = h.next.WithAttrs(as), h.text.WithAttrs(as)
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next, c.text = h.next.WithGroup(name), h.text.WithGroup(name)
	return &c
}
