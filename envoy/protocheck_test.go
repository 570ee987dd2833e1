package envoy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	// Every typed_config in the configs we ship must resolve through the global registry, so the
	// extensions they use are linked in here. A config naming an extension that is missing from
	// this list fails to decode, which is the cue to add it.
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/grpc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/common/matching/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/content_parsers/json/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/matcher/action/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/buffer/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/json_to_metadata/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/sse_to_metadata/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// decodeStrict reads YAML (or JSON) into m the way Envoy reads a config: unknown fields and
// unresolvable "@type"s are errors.
func decodeStrict(data []byte, m proto.Message) error {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(j, m); err != nil {
		return fmt.Errorf("%T: %w", m, err)
	}
	return nil
}

type validator interface{ ValidateAll() error }

// validateDeep runs the protoc-gen-validate rules on m and on every message packed in an Any
// inside it. ValidateAll alone stops at Any fields, which is where all the filter configs live.
func validateDeep(m proto.Message) error {
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("%s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	return validateAnys(m.ProtoReflect(), string(m.ProtoReflect().Descriptor().Name()))
}

// validateAnys finds the Any messages under m (at path, for error messages), unpacks each and
// validates it deeply.
func validateAnys(m protoreflect.Message, path string) error {
	if m.Descriptor().FullName() == "google.protobuf.Any" {
		a := m.Interface().(*anypb.Any)
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := validateDeep(inner); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + string(fd.Name())
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = validateAnys(l.Get(i).Message(), fmt.Sprintf("%s[%d]", p, i))
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				err = validateAnys(mv.Message(), fmt.Sprintf("%s[%s]", p, k))
				return err == nil
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			err = validateAnys(v.Message(), p)
		}
		return err == nil
	})
	return err
}

// moduleRoot is the directory holding go.mod, found by walking up from the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// envoyBin finds the real Envoy. The tests need it and never skip without it: a missing Envoy
// fails with Find's instructions.
func envoyBin(t *testing.T) string {
	t.Helper()
	bin, err := Find()
	if err != nil {
		t.Fatalf("these tests run the real Envoy: %v", err)
	}
	return bin
}

// envoyValidate runs `envoy --mode validate -c file`, Envoy's own full check of a bootstrap
// (every extension instantiated, every reference resolved, nothing bound or connected).
func envoyValidate(t *testing.T, bin, file string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), bin, "--mode", "validate", "-c", file, "--disable-hot-restart", "--log-level", "warn").CombinedOutput()
	if err != nil {
		t.Errorf("envoy --mode validate -c %s: %v\n%s", file, err, out)
	}
}
