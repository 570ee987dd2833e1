package notes

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Limits keep the in-memory store bounded: `vmcp dev` runs this connector for as long as a
// developer leaves it up, and any MCP client (or a looping model) can call add_note.
const (
	maxTitleRunes = 200
	maxBodyBytes  = 64 << 10
	maxNotes      = 10_000
)

// note is one stored note. IDs are assigned in insertion order and never reused.
type note struct {
	ID    string
	Title string
	Body  string
}

// store holds the notes of one handler returned by New. Every MCP session (and, in stateless
// mode, every request) served by that handler shares it.
type store struct {
	mu    sync.RWMutex
	next  int
	notes []note
}

func (s *store) add(title, body string) (note, error) {
	title = strings.TrimSpace(title)
	switch {
	case title == "":
		return note{}, errors.New("title must not be empty")
	case utf8.RuneCountInString(title) > maxTitleRunes:
		return note{}, fmt.Errorf("title is longer than %d characters", maxTitleRunes)
	case len(body) > maxBodyBytes:
		return note{}, fmt.Errorf("body is longer than %d bytes", maxBodyBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.notes) >= maxNotes {
		return note{}, fmt.Errorf("the store is full (%d notes)", maxNotes)
	}
	s.next++
	n := note{ID: "note-" + strconv.Itoa(s.next), Title: title, Body: body}
	s.notes = append(s.notes, n)
	return n, nil
}

func (s *store) get(id string) (note, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, n := range s.notes {
		if n.ID == id {
			return n, nil
		}
	}
	return note{}, fmt.Errorf("note %q not found (list_notes shows the ids)", id)
}

// all returns a copy, so callers never read the slice while add appends to it.
func (s *store) all() []note {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]note(nil), s.notes...)
}

// search matches query case-insensitively against titles and bodies.
func (s *store) search(query string) ([]note, error) {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return nil, errors.New("query must not be empty")
	}
	var found []note
	for _, n := range s.all() {
		if strings.Contains(strings.ToLower(n.Title), q) || strings.Contains(strings.ToLower(n.Body), q) {
			found = append(found, n)
		}
	}
	return found, nil
}
