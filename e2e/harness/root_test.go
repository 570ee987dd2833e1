package harness

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
)

func TestModuleRootHoldsVMCPsGoMod(t *testing.T) {
	f, err := os.Open(filepath.Join(ModuleRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first := bufio.NewScanner(f)
	first.Scan()
	if got := first.Text(); got != "module github.com/vmcp-dev/vmcp" {
		t.Errorf("go.mod starts with %q", got)
	}
}
