package pipeline

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/serving"
)

// Without ONNX Runtime the demo's Stage 4 table is skipped with a message saying why, not an error.
func TestDemoEvaluateSkipsWithoutORT(t *testing.T) {
	t.Setenv(serving.LibraryEnv, filepath.Join(t.TempDir(), "no-libonnxruntime.so"))
	env := &config.Env{Config: config.Default(), Log: slog.Default()}
	o := DemoOptions{Problems: "p.jsonl", Samples: "s.jsonl", Tests: "t.jsonl"}
	var out strings.Builder
	if err := demoEvaluate(context.Background(), env, t.TempDir(), o, &out); err != nil {
		t.Fatalf("want a skip, got %v", err)
	}
	if !strings.Contains(out.String(), "Stage 4 table skipped: ONNX Runtime is not available") {
		t.Errorf("output: %q", out.String())
	}
}
