package harness

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// alive reports whether pid is a running (not zombie) process, from /proc.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// The whole process group goes, so a vmcp killed by the harness cannot leave Envoy behind.
func TestStopReachesTheWholeProcessGroup(t *testing.T) {
	p := Start(t, "parent sleeper", nil, Build(t, sleeperPkg), "-spawn")
	childPid := 0
	re := regexp.MustCompile(`sleeper child pid=(\d+)`)
	Eventually(t, 10*time.Second, func() error {
		m := re.FindStringSubmatch(p.Output())
		if m == nil || strings.Count(p.Output(), "sleeper ready") < 2 {
			return fmt.Errorf("parent and child not both ready; output: %q", p.Output())
		}
		childPid, _ = strconv.Atoi(m[1])
		return nil
	})
	if !alive(childPid) {
		t.Fatalf("child %d is not running before Stop", childPid)
	}
	// The parent exits at SIGTERM; the child ignores SIGTERM, so only the group sweep ends it.
	_ = p.Stop()
	Eventually(t, 10*time.Second, func() error {
		if alive(childPid) {
			return errors.New("the child is still running")
		}
		return nil
	})
}
