package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// configurationDoc is the configuration reference every key must appear in.
var configurationDoc = filepath.Join("..", "..", "docs", "configuration.md")

// Every key of the configuration file is documented in docs/configuration.md, by name: as a YAML
// key ("name:") in an example or in backquotes in the text. A key added without its
// documentation fails here.
func TestEveryConfigurationKeyIsDocumented(t *testing.T) {
	raw, err := os.ReadFile(configurationDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	var missing []string
	for path := range yamlKeys(reflect.TypeOf(Config{}), "", map[reflect.Type]bool{}) {
		key := path[strings.LastIndex(path, ".")+1:]
		documented := regexp.MustCompile(`(?m)(^|[\s{,\-])`+regexp.QuoteMeta(key)+`:`).MatchString(doc) ||
			strings.Contains(doc, "`"+key+"`") || strings.Contains(doc, "`"+path+"`") || strings.Contains(doc, "."+key+"`")
		if !documented {
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("configuration key %s is not documented in docs/configuration.md", m)
	}
}

// yamlKeys walks a configuration type and returns every YAML key path in it ("server.listen.xds").
func yamlKeys(t reflect.Type, prefix string, seen map[reflect.Type]bool) map[string]bool {
	out := map[string]bool{}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return out
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k := range yamlKeys(f.Type, prefix, seen) {
				out[k] = true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		out[path] = true
		for k := range yamlKeys(f.Type, path, seen) {
			out[k] = true
		}
	}
	return out
}
