package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/envoy"
)

// child is what the supervisor needs of a running Envoy (*envoy.Process).
type child interface {
	Done() <-chan struct{}
	Err() error
	Stop() error
	WaitReady(context.Context) error
}

// restartPolicy bounds how vmcp dev restarts an Envoy that exits by itself: a crash (or a
// developer's stray kill) should not end the session, but an Envoy that cannot stay up (a bad
// bootstrap, a port taken) must not be restarted forever either.
type restartPolicy struct {
	// Max restarts within Window; one more exit in that window gives up.
	Max    int
	Window time.Duration
	// Backoff before the first restart, doubled for each exit in the window, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// devRestarts is vmcp dev's policy (README, under Commands).
var devRestarts = restartPolicy{Max: 5, Window: time.Minute, Backoff: 250 * time.Millisecond, MaxBackoff: 5 * time.Second}

// supervisor keeps one Envoy running for vmcp dev, restarting it by the policy. Every exit and
// restart is logged as a warning: nothing is restarted silently.
type supervisor struct {
	start  func() (child, error)
	policy restartPolicy
	log    *zap.Logger

	mu       sync.Mutex
	cur      child
	stopping bool

	gaveUp chan error    // receives once, when the policy gives up
	stopc  chan struct{} // closed by Stop: ends a backoff at once
	done   chan struct{} // closed when the supervising goroutine has returned
}

// supervise starts watching first (already started) and returns at once.
func supervise(first child, start func() (child, error), policy restartPolicy, log *zap.Logger) *supervisor {
	s := &supervisor{start: start, policy: policy, log: log, cur: first, gaveUp: make(chan error, 1), stopc: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// GaveUp receives the reason once Envoy has exited more often than the policy allows.
func (s *supervisor) GaveUp() <-chan error { return s.gaveUp }

// Stop stops the current Envoy and any restart in progress, and waits for the supervisor.
func (s *supervisor) Stop() {
	s.mu.Lock()
	if !s.stopping {
		close(s.stopc)
	}
	s.stopping = true
	cur := s.cur
	s.mu.Unlock()
	if cur != nil {
		_ = cur.Stop()
	}
	<-s.done
}

func (s *supervisor) run() {
	defer close(s.done)
	var exits []time.Time
	for {
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		var exitErr error
		if cur != nil {
			<-cur.Done()
			exitErr = cur.Err()
		}
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		now := time.Now()
		kept := exits[:0]
		for _, t := range exits {
			if now.Sub(t) < s.policy.Window {
				kept = append(kept, t)
			}
		}
		exits = append(kept, now)
		if len(exits) > s.policy.Max {
			err := fmt.Errorf("envoy exited %d times within %s, last: %v", len(exits), s.policy.Window, exitErr)
			s.log.Error("envoy keeps exiting; giving up", zap.Error(err))
			s.gaveUp <- err
			return
		}
		backoff := s.policy.Backoff << (len(exits) - 1)
		if backoff > s.policy.MaxBackoff || backoff <= 0 {
			backoff = s.policy.MaxBackoff
		}
		s.log.Warn("envoy exited; restarting it", zap.NamedError("exit", exitErr), zap.Duration("in", backoff),
			zap.Int("restart", len(exits)), zap.Int("max_restarts", s.policy.Max), zap.Duration("window", s.policy.Window))
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.stopc:
			t.Stop()
			return
		}
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		next, err := s.start()
		if err != nil {
			s.log.Error("envoy restart failed", zap.Error(err))
			next = nil
		}
		s.cur = next
		s.mu.Unlock()
		if next == nil {
			continue
		}
		go func() {
			if err := next.WaitReady(context.Background()); err == nil {
				s.log.Warn("envoy restarted and ready")
			}
		}()
	}
}

// envoyChild adapts *envoy.Process (nil stays a nil interface).
func envoyChild(p *envoy.Process, err error) (child, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}
