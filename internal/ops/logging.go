// Package ops is what every long-running stage shares to be operated: the process logger and
// version, the Prometheus stage metrics and runner counters, the readiness checks, the
// /metrics /healthz /readyz server, the consumer-lag and broker watchers, and the sink's log.
package ops

import (
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/codeverify/codeverify/internal/buildinfo"
)

// NewLogger builds the process logger: level debug|info|warn|error, format json (for machines;
// the default) or text (for people at a terminal).
func NewLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}

// Version is what --version prints: the module version, the git revision the binary was
// built from (with "+dirty" for uncommitted changes) and the Go version.
func Version() string {
	version, goVersion := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	revision, when := buildinfo.Revision()
	if revision == "" {
		revision = "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "codeverify %s\nrevision %s", version, revision)
	if when != "" {
		fmt.Fprintf(&b, " (%s)", when)
	}
	fmt.Fprintf(&b, "\n%s\n", goVersion)
	return b.String()
}
