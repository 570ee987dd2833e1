package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/stdio"
)

// stdioConnectors runs a bridge (internal/stdio) for every command connector, each on its own
// loopback port, and makes the configuration the other components see point at it: to xds, the
// aggregator and extproc a command connector is a URL connector at http://127.0.0.1:PORT/mcp
// whose credential is a random bearer token only Envoy is given, so that no other local process
// can use the server without going through authz.
type stdioConnectors struct {
	log     *zap.Logger
	version string

	mu      sync.Mutex
	running map[stdio.Key]*runningBridge
}

// runningBridge is one command connector's bridge and the loopback HTTP server in front of it.
type runningBridge struct {
	spec   bridgeSpec
	bridge *stdio.Bridge
	srv    *http.Server
	url    string
	token  config.Secret
}

// bridgeSpec is what a process is started from: a reload that changes none of it keeps the
// process running.
type bridgeSpec struct {
	argv, env      []string
	dir            string
	limits         config.Limits
	requestTimeout time.Duration
}

func newStdioConnectors(log *zap.Logger, version string) *stdioConnectors {
	return &stdioConnectors{log: log, version: version, running: map[stdio.Key]*runningBridge{}}
}

func specOf(cfg *config.Config, c *config.Connector) bridgeSpec {
	argv := slices.Clone(c.Command)
	argv[0] = cfg.ResolveProgram(argv[0])
	dir := ""
	if c.Dir != "" {
		dir = cfg.Resolve(c.Dir)
	}
	return bridgeSpec{argv: argv, env: c.Environ(), dir: dir, limits: c.Limits, requestTimeout: c.Limits.RequestTimeout}
}

// prepare returns a copy of cfg whose command connectors point at their bridges, starting a
// bridge for each command connector that is new or changed. commit stops the bridges the new
// configuration no longer uses; rollback stops the ones prepare started, for an Apply that
// another component refused.
func (s *stdioConnectors) prepare(cfg *config.Config) (out *config.Config, commit, rollback func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *cfg
	next.Connectors = slices.Clone(cfg.Connectors)
	keep := map[stdio.Key]*runningBridge{}
	var started []*runningBridge
	rollback = func() { stopBridges(started) }
	for i := range next.Connectors {
		c := &next.Connectors[i]
		if !c.IsCommand() {
			continue
		}
		key := stdio.Key{Connector: c.Name}
		spec := specOf(cfg, c)
		rb := s.running[key]
		if rb == nil || !reflect.DeepEqual(rb.spec, spec) {
			rb, err = s.start(key, spec)
			if err != nil {
				rollback()
				return nil, nil, nil, fmt.Errorf("connector %q: %w", c.Name, err)
			}
			started = append(started, rb)
		}
		keep[key] = rb
		c.URL = rb.url
		c.Credential = config.Credential{Type: config.CredentialBearer, Token: rb.token}
	}
	commit = func() {
		s.mu.Lock()
		var stale []*runningBridge
		for key, rb := range s.running {
			if keep[key] != rb {
				stale = append(stale, rb)
			}
		}
		s.running = keep
		s.mu.Unlock()
		// Old processes stop in the background: the reload is live already, and a server
		// taking its grace period to exit must not hold up the next one.
		go stopBridges(stale)
	}
	return &next, commit, rollback, nil
}

// start runs a bridge for spec on a fresh loopback port.
func (s *stdioConnectors) start(key stdio.Key, spec bridgeSpec) (*runningBridge, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stdio bridge: %w", err)
	}
	var tok [32]byte
	if _, err := rand.Read(tok[:]); err != nil {
		lis.Close()
		return nil, err
	}
	token := hex.EncodeToString(tok[:])
	b := stdio.New(stdio.Options{
		Key:            key,
		Command:        stdio.Command{Argv: spec.argv, Env: spec.env, Dir: spec.dir, Limits: stdio.Limits{Memory: uint64(spec.limits.Memory), OpenFiles: spec.limits.OpenFiles}},
		RequestTimeout: spec.requestTimeout,
		Token:          token,
		ClientInfo:     stdio.ClientInfo{Name: "vmcp", Version: s.version},
		Log:            s.log,
	})
	b.Start()
	mux := http.NewServeMux()
	mux.Handle("/mcp", b)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("stdio bridge stopped serving", zap.String("connector", key.String()), zap.Error(err))
		}
	}()
	url := "http://" + lis.Addr().String() + "/mcp"
	s.log.Info("stdio connector started", zap.String("connector", key.String()), zap.String("url", url), zap.Strings("command", spec.argv))
	return &runningBridge{spec: spec, bridge: b, srv: srv, url: url, token: config.NewSecret("(generated stdio bridge token)", token)}, nil
}

// stopAll stops every bridge and its process, for shutdown.
func (s *stdioConnectors) stopAll() {
	s.mu.Lock()
	all := make([]*runningBridge, 0, len(s.running))
	for _, rb := range s.running {
		all = append(all, rb)
	}
	s.running = map[stdio.Key]*runningBridge{}
	s.mu.Unlock()
	stopBridges(all)
}

// stopBridges stops bridges in parallel: each process gets its own grace period, not a share
// of one.
func stopBridges(rbs []*runningBridge) {
	var wg sync.WaitGroup
	for _, rb := range rbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			rb.srv.Shutdown(ctx)
			rb.bridge.Close()
		}()
	}
	wg.Wait()
}
