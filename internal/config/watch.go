package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// settle is how long a drastic change (see drastic) must leave the file unchanged before it is
// applied. Editors and configuration-management tools that write a file in pieces (truncate,
// write part, pause, write the rest) pause for far less; the first part of a configuration is
// often itself valid (a server section, no connectors, no virtual servers), and applying it
// would take every virtual server offline until the rest arrives.
var settle = 2 * time.Second

// inPlaceSettle is how long a file written in place (not replaced whole by a rename, which is
// atomic) must stay unchanged before it is read as the new configuration. A reader can see such
// a file half-written, and half a file can be valid yet lose what its second half said — the
// access rules of the last virtual server, say — so it is given time to be finished.
var inPlaceSettle = time.Second

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
//
// Secret files named by ${file:…} are watched too: rotating a credential in its file reloads
// the configuration even though the configuration file itself did not change.
func watch(ctx context.Context, path string, current []byte, log *zap.Logger, apply ApplyFunc, ready func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	watched := map[string]bool{}
	watchedFiles := map[string]bool{filepath.Clean(path): true}
	addDir := func(dir string) error {
		if watched[dir] {
			return nil
		}
		if err := w.Add(dir); err != nil {
			return err
		}
		watched[dir] = true
		return nil
	}
	if err := addDir(filepath.Dir(path)); err != nil {
		return err
	}
	watchSecrets := func(files []string) {
		for _, f := range files {
			f = filepath.Clean(f)
			watchedFiles[f] = true
			if err := addDir(filepath.Dir(f)); err != nil {
				log.Warn("cannot watch a secret file's directory; rotate it by touching the configuration", zap.String("file", f), zap.Error(err))
			}
		}
	}
	// lastCfg is what is serving, for telling a drastic change (nil when current does not load).
	lastCfg, err := Load(path, current)
	if err == nil {
		watchSecrets(lastCfg.SecretFiles())
	} else {
		lastCfg = nil
	}
	if ready != nil {
		ready()
	}
	last := current
	// held is a drastic change waiting for the file to settle, first read at heldSince.
	var held []byte
	var heldSince time.Time
	secretsChanged := false
	// inPlace is set when a watched file was written in place since the last reload; lastWrite
	// is when.
	inPlace := false
	var lastWrite time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			log.Warn("watch error", zap.Error(err))
		case ev := <-w.Events:
			name := filepath.Clean(ev.Name)
			base := filepath.Base(name)
			switch {
			// ConfigMaps and Secrets swap a "..data" symlink; any change in the directory may
			// be ours then.
			case base == "..data":
				secretsChanged = true
			case name == filepath.Clean(path):
			case watchedFiles[name]:
				secretsChanged = true
			default:
				continue
			}
			if ev.Has(fsnotify.Write) {
				inPlace, lastWrite = true, time.Now()
			}
			timer.Reset(debounce)
		case <-timer.C:
			if wait := inPlaceSettle - time.Since(lastWrite); inPlace && wait > 0 {
				log.Debug("config file written in place; waiting for it to settle", zap.String("file", path), zap.Duration("settle", inPlaceSettle))
				timer.Reset(wait)
				continue
			}
			inPlace = false
			data, err := os.ReadFile(path)
			if err != nil {
				log.Error("config reload failed; keeping the last good configuration", zap.String("file", path), zap.Error(err))
				continue
			}
			if bytes.Equal(data, last) && !secretsChanged {
				held = nil
				continue
			}
			// An empty file would be a valid all-defaults configuration, but during a reload it
			// is almost always an editor caught between truncate and write: dropping every
			// connector for that would be worse than waiting for the next event.
			if len(bytes.TrimSpace(data)) == 0 {
				log.Warn("config file is empty; keeping the last good configuration", zap.String("file", path))
				continue
			}
			cfg, err := Load(path, data)
			if err == nil {
				if why := drastic(lastCfg, cfg); why != "" {
					if !bytes.Equal(data, held) {
						held, heldSince = data, time.Now()
						log.Warn("config change "+why+"; holding it back until the file has been unchanged for the settle period",
							zap.String("file", path), zap.Duration("settle", settle))
						timer.Reset(settle)
						continue
					}
					if wait := settle - time.Since(heldSince); wait > 0 {
						timer.Reset(wait)
						continue
					}
					log.Warn("config change "+why+"; the file has not changed for the settle period, applying it",
						zap.String("file", path), zap.Duration("settle", settle))
				}
				held = nil
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
			last, lastCfg, secretsChanged = data, cfg, false
			watchSecrets(cfg.SecretFiles())
			log.Info("config reloaded", zap.String("file", path))
		}
	}
}

// drastic says how next would take away most of what prev serves — every virtual server, or more
// than half of the connectors (by name) — or returns "" when it would not. Such a change is
// what a file caught half-written looks like, so it is applied only once the file has settled.
func drastic(prev, next *Config) string {
	if prev == nil {
		return ""
	}
	if len(prev.VirtualServers) > 0 && len(next.VirtualServers) == 0 {
		return "removes every virtual server"
	}
	kept := make(map[string]bool, len(next.Connectors))
	for _, c := range next.Connectors {
		kept[c.Name] = true
	}
	removed := 0
	for _, c := range prev.Connectors {
		if !kept[c.Name] {
			removed++
		}
	}
	if 2*removed > len(prev.Connectors) {
		return fmt.Sprintf("removes %d of %d connectors", removed, len(prev.Connectors))
	}
	return ""
}

// WatchDir calls reload whenever a file ending in suffix changes in dir (policy files, say). A
// reload that fails is logged and what was serving keeps serving. ready, when not nil, is called
// once dir is watched: a change made after it is never missed.
func WatchDir(ctx context.Context, dir, suffix string, log *zap.Logger, ready func(), reload func() error) error {
	match := func(name string) bool { return strings.HasSuffix(name, suffix) || name == "..data" }
	return watchDir(ctx, dir, match, log, ready, func() {
		if err := reload(); err != nil {
			log.Error("reload rejected; keeping what was serving", zap.String("dir", dir), zap.Error(err))
			return
		}
		log.Info("reloaded", zap.String("dir", dir))
	})
}

// watchDir runs onChange, debounced, after changes to files in dir whose base name matches.
func watchDir(ctx context.Context, dir string, match func(string) bool, log *zap.Logger, ready func(), onChange func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return err
	}
	if ready != nil {
		ready()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			log.Warn("watch error", zap.String("dir", dir), zap.Error(err))
		case ev := <-w.Events:
			if match(filepath.Base(ev.Name)) {
				timer.Reset(debounce)
			}
		case <-timer.C:
			onChange()
		}
	}
}
