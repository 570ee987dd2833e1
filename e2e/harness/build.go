package harness

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

// VMCPPackage is the import path of the vmcp command.
const VMCPPackage = "github.com/vmcp-dev/vmcp/cmd/vmcp"

// builds remembers, per import path, the one `go build` this test binary runs. It is package
// state on purpose: building takes seconds and every e2e test in the binary shares the result.
var builds sync.Map // import path → *build

type build struct {
	once sync.Once
	path string
	err  error
}

// BuildVMCP builds the vmcp command once per test binary and returns the binary's path.
func BuildVMCP(t testing.TB) string {
	t.Helper()
	return Build(t, VMCPPackage)
}

// Build runs `go build` for pkg (an import path, or a path relative to the module root) once per
// test binary and returns the binary's path. A failed build fails every test that asks for it,
// each with the compiler's output.
//
// The binary goes to a fixed directory under os.TempDir (one per module checkout and package),
// written under a temporary name and renamed into place: test binaries running in parallel each
// get a complete file, a process still running an older build keeps its copy, and repeated runs
// do not pile up binaries.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = goBuild(pkg) })
	if b.err != nil {
		t.Fatalf("harness: %v", b.err)
	}
	return b.path
}

func goBuild(pkg string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root + "\x00" + pkg))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("vmcp-e2e-%x", sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	tmp, err := os.CreateTemp(dir, path.Base(pkg)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	_ = tmp.Close()
	defer os.Remove(tmp.Name()) // a no-op once renamed

	// go test puts its own GOROOT/bin first on PATH, so this is the toolchain running the tests.
	cmd := exec.Command("go", "build", "-o", tmp.Name(), pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	final := filepath.Join(dir, path.Base(pkg))
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return final, nil
}
