// Package credential turns a connector's configured credential into the request headers that
// carry it. Headers are computed once per configuration load, not per request.
package credential

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// Header is one header to set on a connector-bound request. Value may be a secret: never log it.
type Header struct {
	Name  string
	Value string
}

// String keeps a header's value out of any accidental %v.
func (h Header) String() string { return h.Name + ": " + config.Redacted }

// Headers returns the headers that authenticate vmcp to a connector.
func Headers(c config.Credential) ([]Header, error) {
	switch c.Type {
	case config.CredentialNone, "":
		return nil, nil
	case config.CredentialBearer:
		return []Header{{Name: "authorization", Value: "Bearer " + c.Token.Value()}}, nil
	case config.CredentialHeader:
		return []Header{{Name: strings.ToLower(c.Header), Value: c.Token.Value()}}, nil
	case config.CredentialBasic:
		raw := c.Username + ":" + c.Password.Value()
		return []Header{{Name: "authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}}, nil
	default:
		return nil, fmt.Errorf("unknown credential type %q", c.Type)
	}
}
