package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The journal is the write-ahead file of the events handed to a Recorder. Record appends each
// event with one write(2) before it returns — that is, before the request's answer goes out —
// so the event is in the operating system's page cache and survives the vmcp process being
// killed (SIGKILL, a panic, an exit that skips the flush). It does not survive the machine
// itself crashing before the kernel writes the page back: no fsync is paid per request; the
// spill file, where events wait while the store is down, is fsynced.
//
// Run retires a journal file (rotate, then drain the buffer into the store or the fsynced
// spill file, then remove the file) every few seconds. A journal file found when a Recorder
// opens the directory belongs to a process that died: it is renamed into a spill segment and
// replayed. Most of its events are usually in the store already; the store's insert ignores an
// id it has, so every event ends up there exactly once.
const (
	journalPrefix = "journal-"
	// journalRotateEvery and journalRotateBytes bound how much a restart replays.
	journalRotateEvery = 5 * time.Second
	journalRotateBytes = 4 << 20
)

// journal owns the active journal file. It has no lock of its own: the Recorder's mu orders it.
// Appends run under mu's read lock (O_APPEND writes are atomic with respect to each other, so
// they need no lock among themselves); rotate runs under its write lock, and close once stopped
// is set under it (no append comes after).
type journal struct {
	dir string

	f     *os.File
	name  string
	bytes atomic.Int64 // appended to f since it was opened
	opens time.Time    // when f was opened; only Run reads and writes it
}

// journalBufs pools the per-call encoding buffers, so that Record allocates nothing for them.
var journalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// openJournal turns the journal files of a dead process into spill segments (replayed by Run)
// and starts a new journal file.
func openJournal(dir string) (*journal, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: journal: %w", err)
	}
	for _, e := range entries {
		if !isFileOf(e, journalPrefix) {
			continue
		}
		n := e.Name()
		seg := segmentPrefix + strings.TrimPrefix(n, journalPrefix)
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(dir, seg)); err != nil {
			return nil, fmt.Errorf("audit: journal of an earlier run: %w", err)
		}
	}
	j := &journal{dir: dir}
	if j.f, j.name, err = j.create(); err != nil {
		return nil, err
	}
	j.opens = time.Now()
	return j, nil
}

func (j *journal) create() (*os.File, string, error) {
	f, name, err := createFile(j.dir, journalPrefix)
	if err != nil {
		return nil, "", fmt.Errorf("audit: journal file: %w", err)
	}
	return f, name, nil
}

// add writes one event, as one line in one write(2). The caller holds the Recorder's read lock
// (so that rotation, under its write lock, knows every event in the old file is in the buffer).
func (j *journal) add(ev *Event) error {
	bp := journalBufs.Get().(*[]byte)
	b, ok := appendEvent((*bp)[:0], ev)
	var err error
	if !ok {
		// Something appendEvent does not write as encoding/json would: let it.
		var raw []byte
		if raw, err = json.Marshal(ev); err == nil {
			b = append(append(b, raw...), '\n')
		}
	}
	if err == nil {
		if j.f == nil {
			err = errSpillClosed
		} else {
			_, err = j.f.Write(b)
		}
	}
	j.bytes.Add(int64(len(b)))
	if cap(b) <= 64<<10 {
		*bp = b
		journalBufs.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("audit: journal write: %w", err)
	}
	return nil
}

// due reports whether the active file should be rotated now.
func (j *journal) due(now time.Time) bool {
	n := j.bytes.Load()
	return n > 0 && (n >= journalRotateBytes || now.Sub(j.opens) >= journalRotateEvery)
}

// rotate starts a new file and returns the old one's path, to be removed once its events are
// safe elsewhere. The caller holds the Recorder's write lock.
func (j *journal) rotate() (string, error) {
	f, name, err := j.create()
	if err != nil {
		return "", err
	}
	old, oldName := j.f, j.name
	j.f, j.name, j.opens = f, name, time.Now()
	j.bytes.Store(0)
	old.Close()
	return oldName, nil
}

// retire removes a journal file whose events are all in the store or the spill file.
func (j *journal) retire(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("audit: remove retired journal file: %w", err)
	}
	return nil
}

// close closes the active file and, when every event in it is safe elsewhere, removes it. Nothing
// is appended any more (the Recorder is stopped).
func (j *journal) close(remove bool) error {
	f, name := j.f, j.name
	j.f = nil
	if f == nil {
		return nil
	}
	err := f.Close()
	if remove {
		if rerr := j.retire(name); err == nil {
			err = rerr
		}
	}
	return err
}
