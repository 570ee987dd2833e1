package envoy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// StopTimeout is how long Stop waits for Envoy to exit after SIGTERM before killing it.
const StopTimeout = 5 * time.Second

// Process is one running Envoy. It is never restarted: when Envoy exits, Done is closed and Err
// says why, and what to do about it is the caller's decision.
type Process struct {
	cmd      *exec.Cmd
	adminURL string
	log      *zap.Logger

	stopTimeout time.Duration

	done     chan struct{}
	err      error // set before done is closed
	stopping chan struct{}
	stopOnce sync.Once
}

// Args returns the command-line flags Start passes to Envoy for bootstrapPath.
func Args(bootstrapPath string) []string {
	return []string{
		"-c", bootstrapPath,
		// No shared-memory hot-restart machinery: several Envoys (parallel tests, two
		// `vmcp dev`s) can run side by side without picking distinct --base-id values.
		"--disable-hot-restart",
		"--log-level", "info",
		// Drain for 1 s, not the default 600 s, whenever Envoy drains listeners.
		"--drain-time-s", "1",
		// A format forward parses into level and component, escaped so that a
		// multi-line message stays one log line and one zap event.
		"--log-format", logFormat,
		"--log-format-escaped",
	}
}

// Start runs bin with the bootstrap at bootstrapPath. adminAddr is the admin listener's host:port
// from that bootstrap, used by WaitReady. Each line Envoy writes becomes one zap event on log.
// When ctx is done Envoy is stopped as by Stop.
func Start(ctx context.Context, bin, bootstrapPath, adminAddr string, log *zap.Logger) (*Process, error) {
	if log == nil {
		log = zap.NewNop()
	}
	host, port, err := net.SplitHostPort(adminAddr)
	if err != nil {
		return nil, fmt.Errorf("envoy admin address %q: %w", adminAddr, err)
	}
	// An admin API bound to every address answers on loopback too; poll it there.
	switch host {
	case "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	cmd := exec.Command(bin, Args(bootstrapPath)...)
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("envoy: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("envoy: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start envoy %s: %w", bin, err)
	}
	p := &Process{
		cmd:         cmd,
		adminURL:    "http://" + net.JoinHostPort(host, port),
		log:         log,
		stopTimeout: StopTimeout,
		done:        make(chan struct{}),
		stopping:    make(chan struct{}),
	}
	log.Info("envoy started", zap.String("bin", bin), zap.String("bootstrap", bootstrapPath), zap.Int("pid", cmd.Process.Pid))

	var forwarders sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		forwarders.Go(func() { forward(r, log) })
	}
	go func() {
		// exec.Cmd.Wait closes the pipes, so it must wait until both are read to EOF.
		forwarders.Wait()
		p.err = p.exitError(cmd.Wait())
		if p.err != nil {
			log.Error("envoy exited", zap.Error(p.err))
		} else {
			log.Info("envoy stopped")
		}
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = p.Stop()
		case <-p.done:
		}
	}()
	return p, nil
}

// exitError turns Wait's result into Err's: nil only for a clean exit that Stop asked for.
func (p *Process) exitError(waitErr error) error {
	select {
	case <-p.stopping:
		return waitErr
	default:
	}
	if waitErr != nil {
		return fmt.Errorf("envoy exited unexpectedly: %w", waitErr)
	}
	return errors.New("envoy exited unexpectedly with status 0")
}

// Done is closed once Envoy has exited and its output has been logged.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is nil while Envoy runs and after a clean Stop; otherwise it says how Envoy ended.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Pid is Envoy's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// AdminURL is the base URL of Envoy's admin API, such as http://127.0.0.1:9901.
func (p *Process) AdminURL() string { return p.adminURL }

// Stop sends Envoy SIGTERM, waits up to StopTimeout for it to exit, then kills it. It returns
// Err once Envoy is gone, and is safe to call more than once and after Envoy exited by itself.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		close(p.stopping)
		select {
		case <-p.done:
			return
		default:
		}
		if err := terminate(p.cmd.Process); err != nil {
			p.log.Warn("envoy: SIGTERM failed, killing", zap.Error(err))
			_ = kill(p.cmd.Process)
		}
		t := time.NewTimer(p.stopTimeout)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			p.log.Warn("envoy did not exit after SIGTERM, killing", zap.Duration("waited", p.stopTimeout))
			_ = kill(p.cmd.Process)
		}
	})
	<-p.done
	return p.err
}

// Poll intervals for WaitReady: start fast (Envoy is often ready within tens of milliseconds),
// back off so a long xDS wait does not flood the admin API.
const (
	pollMin = 10 * time.Millisecond
	pollMax = 500 * time.Millisecond
)

// WaitReady polls the admin API's /ready until it answers 200 (server state LIVE). It fails when
// ctx is done or Envoy exits, saying what /ready answered last.
//
// With the vmcp bootstrap Envoy is LIVE only once its first CDS and RDS answers have arrived (or
// their 15 s initial fetch timeout has passed), so this also waits for vmcp's xDS server.
func (p *Process) WaitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	last := "no answer yet"
	for delay := pollMin; ; delay = min(2*delay, pollMax) {
		status, body, err := p.admin(ctx, client, "/ready")
		switch {
		case err == nil && status == http.StatusOK:
			return nil
		case err == nil:
			last = fmt.Sprintf("%d %s", status, body)
		default:
			last = err.Error()
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("envoy not ready (/ready: %s): %w", last, ctx.Err())
		case <-p.done:
			t.Stop()
			return fmt.Errorf("envoy exited before it was ready: %w", p.err)
		case <-t.C:
		}
	}
}

// admin GETs path from the admin API and returns the status and the trimmed body (first 200
// bytes, enough for a server state or an error).
func (p *Process) admin(ctx context.Context, client *http.Client, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.adminURL+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
