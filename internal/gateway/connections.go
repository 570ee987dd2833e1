package gateway

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/connections"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/usercred"
)

// userCredentials wires the per-user connector credentials: the connections manager (users'
// own OAuth tokens and the /connect flow), the resolver extproc asks on every call to such a
// connector, and vmcp's login handing signed-in browsers to the connect flow.
type userCredentials struct {
	manager  *connections.Manager
	resolver *usercred.Resolver
	flow     *connections.Flow
	dev      bool
}

func (g *Gateway) initUserCredentials(ctx context.Context, db store.Store, opts Options) error {
	macKey, err := db.Secret(ctx, "connect-mac-1", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return err
	}
	m := connections.NewManager(connections.Options{Store: db, MACKey: macKey, Log: g.log.Named("connections")})
	r := usercred.NewResolver(m, g.keys, nil)
	m.OnChange(r.Forget)
	g.users = &userCredentials{manager: m, resolver: r, flow: connections.NewFlow(m, g.oauth), dev: opts.Dev}
	g.oauth.HandOff(connections.LoginPrefix, g.users.flow.FinishLogin)
	g.extproc.SetUserCredentials(r)
	return nil
}

// Prepare compiles both halves; a configuration either half refuses is refused.
func (u *userCredentials) Prepare(cfg *config.Config) (func(), error) {
	commitManager, err := u.manager.Prepare(cfg, u.dev)
	if err != nil {
		return nil, err
	}
	commitResolver, err := u.resolver.Prepare(cfg)
	if err != nil {
		return nil, err
	}
	return func() { commitManager(); commitResolver() }, nil
}

// register adds the /connect endpoints to mux.
func (u *userCredentials) register(mux *http.ServeMux) { u.flow.Register(mux) }
