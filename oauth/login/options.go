package login

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Option adjusts New.
type Option func(*options)

type options struct {
	sealKey    []byte
	httpClient *http.Client
	now        func() time.Time
}

func defaultOptions() options {
	return options{
		// Every call to the identity provider (discovery, JWKS, token, userinfo) is bounded; a
		// hanging IdP must not hold browser requests open forever.
		httpClient: &http.Client{Timeout: 15 * time.Second},
		now:        time.Now,
	}
}

// SealKeySize is the length WithSealKey requires.
const SealKeySize = 32

// WithSealKey sets the 32-byte secret that seals sign-ins in progress (and signs the dev form's
// CSRF token). Every replica must be given the same key, so that a browser returning to another
// replica can still finish signing in. Separate keys for each use are derived from it with HKDF,
// so it may be a key the caller also derives other keys from. Required outside `vmcp dev`.
func WithSealKey(key []byte) Option {
	return func(o *options) { o.sealKey = append([]byte(nil), key...) }
}

// WithClock replaces time.Now, for tests of expiry and discovery retries.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

type derivedKeys struct{ seal, csrf []byte }

// keys derives the per-purpose keys once, at New: never per request.
func (o options) keys(dev bool, log *zap.Logger) (derivedKeys, error) {
	master := o.sealKey
	switch {
	case master == nil && !dev:
		return derivedKeys{}, errors.New("login: a seal key is required (WithSealKey) so that " +
			"sign-ins survive restarts and work on every replica")
	case master == nil:
		// `vmcp dev` is one process: a key of its own is enough, and sign-ins in progress
		// simply start over after a restart.
		master = make([]byte, SealKeySize)
		rand.Read(master)
		log.Debug("login: no seal key given; using a key for this process only")
	case len(master) != SealKeySize:
		return derivedKeys{}, fmt.Errorf("login: the seal key must be %d bytes, not %d", SealKeySize, len(master))
	}
	seal, err := hkdf.Key(sha256.New, master, nil, "vmcp/oauth/login seal v1", 32)
	if err != nil {
		return derivedKeys{}, err
	}
	csrf, err := hkdf.Key(sha256.New, master, nil, "vmcp/oauth/login dev csrf v1", 32)
	if err != nil {
		return derivedKeys{}, err
	}
	return derivedKeys{seal: seal, csrf: csrf}, nil
}
