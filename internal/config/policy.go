package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Policy selects where vmcp's Rego policies come from, when not from auth.policies (a directory)
// or the embedded defaults, and where its decisions are logged. Both follow OPA's own semantics
// (bundle plugin, decision-log plugin), so that teams who already run OPA keep their habits.
type Policy struct {
	// Bundle is an OPA bundle: a local .tar.gz file, or a bundle service polled over HTTP(S).
	Bundle *PolicyBundle `yaml:"bundle"`
	// DecisionLogs ships every policy decision in OPA's decision-log format.
	DecisionLogs *DecisionLogs `yaml:"decision_logs"`
}

// PolicyBundle is one OPA bundle; exactly one of File and URL is set.
type PolicyBundle struct {
	// File is a bundle .tar.gz on disk; a change to it is picked up like a configuration change.
	File string `yaml:"file"`
	// URL is the bundle service's base URL (http or https); Resource is the bundle's path under
	// it (default bundles/vmcp.tar.gz). vmcp polls it with If-None-Match, as OPA does.
	URL      string `yaml:"url"`
	Resource string `yaml:"resource"`
	// Token is a bearer token for the bundle service, by reference (${env:…} or ${file:…}).
	Token Secret `yaml:"token"`
	// MinDelay and MaxDelay bound the polling interval (default 10s–20s).
	MinDelay time.Duration `yaml:"min_delay"`
	MaxDelay time.Duration `yaml:"max_delay"`
	// Signing, when set, makes vmcp reject any bundle without a valid signature by this key.
	Signing *BundleSigning `yaml:"signing"`
}

// BundleSigning is the key that OPA bundle signatures (.signatures.json) are verified with.
type BundleSigning struct {
	// PublicKeyFile holds the PEM public key (or, for HS256, the shared secret).
	PublicKeyFile string `yaml:"public_key_file"`
	// KeyID is the key's name in signatures (default "vmcp").
	KeyID string `yaml:"key_id"`
	// Algorithm is the JWS algorithm (default RS256).
	Algorithm string `yaml:"algorithm"`
	// Scope, when set, must equal the signature's scope claim.
	Scope string `yaml:"scope"`
}

// DecisionLogs is an OPA decision-log service.
type DecisionLogs struct {
	// URL is the service's base URL; logs are POSTed (gzip, batched) to URL + /logs.
	URL string `yaml:"url"`
	// Token is a bearer token for the service, by reference.
	Token Secret `yaml:"token"`
	// Labels are added to every decision (OPA's labels: id and version are always there).
	Labels map[string]string `yaml:"labels"`
	// MaskDecision is the Rego rule whose result lists JSON pointers to erase or replace before a
	// decision leaves the process (default /system/log/mask, OPA's default).
	MaskDecision string `yaml:"mask_decision"`
	// MinDelay and MaxDelay bound the upload interval (default 1s–5s).
	MinDelay time.Duration `yaml:"min_delay"`
	MaxDelay time.Duration `yaml:"max_delay"`
}

// BundleSigningAlgorithms are the algorithms OPA verifies bundle signatures with.
var BundleSigningAlgorithms = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "HS256": true, "HS384": true, "HS512": true,
}

func (l *loader) validatePolicy(c *Config) {
	if b := c.Policy.Bundle; b != nil {
		switch {
		case (b.File == "") == (b.URL == ""):
			l.add("policy.bundle", "policy.bundle: set exactly one of file and url")
		case b.File != "":
			if _, err := os.Stat(resolveRelative(c, b.File)); err != nil {
				l.add("policy.bundle.file", "policy.bundle.file: %v", unwrapPathErr(err))
			}
		default:
			l.checkHTTPURL("policy.bundle.url", b.URL)
		}
		if c.Auth.Policies != "" {
			l.add("policy.bundle", "policy.bundle and auth.policies are exclusive: policies come from one source")
		}
		if b.MinDelay < 0 || b.MaxDelay < 0 || (b.MaxDelay > 0 && b.MaxDelay < b.MinDelay) {
			l.add("policy.bundle", "policy.bundle: need 0 <= min_delay <= max_delay")
		}
		if s := b.Signing; s != nil {
			if s.PublicKeyFile == "" {
				l.add("policy.bundle.signing", "policy.bundle.signing.public_key_file is required")
			} else if _, err := os.Stat(resolveRelative(c, s.PublicKeyFile)); err != nil {
				l.add("policy.bundle.signing.public_key_file", "policy.bundle.signing.public_key_file: %v", unwrapPathErr(err))
			}
			if s.Algorithm != "" && !BundleSigningAlgorithms[s.Algorithm] {
				l.add("policy.bundle.signing.algorithm", "policy.bundle.signing.algorithm %q is not one OPA verifies bundles with", s.Algorithm)
			}
		}
	}
	if d := c.Policy.DecisionLogs; d != nil {
		l.checkHTTPURL("policy.decision_logs.url", d.URL)
		if d.MaskDecision != "" && !strings.HasPrefix(d.MaskDecision, "/") {
			l.add("policy.decision_logs.mask_decision", "policy.decision_logs.mask_decision must be a path like /system/log/mask")
		}
		if d.MinDelay < 0 || d.MaxDelay < 0 || (d.MaxDelay > 0 && d.MaxDelay < d.MinDelay) {
			l.add("policy.decision_logs", "policy.decision_logs: need 0 <= min_delay <= max_delay")
		}
	}
}

// checkHTTPURL requires an absolute http(s) URL.
func (l *loader) checkHTTPURL(path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.add(path, "%s: %s", path, fmt.Sprintf("%q is not an http(s) URL", raw))
	}
}
