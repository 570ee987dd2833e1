package gateway

import (
	"context"
	"encoding/json"

	"github.com/vmcp-dev/vmcp/internal/console"
	"github.com/vmcp-dev/vmcp/internal/identity"
)

// initConsole builds the web console (/console/) and lets it sign browsers in through vmcp's
// own login: sign-ins it starts come back to it through the authorization server's hand-off.
func (g *Gateway) initConsole(ctx context.Context, random32 func() ([]byte, error)) error {
	key, err := g.store.Secret(ctx, "console-session-1", random32)
	if err != nil {
		return err
	}
	h, err := console.New(console.Config{
		Store:          g.store,
		SessionKey:     key,
		BeginLogin:     g.oauth.BeginLogin,
		EffectiveTools: g.effectiveTools,
		// My connections: the users' own connector accounts (per-user OAuth).
		Connections: g.users.manager,
		Recorder:    g.recorder,
		Log:         g.log.Named("console"),
	})
	if err != nil {
		return err
	}
	g.console = h
	g.oauth.HandOff(console.LoginPrefix, h.FinishLogin)
	return nil
}

// effectiveTools is the dry run of tools/list — what user in groups would get on virtual server
// vs — for the admin API and the console. It runs the aggregator's own tools/list code.
func (g *Gateway) effectiveTools(ctx context.Context, user string, groups []string, vs string) ([]json.RawMessage, error) {
	return g.aggregator.EffectiveTools(ctx, identity.Identity{Subject: user, Groups: groups}, vs)
}
