package harness

import (
	"os"
	"path/filepath"
)

// WriteFile replaces the file at path with data as an editor does: written beside it, then
// renamed over it, so that a process watching the file (vmcp's configuration and policy
// watchers) never reads half of it.
func WriteFile(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
