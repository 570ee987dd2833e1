package console

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestEditCurationRewritesOnlyTheChosenVirtualServer(t *testing.T) {
	const file = `# vmcp
virtual_servers:
  - name: demo
    connectors: [notes, weather]   # both
  # ops is next
  - name: ops
    connectors:
      - name: notes
        tools:
          delete_note: {hidden: true}
audit: {admin_groups: [a]}
`
	for _, tc := range []struct {
		name string
		p    proposal
		want string
	}{
		{"hiding a tool of a flow-style list turns that entry into blocks", proposal{VirtualServer: "demo", Connector: "notes", Tool: "delete_note", Action: actionHide},
			`# vmcp
virtual_servers:
  - name: demo
    connectors: # both
      - name: notes
        tools:
          delete_note:
            hidden: true
      - weather
  # ops is next
  - name: ops
    connectors:
      - name: notes
        tools:
          delete_note: {hidden: true}
audit: {admin_groups: [a]}
`},
		{"showing the last hidden tool drops the empty tools mapping", proposal{VirtualServer: "ops", Connector: "notes", Tool: "delete_note", Action: actionShow},
			`# vmcp
virtual_servers:
  - name: demo
    connectors: [notes, weather]   # both
  # ops is next
  - name: ops
    connectors:
      - name: notes
audit: {admin_groups: [a]}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := editCuration([]byte(file), &tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
	if _, err := editCuration([]byte(file), &proposal{VirtualServer: "demo", Connector: "db", Tool: "x", Action: actionHide}); err == nil || !strings.Contains(err.Error(), `connector "db"`) {
		t.Errorf("an unlisted connector: %v", err)
	}
}

func TestUnifiedDiffHunksLikeDiffU(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	b := "1\n2\n3\nfour\n5\n6\n7\n8\n9\n10\n11\n12\n13\n"
	got, err := unifiedDiff(a, b, 2)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, l := range got {
		if l.Op == "@" {
			sb.WriteString(l.Text + "\n")
		} else {
			sb.WriteString(l.Op + l.Text + "\n")
		}
	}
	want := "@@ -2,5 +2,5 @@\n 2\n 3\n-4\n+four\n 5\n 6\n@@ -11,3 +11,4 @@\n 11\n 12\n+13\n \n"
	if sb.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", sb.String(), want)
	}
	if same, _ := unifiedDiff(a, a, 3); len(same) != 0 {
		t.Errorf("equal texts: %v", same)
	}
}

// FuzzEditCuration: whatever the file holds, editing it never panics, and an edit it makes is
// YAML again.
func FuzzEditCuration(f *testing.F) {
	f.Add("virtual_servers:\n  - name: demo\n    connectors: [notes]\n", "hide")
	f.Add("virtual_servers: [{name: demo, connectors: [{name: notes, tools: {t: {hidden: true}}}]}]\n", "show")
	f.Add("virtual_servers:\n  - name: demo\n    connectors:\n      - name: notes\n        tools:\n", "rename")
	f.Add("- a\n- b\n", "hide")
	f.Fuzz(func(t *testing.T, file, action string) {
		out, err := editCuration([]byte(file), &proposal{VirtualServer: "demo", Connector: "notes", Tool: "t", Action: action, Name: "n"})
		if err != nil {
			return
		}
		var v any
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatalf("edited file is not YAML: %v\n%s", err, out)
		}
	})
}
