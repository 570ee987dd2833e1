package gateway

import (
	"context"

	"github.com/vmcp-dev/vmcp/internal/console"
)

// initConsole builds the web console (/console/) and lets it sign browsers in through vmcp's
// own login: sign-ins it starts come back to it through the authorization server's hand-off.
func (g *Gateway) initConsole(ctx context.Context, random32 func() ([]byte, error)) error {
	key, err := g.store.Secret(ctx, "console-session-1", random32)
	if err != nil {
		return err
	}
	h, err := console.New(console.Config{
		Store:      g.store,
		SessionKey: key,
		BeginLogin: g.oauth.BeginLogin,
		// WIRING POINT (lead, at the merge of branches policy and creds): nil makes the
		// Virtual servers page say the effective tool list is not available, and My
		// connections say per-user connections are not available. Wire:
		//   EffectiveTools: the policy branch's function behind GET /admin/api/effective-tools
		//                   (admin.EffectiveToolsFunc has the same signature),
		//   Connections:    g.users.manager (*connections.Manager has Connected, Disconnect,
		//                   ConnectURL).
		EffectiveTools: nil,
		Connections:    nil,
		Recorder:       g.recorder,
		Log:            g.log.Named("console"),
	})
	if err != nil {
		return err
	}
	g.console = h
	g.oauth.HandOff(console.LoginPrefix, h.FinishLogin)
	return nil
}
