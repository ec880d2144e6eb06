package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
)

// TestGenerator runs a short generator benchmark: the last line's format, and the floor the
// generator must reach (≥ 2,000 completions/s with ≥ 256 samples in flight against a zero-latency
// fake).
func TestGenerator(t *testing.T) {
	env := &config.Env{Config: config.Default(), Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}
	var out strings.Builder
	o := GeneratorOptions{Prompts: 200, N: 100, MaxN: 25, MaxRequests: 64, MaxSequences: 512, CeilingFor: 300 * time.Millisecond}
	if err := Generator(context.Background(), env, o, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	t.Logf("\n%s", out.String())
	var rate float64
	var inFlight int
	if _, err := fmt.Sscanf(lines[len(lines)-1], "completions/s: %g  in-flight: %d", &rate, &inFlight); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	if rate < 2000 || inFlight < 256 {
		t.Fatalf("completions/s %.0f (want ≥ 2000), in-flight %d (want ≥ 256)", rate, inFlight)
	}
	if !strings.Contains(out.String(), "fake ceiling") || !strings.Contains(out.String(), "processor/ceiling") || !strings.Contains(out.String(), "machine:") {
		t.Fatal("bench output lacks the ceiling, the ratio or the machine")
	}
}
