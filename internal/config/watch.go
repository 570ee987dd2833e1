package config

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// ApplyFunc takes a newly loaded configuration into service. It returns an error, and must leave
// everything as it was, when any component cannot accept the configuration.
type ApplyFunc func(*Config) error

// debounce coalesces the burst of events an editor's save produces (truncate, write, chmod, or
// write-to-temp + rename) into one reload.
const debounce = 50 * time.Millisecond

// Watch reloads the file at path whenever it changes and hands each valid configuration to apply.
// A file that fails to load, or that apply rejects, is logged with every problem and the last good
// configuration keeps serving. Watch returns when ctx is done.
//
// The directory is watched, not the file, because editors and Kubernetes ConfigMaps replace the
// file by renaming, which ends a watch on the old inode.
func Watch(ctx context.Context, path string, current []byte, log *zap.Logger, apply ApplyFunc) error {
	return watch(ctx, path, current, log, apply, nil)
}

// watch is Watch with a hook called once the directory watch is in place, so that tests can
// change the file knowing the change will be seen, without sleeping.
func watch(ctx context.Context, path string, current []byte, log *zap.Logger, apply ApplyFunc, ready func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	dir := filepath.Dir(path)
	if err := w.Add(dir); err != nil {
		return err
	}
	if ready != nil {
		ready()
	}
	base := filepath.Base(path)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	last := current
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			log.Warn("config watch error", zap.Error(err))
		case ev := <-w.Events:
			// ConfigMaps swap a "..data" symlink; any change in the directory may be ours then.
			if filepath.Base(ev.Name) == base || filepath.Base(ev.Name) == "..data" {
				timer.Reset(debounce)
			}
		case <-timer.C:
			data, err := os.ReadFile(path)
			if err != nil {
				log.Error("config reload failed; keeping the last good configuration", zap.String("file", path), zap.Error(err))
				continue
			}
			if bytes.Equal(data, last) {
				continue
			}
			cfg, err := Load(path, data)
			if err == nil {
				err = apply(cfg)
			}
			if err != nil {
				var ps Problems
				if errors.As(err, &ps) {
					for _, p := range ps {
						log.Error("config reload rejected; keeping the last good configuration", zap.String("problem", p.String()))
					}
				} else {
					log.Error("config reload rejected; keeping the last good configuration", zap.String("file", path), zap.Error(err))
				}
				continue
			}
			last = data
			log.Info("config reloaded", zap.String("file", path))
		}
	}
}
