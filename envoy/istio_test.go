package envoy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/xds"
)

// The Istio examples are checked like the bootstraps: each EnvoyFilter patch is decoded strictly
// into the Envoy type it patches and validated down into its typed_config; the Istio objects are
// decoded strictly into the fields of Istio's API they use (mirrored below from istio/api); and
// the files are held consistent with each other and with envoy/bootstrap.yaml.

type objectMeta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

// envoyFilter mirrors networking.istio.io/v1alpha3 EnvoyFilter (the fields used).
type envoyFilter struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		WorkloadSelector struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"workloadSelector"`
		ConfigPatches []struct {
			ApplyTo string `yaml:"applyTo"`
			Match   struct {
				Context  string `yaml:"context"`
				Listener *struct {
					FilterChain struct {
						Filter struct {
							Name      string `yaml:"name"`
							SubFilter struct {
								Name string `yaml:"name"`
							} `yaml:"subFilter"`
						} `yaml:"filter"`
					} `yaml:"filterChain"`
				} `yaml:"listener"`
				RouteConfiguration *struct {
					Vhost struct {
						Route struct {
							Name string `yaml:"name"`
						} `yaml:"route"`
					} `yaml:"vhost"`
				} `yaml:"routeConfiguration"`
			} `yaml:"match"`
			Patch struct {
				Operation string    `yaml:"operation"`
				Value     yaml.Node `yaml:"value"`
			} `yaml:"patch"`
		} `yaml:"configPatches"`
	} `yaml:"spec"`
}

// authorizationPolicy mirrors security.istio.io/v1 AuthorizationPolicy (the fields used).
type authorizationPolicy struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Action   string `yaml:"action"`
		Provider struct {
			Name string `yaml:"name"`
		} `yaml:"provider"`
		Rules []struct {
			To []struct {
				Operation struct {
					Paths []string `yaml:"paths"`
				} `yaml:"operation"`
			} `yaml:"to"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

// meshValues mirrors istiod's Helm values meshConfig.extensionProviders, with
// EnvoyExternalAuthorizationGrpcProvider from istio/api mesh/v1alpha1/config.proto.
type meshValues struct {
	MeshConfig struct {
		ExtensionProviders []struct {
			Name              string `yaml:"name"`
			EnvoyExtAuthzGrpc *struct {
				Service                   string `yaml:"service"`
				Port                      int    `yaml:"port"`
				Timeout                   string `yaml:"timeout"`
				FailOpen                  bool   `yaml:"failOpen"`
				ClearRouteCache           bool   `yaml:"clearRouteCache"`
				StatusOnError             string `yaml:"statusOnError"`
				IncludeRequestBodyInCheck *struct {
					MaxRequestBytes     int  `yaml:"maxRequestBytes"`
					AllowPartialMessage bool `yaml:"allowPartialMessage"`
					PackAsBytes         bool `yaml:"packAsBytes"`
				} `yaml:"includeRequestBodyInCheck"`
			} `yaml:"envoyExtAuthzGrpc"`
		} `yaml:"extensionProviders"`
	} `yaml:"meshConfig"`
}

type service struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name        string `yaml:"name"`
			Port        int    `yaml:"port"`
			TargetPort  int    `yaml:"targetPort"`
			AppProtocol string `yaml:"appProtocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type portSelector struct {
	Number int `yaml:"number"`
}

type destination struct {
	Host string       `yaml:"host"`
	Port portSelector `yaml:"port"`
}

type stringMatch struct {
	Exact  string `yaml:"exact"`
	Prefix string `yaml:"prefix"`
}

// gateway and virtualService mirror networking.istio.io/v1 (the fields used).
type gateway struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Selector map[string]string `yaml:"selector"`
		Servers  []struct {
			Hosts []string `yaml:"hosts"`
			Port  struct {
				Number   int    `yaml:"number"`
				Name     string `yaml:"name"`
				Protocol string `yaml:"protocol"`
			} `yaml:"port"`
		} `yaml:"servers"`
	} `yaml:"spec"`
}

type virtualService struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Hosts    []string `yaml:"hosts"`
		Gateways []string `yaml:"gateways"`
		HTTP     []struct {
			Name  string `yaml:"name"`
			Match []struct {
				URI     stringMatch            `yaml:"uri"`
				Headers map[string]stringMatch `yaml:"headers"`
			} `yaml:"match"`
			Rewrite *struct {
				URI       string `yaml:"uri"`
				Authority string `yaml:"authority"`
			} `yaml:"rewrite"`
			Headers *struct {
				Request struct {
					Remove []string `yaml:"remove"`
				} `yaml:"request"`
			} `yaml:"headers"`
			Route []struct {
				Destination destination `yaml:"destination"`
			} `yaml:"route"`
			Timeout string `yaml:"timeout"`
		} `yaml:"http"`
	} `yaml:"spec"`
}

// istioExamples holds every object found in examples/istio, by kind.
type istioExamples struct {
	envoyFilters []envoyFilter
	policies     []authorizationPolicy
	mesh         []meshValues
	services     []service
	gateways     []gateway
	vss          []virtualService
}

// loadIstioExamples decodes every document of every YAML file in examples/istio into the type
// its apiVersion and kind name, rejecting unknown fields, kinds and documents.
func loadIstioExamples(t *testing.T) istioExamples {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "examples", "istio")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no YAML in %s: %v", dir, err)
	}
	var ex istioExamples
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var head struct {
				APIVersion string    `yaml:"apiVersion"`
				Kind       string    `yaml:"kind"`
				MeshConfig yaml.Node `yaml:"meshConfig"`
			}
			if err := doc.Decode(&head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			raw, err := yaml.Marshal(&doc)
			if err != nil {
				t.Fatal(err)
			}
			strict := func(v any) {
				d := yaml.NewDecoder(bytes.NewReader(raw))
				d.KnownFields(true)
				if err := d.Decode(v); err != nil {
					t.Fatalf("%s (%s %s): %v", f, head.APIVersion, head.Kind, err)
				}
			}
			switch kind := head.APIVersion + " " + head.Kind; kind {
			case "networking.istio.io/v1alpha3 EnvoyFilter":
				var v envoyFilter
				strict(&v)
				ex.envoyFilters = append(ex.envoyFilters, v)
			case "security.istio.io/v1 AuthorizationPolicy":
				var v authorizationPolicy
				strict(&v)
				ex.policies = append(ex.policies, v)
			case "v1 Service":
				var v service
				strict(&v)
				ex.services = append(ex.services, v)
			case "networking.istio.io/v1 Gateway":
				var v gateway
				strict(&v)
				ex.gateways = append(ex.gateways, v)
			case "networking.istio.io/v1 VirtualService":
				var v virtualService
				strict(&v)
				ex.vss = append(ex.vss, v)
			case "networking.istio.io/v1 ServiceEntry", "networking.istio.io/v1 DestinationRule":
				// Decoded with istio.io/api's own messages in istio_api_test.go.
			case " ":
				if head.MeshConfig.Kind == 0 {
					t.Fatalf("%s: a document that is neither a Kubernetes object nor istiod values", f)
				}
				var v meshValues
				strict(&v)
				ex.mesh = append(ex.mesh, v)
			default:
				t.Fatalf("%s: unexpected %q", f, kind)
			}
		}
	}
	return ex
}

// patchValue decodes an EnvoyFilter patch value strictly into m.
func patchValue(t *testing.T, v *yaml.Node, m proto.Message) {
	t.Helper()
	raw, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(raw, m); err != nil {
		t.Fatal(err)
	}
}

func TestIstioEnvoyFilterPatchesAreValidEnvoyConfig(t *testing.T) {
	ex := loadIstioExamples(t)
	if len(ex.envoyFilters) == 0 {
		t.Fatal("no EnvoyFilter in examples/istio")
	}
	for _, ef := range ex.envoyFilters {
		for i, p := range ef.Spec.ConfigPatches {
			t.Run(ef.Metadata.Name+"/"+strconv.Itoa(i)+"/"+p.ApplyTo, func(t *testing.T) {
				switch p.ApplyTo {
				case "HTTP_FILTER":
					if p.Patch.Operation != "INSERT_BEFORE" || p.Match.Listener == nil ||
						p.Match.Listener.FilterChain.Filter.SubFilter.Name != envoynames.FilterRouter {
						t.Errorf("the filter is not inserted before the router: %s %+v", p.Patch.Operation, p.Match.Listener)
					}
					var f hcmv3.HttpFilter
					patchValue(t, &p.Patch.Value, &f)
					if err := validateDeep(&f); err != nil {
						t.Fatal(err)
					}
				case "NETWORK_FILTER":
					// A MERGE into the gateway's connection manager: only the local reply
					// mapping, the same as the bootstrap edge's.
					if p.Patch.Operation != "MERGE" || p.Match.Listener == nil ||
						p.Match.Listener.FilterChain.Filter.Name != "envoy.filters.network.http_connection_manager" {
						t.Errorf("the patch does not merge into the connection manager: %s %+v", p.Patch.Operation, p.Match.Listener)
					}
					var f listenerv3.Filter
					patchValue(t, &p.Patch.Value, &f)
					var hcm hcmv3.HttpConnectionManager
					if err := f.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
						t.Fatal(err)
					}
					if err := validateAnys(hcm.ProtoReflect(), "HttpConnectionManager"); err != nil {
						t.Fatal(err)
					}
					if err := hcm.GetLocalReplyConfig().ValidateAll(); err != nil {
						t.Fatal(err)
					}
					// Istio's routes are its own, with no connector direct routes: their
					// mappers are left out.
					edge := proto.Clone(hcmOf(t, renderedBootstrap(t), "edge").GetLocalReplyConfig()).(*hcmv3.LocalReplyConfig)
					edge.Mappers = slices.DeleteFunc(edge.Mappers, func(m *hcmv3.ResponseMapper) bool {
						return strings.Contains(protojson.Format(m.GetFilter()), envoynames.DirectRouteSuffix)
					})
					if len(edge.Mappers) == 0 || !proto.Equal(hcm.GetLocalReplyConfig(), edge) {
						t.Errorf("the Istio local reply mapping differs from envoy/bootstrap.yaml's edge")
					}
				case "HTTP_ROUTE":
					// A MERGE value is a partial Route: its own required fields (match, action)
					// come from Istio, so only what it packs is validated.
					var r routev3.Route
					patchValue(t, &p.Patch.Value, &r)
					if err := validateAnys(r.ProtoReflect(), "Route"); err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatalf("applyTo %s is not checked by this test", p.ApplyTo)
				}
			})
		}
	}
}

func TestIstioExtProcMatchesTheBootstrapEdge(t *testing.T) {
	ex := loadIstioExamples(t)
	var istio *extprocv3.ExternalProcessor
	for _, ef := range ex.envoyFilters {
		for _, p := range ef.Spec.ConfigPatches {
			if p.ApplyTo != "HTTP_FILTER" {
				continue
			}
			var f hcmv3.HttpFilter
			patchValue(t, &p.Patch.Value, &f)
			if f.GetName() != envoynames.FilterExtProc {
				continue
			}
			istio = &extprocv3.ExternalProcessor{}
			if err := f.GetTypedConfig().UnmarshalTo(istio); err != nil {
				t.Fatal(err)
			}
		}
	}
	if istio == nil {
		t.Fatalf("no %s filter in the EnvoyFilters", envoynames.FilterExtProc)
	}
	// Istio reaches extproc through its outbound cluster for the vmcp Service.
	if len(ex.services) != 1 {
		t.Fatalf("want one Service, got %d", len(ex.services))
	}
	svc := ex.services[0]
	fqdn := svc.Metadata.Name + "." + svc.Metadata.Namespace + ".svc.cluster.local"
	wantCluster := "outbound|" + strconv.Itoa(portOf(config.DefaultExtProc)) + "||" + fqdn
	if got := istio.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != wantCluster {
		t.Errorf("ext_proc cluster = %q, want %q", got, wantCluster)
	}
	// Apart from that cluster, it is the edge listener's ext_proc, setting for setting.
	edge := extProcOf(t, hcmOf(t, renderedBootstrap(t), "edge"))
	istio.GrpcService.TargetSpecifier = &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: envoynames.ClusterExtProc}}
	if !proto.Equal(edge, istio) {
		show := protojson.MarshalOptions{Multiline: true}
		t.Errorf("the Istio ext_proc filter differs from envoy/bootstrap.yaml's edge (cluster aside)\nbootstrap: %s\nistio: %s", show.Format(edge), show.Format(istio))
	}
	// Like vmcp's xDS routes, every route of the virtual server turns ext_proc's response
	// processing on, with the same mode.
	patched := map[string]bool{}
	for _, ef := range ex.envoyFilters {
		for _, p := range ef.Spec.ConfigPatches {
			if p.ApplyTo != "HTTP_ROUTE" {
				continue
			}
			var r routev3.Route
			patchValue(t, &p.Patch.Value, &r)
			var pr extprocv3.ExtProcPerRoute
			if err := r.GetTypedPerFilterConfig()[envoynames.FilterExtProc].UnmarshalTo(&pr); err != nil {
				t.Fatal(err)
			}
			if m := pr.GetOverrides().GetProcessingMode(); m != nil {
				if !proto.Equal(m, xds.EdgeProcessingMode()) {
					t.Errorf("route %s: processing mode %v, want vmcp's %v", p.Match.RouteConfiguration.Vhost.Route.Name, m, xds.EdgeProcessingMode())
				}
				patched[p.Match.RouteConfiguration.Vhost.Route.Name] = true
			}
		}
	}
	for _, vs := range ex.vss {
		for _, h := range vs.Spec.HTTP {
			if strings.HasPrefix(h.Name, "vmcp-") && h.Name != "vmcp-public" && !patched[h.Name] {
				t.Errorf("route %s does not turn on ext_proc's response processing", h.Name)
			}
		}
	}
}

func TestIstioExtAuthzProviderFailsClosed(t *testing.T) {
	ex := loadIstioExamples(t)
	providers := map[string]bool{}
	for _, m := range ex.mesh {
		for _, p := range m.MeshConfig.ExtensionProviders {
			g := p.EnvoyExtAuthzGrpc
			if g == nil {
				continue
			}
			providers[p.Name] = true
			if g.FailOpen || !g.ClearRouteCache || g.StatusOnError != "503" {
				t.Errorf("%s: failOpen %v clearRouteCache %v statusOnError %q; want false, true, 503", p.Name, g.FailOpen, g.ClearRouteCache, g.StatusOnError)
			}
			if g.Port != portOf(config.DefaultAuthz) {
				t.Errorf("%s: port %d, want authz's %s", p.Name, g.Port, config.DefaultAuthz)
			}
			if len(ex.services) == 1 && g.Service != ex.services[0].Metadata.Name+"."+ex.services[0].Metadata.Namespace+".svc.cluster.local" {
				t.Errorf("%s: service %s is not the vmcp Service", p.Name, g.Service)
			}
		}
	}
	if len(ex.policies) == 0 {
		t.Fatal("no AuthorizationPolicy in examples/istio")
	}
	for _, ap := range ex.policies {
		if ap.Spec.Action != "CUSTOM" {
			t.Errorf("%s: action %s, want CUSTOM", ap.Metadata.Name, ap.Spec.Action)
		}
		if !providers[ap.Spec.Provider.Name] {
			t.Errorf("%s: provider %q is not registered in meshConfig.extensionProviders", ap.Metadata.Name, ap.Spec.Provider.Name)
		}
	}
}

func TestIstioServiceAndRoutesFitTogether(t *testing.T) {
	ex := loadIstioExamples(t)
	if len(ex.services) != 1 {
		t.Fatalf("want one Service, got %d", len(ex.services))
	}
	// The Service exposes vmcp's servers on their default ports, gRPC ones as gRPC.
	want := map[int]string{
		portOf(config.DefaultXDS): "grpc", portOf(config.DefaultAuthz): "grpc",
		portOf(config.DefaultExtProc): "grpc", portOf(config.DefaultHTTP): "http",
	}
	for _, p := range ex.services[0].Spec.Ports {
		if proto, ok := want[p.Port]; !ok || p.AppProtocol != proto {
			t.Errorf("Service port %d (%s): appProtocol %q", p.Port, p.Name, p.AppProtocol)
		}
		delete(want, p.Port)
	}
	if len(want) > 0 {
		t.Errorf("Service lacks ports %v", want)
	}
	// Every route an EnvoyFilter patches exists in a VirtualService.
	routes := map[string]bool{}
	for _, vs := range ex.vss {
		for _, h := range vs.Spec.HTTP {
			routes[h.Name] = true
		}
	}
	for _, ef := range ex.envoyFilters {
		for _, p := range ef.Spec.ConfigPatches {
			if rc := p.Match.RouteConfiguration; rc != nil && !routes[rc.Vhost.Route.Name] {
				t.Errorf("%s patches route %q, which no VirtualService defines", ef.Metadata.Name, rc.Vhost.Route.Name)
			}
		}
	}
	// Every gateway a VirtualService binds to is defined.
	gws := map[string]bool{}
	for _, g := range ex.gateways {
		gws[g.Metadata.Namespace+"/"+g.Metadata.Name] = true
	}
	for _, vs := range ex.vss {
		for _, g := range vs.Spec.Gateways {
			if !gws[g] {
				t.Errorf("VirtualService %s binds to undefined gateway %s", vs.Metadata.Name, g)
			}
		}
		// Like vmcp's xDS routes: a connector never sees vmcp's internal headers.
		for _, h := range vs.Spec.HTTP {
			for _, m := range h.Match {
				if _, ok := m.Headers[headers.Connector]; !ok {
					continue
				}
				var removed []string
				if h.Headers != nil {
					removed = h.Headers.Request.Remove
				}
				for _, name := range []string{headers.Connector, headers.Identity, headers.Decision} {
					if !slices.Contains(removed, name) {
						t.Errorf("route %s forwards vmcp's %s header to a connector", h.Name, name)
					}
				}
			}
		}
	}
}

func portOf(addr string) int {
	_, p, _ := strings.Cut(addr, ":")
	n, _ := strconv.Atoi(p)
	return n
}
