package envoy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1beta1 "istio.io/api/security/v1beta1"
	"sigs.k8s.io/yaml"
)

// istioSpecs maps each Istio kind used in examples/istio to the istio.io/api message of its spec.
// networking.istio.io/v1 and security.istio.io/v1 serve the same messages as the older versions
// named here (istio.io/api's v1 packages are aliases of them).
var istioSpecs = map[string]func() proto.Message{
	"networking.istio.io/v1/Gateway":                func() proto.Message { return &networkingv1alpha3.Gateway{} },
	"networking.istio.io/v1/VirtualService":         func() proto.Message { return &networkingv1alpha3.VirtualService{} },
	"networking.istio.io/v1/ServiceEntry":           func() proto.Message { return &networkingv1alpha3.ServiceEntry{} },
	"networking.istio.io/v1/DestinationRule":        func() proto.Message { return &networkingv1alpha3.DestinationRule{} },
	"networking.istio.io/v1alpha3/EnvoyFilter":      func() proto.Message { return &networkingv1alpha3.EnvoyFilter{} },
	"security.istio.io/v1/AuthorizationPolicy":      func() proto.Message { return &securityv1beta1.AuthorizationPolicy{} },
	"security.istio.io/v1beta1/AuthorizationPolicy": func() proto.Message { return &securityv1beta1.AuthorizationPolicy{} },
}

// istioObject is one decoded Istio resource.
type istioObject struct {
	file, kind, name string
	spec             proto.Message
}

// decodeIstioFile decodes every document of an examples/istio file strictly: the object envelope
// has only apiVersion, kind, metadata and spec, and the spec is decoded by protojson into
// istio.io/api's own message — an unknown or misspelt field, a wrong enum value or type fails.
func decodeIstioFile(path string) ([]istioObject, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []istioObject
	for i, doc := range bytes.Split(raw, []byte("\n---\n")) {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %v", path, i+1, err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(js, &obj); err != nil || obj == nil {
			continue // comments only
		}
		if filepath.Base(path) == "meshconfig.yaml" {
			mc := &meshv1alpha1.MeshConfig{}
			if err := protojson.Unmarshal(obj["meshConfig"], mc); err != nil || len(obj) != 1 {
				return nil, fmt.Errorf("%s: meshConfig is not istio.io/api MeshConfig (or other keys present): %v", path, err)
			}
			out = append(out, istioObject{file: path, kind: "MeshConfig", spec: mc})
			continue
		}
		var apiVersion, kind string
		var meta struct{ Name, Namespace string }
		json.Unmarshal(obj["apiVersion"], &apiVersion)
		json.Unmarshal(obj["kind"], &kind)
		if apiVersion == "v1" {
			continue // a Kubernetes core object (the vmcp Service), not Istio's
		}
		for k := range obj {
			if !slices.Contains([]string{"apiVersion", "kind", "metadata", "spec"}, k) {
				return nil, fmt.Errorf("%s %s: unknown top-level field %q", path, kind, k)
			}
		}
		if err := json.Unmarshal(obj["metadata"], &meta); err != nil || meta.Name == "" {
			return nil, fmt.Errorf("%s %s: metadata.name missing", path, kind)
		}
		newSpec := istioSpecs[apiVersion+"/"+kind]
		if newSpec == nil {
			return nil, fmt.Errorf("%s: %s/%s is not an Istio kind this test knows", path, apiVersion, kind)
		}
		spec := newSpec()
		if err := (protojson.UnmarshalOptions{}).Unmarshal(obj["spec"], spec); err != nil {
			return nil, fmt.Errorf("%s %s %s: spec does not decode strictly as istio.io/api %T: %v", path, kind, meta.Name, spec, err)
		}
		out = append(out, istioObject{file: path, kind: kind, name: meta.Name, spec: spec})
	}
	return out, nil
}

func TestEveryIstioExampleDecodesStrictlyWithIstioAPITypes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "istio", "*.yaml"))
	byKind := map[string][]istioObject{}
	for _, f := range files {
		objs, err := decodeIstioFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			byKind[o.kind] = append(byKind[o.kind], o)
		}
	}
	for _, kind := range []string{"MeshConfig", "AuthorizationPolicy", "EnvoyFilter", "ServiceEntry", "DestinationRule", "Gateway", "VirtualService"} {
		if len(byKind[kind]) == 0 {
			t.Errorf("examples/istio has no %s", kind)
		}
	}

	// MeshConfig registers vmcp's authz as envoyExtAuthzGrpc, failing closed.
	mc := byKind["MeshConfig"][0].spec.(*meshv1alpha1.MeshConfig)
	var provider *meshv1alpha1.MeshConfig_ExtensionProvider
	for _, p := range mc.GetExtensionProviders() {
		if p.GetName() == "vmcp-authz" {
			provider = p
		}
	}
	grpc := provider.GetEnvoyExtAuthzGrpc()
	if grpc == nil || grpc.GetPort() != 18001 || grpc.GetFailOpen() {
		t.Errorf("extension provider vmcp-authz = %v; want envoyExtAuthzGrpc on 18001, failOpen false", provider)
	}

	// The AuthorizationPolicy hands the ingress gateway's /v/* to that provider with CUSTOM.
	ap := byKind["AuthorizationPolicy"][0].spec.(*securityv1beta1.AuthorizationPolicy)
	if ap.GetAction() != securityv1beta1.AuthorizationPolicy_CUSTOM || ap.GetProvider().GetName() != "vmcp-authz" ||
		ap.GetSelector().GetMatchLabels()["istio"] != "ingressgateway" {
		t.Errorf("AuthorizationPolicy = %v; want CUSTOM with vmcp-authz on the ingress gateway", ap)
	}

	// The EnvoyFilter inserts ext_proc (its settings are compared with envoy/ by istio_test.go).
	ef := byKind["EnvoyFilter"][0].spec.(*networkingv1alpha3.EnvoyFilter)
	inserted := false
	for _, p := range ef.GetConfigPatches() {
		if p.GetPatch().GetOperation() == networkingv1alpha3.EnvoyFilter_Patch_INSERT_BEFORE &&
			strings.Contains(fmt.Sprint(p.GetPatch().GetValue().AsMap()["name"]), "ext_proc") {
			inserted = true
		}
	}
	if !inserted {
		t.Error("the EnvoyFilter inserts no ext_proc filter")
	}

	// Every connector destination of the VirtualService has a ServiceEntry and a DestinationRule.
	entries, rules := map[string]bool{}, map[string]bool{}
	for _, o := range byKind["ServiceEntry"] {
		for _, h := range o.spec.(*networkingv1alpha3.ServiceEntry).GetHosts() {
			entries[h] = true
		}
	}
	for _, o := range byKind["DestinationRule"] {
		dr := o.spec.(*networkingv1alpha3.DestinationRule)
		rules[dr.GetHost()] = true
		if dr.GetTrafficPolicy().GetOutlierDetection() == nil || dr.GetTrafficPolicy().GetConnectionPool() == nil {
			t.Errorf("DestinationRule %s lacks outlier detection or a connection pool", o.name)
		}
	}
	connectors := 0
	for _, o := range byKind["VirtualService"] {
		for _, h := range o.spec.(*networkingv1alpha3.VirtualService).GetHttp() {
			for _, r := range h.GetRoute() {
				host := r.GetDestination().GetHost()
				if strings.HasPrefix(host, "vmcp.") {
					continue // vmcp itself
				}
				connectors++
				if !entries[host] || !rules[host] {
					t.Errorf("connector host %s: ServiceEntry %v, DestinationRule %v", host, entries[host], rules[host])
				}
			}
		}
	}
	if connectors == 0 {
		t.Error("the VirtualService routes to no connector")
	}
}

func TestAMisspeltIstioFieldIsRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec:\n  host: a\n  trafficPolicy: {outlierDetecton: {interval: 1s}}\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeIstioFile(path); err == nil || !strings.Contains(err.Error(), "outlierDetecton") {
		t.Errorf("a misspelt field was accepted: %v", err)
	}
}
