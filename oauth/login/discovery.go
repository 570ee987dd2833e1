package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

const (
	// discoveryTimeout bounds one fetch of the discovery document.
	discoveryTimeout = 10 * time.Second
	// discoveryRetry is the least time between attempts while the IdP is down: a crowd of users
	// signing in during an outage neither hammers the IdP nor each waits out a timeout.
	discoveryRetry = 5 * time.Second
)

// discovered is everything a sign-in needs from the identity provider's discovery document,
// built once.
type discovered struct {
	oauth2   oauth2.Config
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
	userinfo bool
}

// discovery fetches the provider's metadata on first use and keeps it. It is lazy so that vmcp
// starts while the IdP is briefly down: users then see a clear error at sign-in, and the next
// sign-in tries again.
type discovery struct {
	issuer string
	build  func(*oidc.Provider) *discovered
	client *http.Client
	now    func() time.Time
	log    *zap.Logger

	done atomic.Pointer[discovered]

	mu      sync.Mutex // serialises attempts; never held once discovery has succeeded
	last    time.Time
	lastErr error
}

// errUnreachable is what a user is told, whatever the cause; the log has the details.
var errUnreachable = errors.New("identity provider unreachable")

func (d *discovery) get(ctx context.Context) (*discovered, error) {
	if p := d.done.Load(); p != nil {
		return p, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.done.Load(); p != nil {
		return p, nil
	}
	if d.lastErr != nil && d.now().Sub(d.last) < discoveryRetry {
		return nil, d.lastErr
	}
	d.last = d.now()
	// Detached from the browser's request: one user closing the tab must not turn into a
	// "context canceled" answer for everyone else until the next retry.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, d.client), d.issuer)
	if err != nil {
		d.lastErr = d.explain(err)
		return nil, d.lastErr
	}
	disc := d.build(p)
	d.done.Store(disc)
	d.lastErr = nil
	d.log.Info("login: identity provider discovered", zap.String("issuer", d.issuer))
	return disc, nil
}

// issuerMismatch is a configuration error, not an outage: it stays until the file changes.
type issuerMismatch struct{ configured, reported string }

func (e *issuerMismatch) Error() string {
	return fmt.Sprintf("auth.login.oidc.issuer %q does not match the issuer %q the provider reports; "+
		"they must be identical, trailing slash included", e.configured, e.reported)
}

// explain logs why discovery failed and returns the error to keep until the next attempt.
func (d *discovery) explain(err error) error {
	var mismatch *oidc.IssuerMismatchError
	if errors.As(err, &mismatch) {
		err = &issuerMismatch{configured: mismatch.Provided, reported: mismatch.Discovered}
		d.log.Error("login: identity provider misconfigured", zap.String("issuer", d.issuer), zap.Error(err))
		return fmt.Errorf("%w: %w", errUnreachable, err)
	}
	d.log.Warn("login: identity provider discovery failed; retrying when a user next signs in",
		zap.String("issuer", d.issuer), zap.Error(err))
	return fmt.Errorf("%w: %w", errUnreachable, err)
}
