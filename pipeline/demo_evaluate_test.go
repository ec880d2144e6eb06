package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
)

// Without ONNX Runtime the demo's Stage 4 table is skipped with a message saying why, not an error.
func TestDemoEvaluateSkipsWithoutORT(t *testing.T) {
	t.Setenv(serving.LibraryEnv, filepath.Join(t.TempDir(), "no-libonnxruntime.so"))
	env := &config.Env{Config: config.Default(), Log: slog.Default()}
	o := DemoOptions{Problems: "p.jsonl", Samples: "s.jsonl", Tests: "t.jsonl"}
	var out strings.Builder
	if err := demoEvaluate(context.Background(), env, t.TempDir(), o, &out, &out); err != nil {
		t.Fatalf("want a skip, got %v", err)
	}
	if !strings.Contains(out.String(), "Stage 4 table skipped: ONNX Runtime is not available") {
		t.Errorf("output: %q", out.String())
	}
}

// The wait for behaviours that never come ends with the context, not after its full minute.
func TestWaitBehaviorsEndsWithTheContext(t *testing.T) {
	sink, _ := chtest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out strings.Builder
	start := time.Now()
	err := waitBehaviors(ctx, sink, 1, time.Minute, &out)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waitBehaviors = %v, want the context's error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("waitBehaviors returned after %s", took)
	}
}

// Without a context that ends, it waits its time and says how many behaviours arrived.
func TestWaitBehaviorsReportsAfterItsWait(t *testing.T) {
	sink, _ := chtest.Open(t)
	var out strings.Builder
	if err := waitBehaviors(context.Background(), sink, 1, 300*time.Millisecond, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "behaviours on generated tests in ClickHouse: 0/1\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}
