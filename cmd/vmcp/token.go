package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/gateway"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/oauth/login"
)

// cmdToken mints an access token straight from the signing key in the store. It is for
// development and tests: it needs the data directory, which production clients never have.
func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token", stderr)
	path := fs.String("c", "", "configuration file (default: the embedded example configuration)")
	user := fs.String("user", "", "who the token is for (required): a dev user of auth.login.dev_users gets the subject, email and groups signing in gives them; any other name is minted as given, with a warning")
	vsName := fs.String("vs", "", "virtual server the token is for (this or --admin)")
	adminTok := fs.Bool("admin", false, "a token for the admin API (vmcp audit, vmcp usage) instead of a virtual server")
	email := fs.String("email", "", "email claim (default: the dev user's, else USER@example.com)")
	groups := fs.String("groups", "", "comma-separated groups claim (default: the dev user's)")
	ttl := fs.Duration("ttl", 0, "lifetime (default: auth.token_ttl)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" || (*vsName == "") == !*adminTok {
		fmt.Fprintln(stderr, "vmcp token: --user and one of --vs or --admin are required")
		return exitCode(2)
	}
	cfg, _, err := devConfig(*path, stderr)
	if err != nil {
		return err
	}
	var resource string
	for i := range cfg.VirtualServers {
		if cfg.VirtualServers[i].Name == *vsName {
			resource = authz.ResourceURL(cfg, &cfg.VirtualServers[i])
		}
	}
	if *adminTok {
		resource = gateway.AdminAudience(cfg)
	}
	if resource == "" {
		fmt.Fprintf(stderr, "vmcp token: no virtual server %q in %s\n", *vsName, cfg.Path)
		return exitCode(1)
	}
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := tokens.LoadKeys(ctx, db, cfg.Auth.KeyRotation, gateway.KeyRetention(cfg))
	if err != nil {
		return err
	}
	lifetime := cfg.Auth.TokenTTL
	if *ttl > 0 {
		lifetime = *ttl
	}
	claims := devTokenClaims(cfg, *user, *email, *groups, stderr)
	claims.ClientID, claims.Audience = "vmcp-cli", resource
	tok, err := tokens.NewMinter(keys, cfg.Auth.Issuer, lifetime).Mint(claims)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// devTokenClaims says who a development token is for. A configured dev user is the same person
// signing in makes (login.DevUser: subject "dev:NAME", the configured email and groups), so
// policies and the audit trail see one user whichever way the token was got. Any other name
// is minted as given — useful for trying a policy on a user who does not exist — with a
// warning, because no sign-in can ever produce that subject.
func devTokenClaims(cfg *config.Config, user, email, groups string, stderr io.Writer) tokens.Claims {
	c := tokens.Claims{Subject: user, Email: user + "@example.com"}
	if u, ok := login.FindDevUser(cfg.Auth.Login.DevUsers, user); ok {
		c = tokens.Claims{Subject: u.Subject, Email: u.Email, Groups: u.Groups}
		if groups != "" || email != "" {
			fmt.Fprintf(stderr, "vmcp token: warning: --groups/--email replace dev user %q's configured ones; signing in as %s gives the configured ones\n", u.Name, u.Name)
		}
	} else {
		fmt.Fprintf(stderr, "vmcp token: warning: %q is not a dev user in %s (auth.login.dev_users); the token's subject is %q, which no sign-in produces\n", user, cfg.Path, user)
	}
	if email != "" {
		c.Email = email
	}
	if groups != "" {
		c.Groups = strings.Split(groups, ",")
	}
	return c
}
