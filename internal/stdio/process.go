package stdio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Command is the stdio MCP server to run.
type Command struct {
	// Argv is the program and its arguments.
	Argv []string
	// Env is added to the few variables inherited from vmcp (see inheritedEnv), as NAME=value.
	// Values may be secrets: they are never logged.
	Env []string
	// Dir is the working directory; empty means vmcp's own.
	Dir    string
	Limits Limits
}

// Limits are the resource limits applied to the process (Linux only; zero means none).
type Limits struct {
	// Memory is RLIMIT_DATA in bytes.
	Memory uint64
	// OpenFiles is RLIMIT_NOFILE.
	OpenFiles uint64
}

// inheritedEnv are the variables a server gets from vmcp's own environment. vmcp's environment
// holds its own secrets (database DSN, credentials referenced as ${env:…}); a third-party server
// started by npx gets only what it needs to find programs, a home and a locale, to reach a
// registry through a proxy, and what its connector's env: names.
var inheritedEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

// maxLine bounds one JSON-RPC message from the server (as the SSE reader bounds an event).
const maxLine = 16 << 20

// maxStderrLine bounds what one stderr line puts in the log.
const maxStderrLine = 4096

// process is one running server: its pipes, and a channel closed when it has exited.
type process struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	exited chan struct{}
	err    error // how it exited; read after exited is closed
}

// startProcess starts cmd with its own pipes. The write ends go to the child only, so cmd.Wait
// returns when the process exits even if something it started still holds them (a grandchild
// that inherited stdout would otherwise keep Wait from returning).
func startProcess(c Command, log *zap.Logger) (*process, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("no command")
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, c.Env...)
	cmd.SysProcAttr = sysProcAttr()

	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("start %s: %w", c.Argv[0], err)
	}
	// The child has its copies; ours of its ends would keep its stdin open and our reads from
	// ever seeing EOF.
	inR.Close()
	outW.Close()
	errW.Close()
	p := &process{cmd: cmd, stdin: inW, stdout: outR, exited: make(chan struct{})}
	if err := applyLimits(cmd.Process.Pid, c.Limits); err != nil {
		log.Warn("resource limits not applied", zap.Error(err))
	}
	go logStderr(errR, log)
	go func() {
		p.err = cmd.Wait()
		// Whatever the server started and left behind goes with it.
		sweepGroup(cmd.Process.Pid)
		inW.Close()
		close(p.exited)
	}()
	return p, nil
}

// pid is the server's process id, which is also its process group id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// kill ends the process group at once (a server that stopped answering).
func (p *process) kill() { signalGroup(p.pid(), syscall.SIGKILL) }

// stop ends the server as MCP's lifecycle asks of stdio clients (2025-06-18 "Shutdown"): close
// its input and give it a moment to exit, then SIGTERM, then SIGKILL after grace; signals go to
// the whole process group. It returns once the process has exited.
func (p *process) stop(grace time.Duration) {
	p.stdin.Close()
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-p.exited:
			return true
		case <-t.C:
			return false
		}
	}
	if wait(min(time.Second, grace/2)) {
		return
	}
	signalGroup(p.pid(), syscall.SIGTERM)
	if !wait(grace) {
		p.kill()
		<-p.exited
	}
}

// logStderr logs each stderr line as one event. The server's environment is never logged by
// vmcp; what the server itself prints is its own affair.
func logStderr(r io.ReadCloser, log *zap.Logger) {
	defer r.Close()
	br := bufio.NewReaderSize(r, maxStderrLine)
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 {
			log.Info("connector stderr", zap.String("line", string(line)), zap.Bool("truncated", isPrefix))
		}
		for isPrefix && err == nil {
			// Skip the rest of an overlong line.
			_, isPrefix, err = br.ReadLine()
		}
		if err != nil {
			return
		}
	}
}

// exitReason describes how a process ended, for logs and client-facing errors.
func exitReason(err error) string {
	if err == nil {
		return "exited with status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
		}
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	}
	return err.Error()
}
