package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/internal/gateway"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// cmdToken mints an access token straight from the signing key in the store. It is for
// development and tests: it needs the data directory, which production clients never have.
func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token", stderr)
	path := fs.String("c", "", "configuration file (default: the embedded example configuration)")
	user := fs.String("user", "", "subject of the token (required)")
	vsName := fs.String("vs", "", "virtual server the token is for (this or --admin)")
	adminTok := fs.Bool("admin", false, "a token for the admin API (vmcp audit, vmcp usage) instead of a virtual server")
	email := fs.String("email", "", "email claim (default USER@example.com)")
	groups := fs.String("groups", "", "comma-separated groups claim")
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
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := tokens.LoadKeys(ctx, st, cfg.Auth.KeyRotation.D(), gateway.KeyRetention(cfg))
	if err != nil {
		return err
	}
	lifetime := cfg.Auth.TokenTTL.D()
	if *ttl > 0 {
		lifetime = *ttl
	}
	if *email == "" {
		*email = *user + "@example.com"
	}
	var groupList []string
	if *groups != "" {
		groupList = strings.Split(*groups, ",")
	}
	tok, err := tokens.NewMinter(keys, cfg.Auth.Issuer, lifetime).Mint(tokens.Claims{
		Subject: *user, Email: *email, Groups: groupList, ClientID: "vmcp-cli", Audience: resource,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
