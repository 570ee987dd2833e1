package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The spill directory holds JSON Lines files of events that have not reached the store yet:
//
//	spill-<id>.jsonl  segments; the newest may be the active one, still being appended to
//	rejected.jsonl    events the store refused while it accepted others (never replayed)
//	.lock             held while a Recorder uses the directory
//
// Appends go to the active segment only. Replay works on closed segments only: before it reads
// the active one, it rotates it (flush, fsync, close) so that later appends start a new file.
// Reading and appending therefore never touch the same file, and a segment is removed only
// once every event in it is in the store.
const (
	segmentPrefix = "spill-"
	segmentSuffix = ".jsonl"
	rejectedFile  = "rejected.jsonl"
	lockFile      = ".lock"
	spillBufSize  = 64 << 10
)

var errSpillClosed = errors.New("audit: spill file closed")

// spill owns the spill directory.
type spill struct {
	dir  string
	lock *os.File

	// mu guards the active segment. The request path holds it only for a buffered append
	// (an encode and a memcpy, now and then a write(2)); fsync happens outside it.
	mu       sync.Mutex
	f        *os.File
	w        *bufio.Writer
	enc      *json.Encoder
	name     string
	events   int  // events in the active segment
	dirty    bool // appended since the last sync
	dirtyDir bool // a file was created or removed since the directory was last synced
	closed   bool
}

func openSpill(dir string) (*spill, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: spill directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: spill directory: %w", err)
	}
	// Two processes sharing one directory would replay, and delete, each other's active
	// segment: refuse instead.
	if err := lockExclusive(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("audit: spill directory %s is in use by another process: %w", dir, err)
	}
	return &spill{dir: dir, lock: lock}, nil
}

// append adds events to the active segment, opening one if needed. They reach the disk at the
// next sync.
func (s *spill) append(evs ...Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errSpillClosed
	}
	if s.f == nil {
		if err := s.openSegment(); err != nil {
			return err
		}
	}
	for i := range evs {
		if err := s.enc.Encode(&evs[i]); err != nil {
			// A bufio.Writer keeps its first error forever: start a fresh segment next time.
			// Events buffered but not yet written are lost with it; say so.
			s.discardSegment()
			return fmt.Errorf("audit: spill write (events since the last sync are lost): %w", err)
		}
		s.events++
	}
	s.dirty = true
	return nil
}

func (s *spill) openSegment() error {
	f, name, err := createFile(s.dir, segmentPrefix)
	if err != nil {
		return fmt.Errorf("audit: spill file: %w", err)
	}
	s.f, s.name, s.events, s.dirtyDir = f, name, 0, true
	s.w = bufio.NewWriterSize(f, spillBufSize)
	s.enc = json.NewEncoder(s.w)
	s.enc.SetEscapeHTML(false)
	return nil
}

func (s *spill) discardSegment() {
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.w, s.enc, s.name, s.events, s.dirty = nil, nil, nil, "", 0, false
}

// sync makes every appended event durable: flush under the lock, fsync outside it, so that a
// slow disk never holds up Record's overflow path. Only the Run goroutine (or Close) calls
// sync and rotate, so the file cannot be closed underneath the fsync.
func (s *spill) sync() error {
	s.mu.Lock()
	f, dirty, dirtyDir := s.f, s.dirty, s.dirtyDir
	var err error
	if f != nil && dirty {
		err = s.w.Flush()
		if err != nil {
			s.discardSegment()
		}
	}
	s.dirty, s.dirtyDir = false, false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("audit: spill flush: %w", err)
	}
	if f != nil && dirty {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("audit: spill fsync: %w", err)
		}
	}
	if dirtyDir {
		return syncDir(s.dir)
	}
	return nil
}

// rotate closes the active segment so that it can be replayed, and returns its path ("" when
// nothing was appended since the last rotation). A failed fsync still returns the path, with
// the error: the bytes are readable from the page cache, and the file stays until replayed.
func (s *spill) rotate() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil || s.events == 0 {
		return "", nil
	}
	f, name := s.f, s.name
	if err := s.w.Flush(); err != nil {
		s.discardSegment()
		return "", fmt.Errorf("audit: spill flush (the file is replayed by the next run): %w", err)
	}
	err := f.Sync()
	s.discardSegment()
	if err != nil {
		return name, fmt.Errorf("audit: spill fsync: %w", err)
	}
	return name, nil
}

// createFile creates a new file of the spill directory for appending: prefix, a new id,
// segmentSuffix. Ids sort by time, so names of one prefix do too, and a journal file becomes a
// segment by swapping its prefix.
func createFile(dir, prefix string) (*os.File, string, error) {
	name := filepath.Join(dir, prefix+NewID(time.Now())+segmentSuffix)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	return f, name, err
}

// isFileOf reports whether e is a regular file createFile made with prefix.
func isFileOf(e os.DirEntry, prefix string) bool {
	n := e.Name()
	return e.Type().IsRegular() && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, segmentSuffix)
}

// segments lists the closed segments, oldest first (ids sort by time).
func (s *spill) segments() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("audit: spill directory: %w", err)
	}
	s.mu.Lock()
	active := s.name
	s.mu.Unlock()
	var out []string
	for _, e := range entries {
		if p := filepath.Join(s.dir, e.Name()); isFileOf(e, segmentPrefix) && p != active {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// size is how many bytes the segments hold on disk (the active one's buffered appends not
// counted); 0 without a spill directory.
func (s *spill) size() int64 {
	if s == nil {
		return 0
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if !isFileOf(e, segmentPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// remove deletes a fully replayed segment.
func (s *spill) remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("audit: remove replayed spill file: %w", err)
	}
	s.mu.Lock()
	s.dirtyDir = true
	s.mu.Unlock()
	return nil
}

// reject sets an event aside in rejected.jsonl, durably, for an operator to look at.
func (s *spill) reject(ev *Event) error {
	f, err := os.OpenFile(filepath.Join(s.dir, rejectedFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: rejected file: %w", err)
	}
	b, err := json.Marshal(ev)
	if err == nil {
		_, err = f.Write(append(b, '\n'))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: rejected file: %w", err)
	}
	return nil
}

// close flushes and fsyncs the active segment and releases the directory.
func (s *spill) close() error {
	err := s.sync()
	s.mu.Lock()
	s.closed = true
	s.discardSegment()
	s.mu.Unlock()
	unlock(s.lock)
	if cerr := s.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes file creations and removals in dir durable (a crash must not resurrect a
// replayed segment, nor lose a new one).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: spill directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: spill directory fsync: %w", err)
	}
	return nil
}
