package trainer

import (
	"os/exec"
	"strings"

	"github.com/codeverify/codeverify/internal/buildinfo"
)

// CodeRevision is the VCS revision the binary was built from, else the checkout's HEAD, else "unknown";
// "+dirty" marks uncommitted changes.
func CodeRevision() string {
	if rev, _ := buildinfo.Revision(); rev != "" {
		return rev
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "+dirty"
	}
	return rev
}
