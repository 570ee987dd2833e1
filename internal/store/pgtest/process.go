package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a postgres server started from the machine's binaries in a temporary directory.
type process struct {
	dir    string
	port   int
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{} // closed when the server process has exited
	err    error         // its exit status, once exited is closed
}

// errNoBinaries is what a machine without PostgreSQL gets: how to fix it, not a stack trace.
var errNoBinaries = errors.New("pgtest: no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or on PATH; " +
	"`make test` installs them (apt-get install -y postgresql), or set " + EnvDSN + " to a server whose user may CREATE DATABASE")

func startProcess(ctx context.Context) (*process, error) {
	bin, err := findBinaries(debianBinaries)
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vmcp-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	// trust: the server listens on loopback and a socket in a private directory, for this test
	// run only. --no-sync and the settings below trade durability, which a throwaway database
	// does not need, for speed.
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "vmcp", "--auth=trust",
		"--no-sync", "--encoding=UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	// A free port can be taken by someone else before postgres binds it: try another.
	for attempt := 1; ; attempt++ {
		p, err := launch(ctx, bin, dir, data, cred)
		if err == nil {
			return p, nil
		}
		if attempt == 3 || !strings.Contains(p.log.String(), "could not bind") {
			log := p.log.String()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: start postgres: %w\n%s", err, log)
		}
	}
}

func launch(ctx context.Context, bin, dir, data string, cred *syscall.Credential) (*process, error) {
	port, err := freePort()
	if err != nil {
		return &process{log: &syncBuffer{}}, err
	}
	p := &process{dir: dir, port: port, log: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", strconv.Itoa(port), "-h", "127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		// The conformance suite runs its tests in parallel, each with a pool of its own.
		"-c", "max_connections=500")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// If the test binary dies without stopping it, the server shuts down immediately
		// (SIGQUIT) instead of outliving the test run.
		Pdeathsig: syscall.SIGQUIT,
	}
	if err := p.cmd.Start(); err != nil {
		return p, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return p, err
	}
	return p, nil
}

// waitReady polls with a connection until the server accepts one, it exits, or 60 s pass.
func (p *process) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ping(ctx, p.dsn("postgres"))
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (p *process) dsn(database string) string {
	return fmt.Sprintf("postgres://vmcp@127.0.0.1:%d/%s?sslmode=disable", p.port, database)
}

// stop asks for a fast shutdown (SIGINT: sessions are ended, not waited for), kills the server if
// it has not exited within 30 s, and removes its directory.
func (p *process) stop() error {
	defer os.RemoveAll(p.dir)
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return errors.New("postgres did not shut down within 30s; killed")
	}
}

// debianBinaries is where Debian's postgresql packages put the server binaries, one directory per
// major version, none of them on PATH.
const debianBinaries = "/usr/lib/postgresql/*/bin"

// findBinaries returns the directory of initdb and postgres: the newest installation matching
// glob, else the one on PATH.
func findBinaries(glob string) (string, error) {
	dirs, _ := filepath.Glob(glob)
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(initdb)
		if isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errNoBinaries
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// serverCredential is who initdb and postgres run as. Both refuse to run as root, so a root test
// run (CI containers) starts them as the postgres user Debian's package creates; the test binary
// sets the ids itself when it starts them, no su or sudo involved.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and initdb refuses root; the postgres user that Debian's postgresql package creates is missing: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a process's output, written by exec's copying goroutines and read by tests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
