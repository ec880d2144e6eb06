// Package buildinfo reads the version control state the Go toolchain stamps into a binary built
// in a checkout.
package buildinfo

import "runtime/debug"

// Revision is the VCS revision the running binary was built from, with "+dirty" when the tree
// had uncommitted changes, and that revision's commit time; both are "" when the build recorded
// none (go run, go test, a build outside a checkout).
func Revision() (revision, commitTime string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			commitTime = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if revision != "" && dirty {
		revision += "+dirty"
	}
	return revision, commitTime
}
