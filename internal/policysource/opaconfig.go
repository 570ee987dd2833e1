package policysource

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// BundleName is the name vmcp's policy bundle has in OPA's configuration, status and decision
// logs ("bundles": {"vmcp": {"revision": …}}).
const BundleName = "vmcp"

// Service names in the generated OPA configuration.
const (
	bundleService = "vmcp-bundles"
	logService    = "vmcp-decision-logs"
	signingKeyID  = "vmcp"
)

// opaConfig turns vmcp's policy block into an OPA configuration document, so that OPA's own
// plugins (bundle, decision_logs) run with exactly OPA's semantics: ETag polling, signature
// verification, batching, gzip, mask rules.
func opaConfig(cfg *config.Config) ([]byte, error) {
	doc := map[string]any{}
	services := map[string]any{}
	labels := map[string]string{}
	if b := cfg.Policy.Bundle; b != nil {
		src := map[string]any{}
		if b.File != "" {
			abs, err := filepath.Abs(cfg.Resolve(b.File))
			if err != nil {
				return nil, err
			}
			src["resource"] = (&url.URL{Scheme: "file", Path: abs}).String()
		} else {
			services[bundleService] = service(b.URL, b.Token)
			src["service"] = bundleService
			src["resource"] = orDefault(b.Resource, "bundles/vmcp.tar.gz")
			src["polling"] = map[string]any{
				"min_delay_seconds": seconds(b.MinDelay, 10*time.Second),
				"max_delay_seconds": seconds(b.MaxDelay, 20*time.Second),
			}
		}
		if s := b.Signing; s != nil {
			key, err := os.ReadFile(cfg.Resolve(s.PublicKeyFile))
			if err != nil {
				return nil, fmt.Errorf("policy.bundle.signing: %w", err)
			}
			kid := orDefault(s.KeyID, signingKeyID)
			doc["keys"] = map[string]any{kid: map[string]any{"key": string(key), "algorithm": orDefault(s.Algorithm, "RS256")}}
			signing := map[string]any{"keyid": kid}
			if s.Scope != "" {
				signing["scope"] = s.Scope
			}
			src["signing"] = signing
		}
		doc["bundles"] = map[string]any{BundleName: src}
	}
	if d := cfg.Policy.DecisionLogs; d != nil {
		services[logService] = service(d.URL, d.Token)
		dl := map[string]any{
			"service": logService,
			"reporting": map[string]any{
				"min_delay_seconds": seconds(d.MinDelay, time.Second),
				"max_delay_seconds": seconds(d.MaxDelay, 5*time.Second),
			},
		}
		if d.MaskDecision != "" {
			dl["mask_decision"] = d.MaskDecision
		}
		doc["decision_logs"] = dl
		for k, v := range d.Labels {
			labels[k] = v
		}
	}
	doc["services"] = services
	doc["labels"] = labels
	return json.Marshal(doc)
}

func service(u string, token config.Secret) map[string]any {
	s := map[string]any{"url": u}
	if token.IsSet() {
		s["credentials"] = map[string]any{"bearer": map[string]any{"token": token.Value()}}
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// seconds is d in whole seconds (OPA's unit), at least 1, def when unset.
func seconds(d, def time.Duration) int64 {
	if d == 0 {
		d = def
	}
	return max(int64(d/time.Second), 1)
}

// instanceID is OPA's "id" label of this process's decision logs: which replica decided.
func instanceID() string {
	host, err := os.Hostname()
	if err != nil {
		return "vmcp"
	}
	return "vmcp@" + host
}
