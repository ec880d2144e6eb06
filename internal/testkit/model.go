package testkit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/trainer"
)

// TinyModel registers a small untrained reranker model (tm) in a new registry (the parent of the
// model's Dir) and loads it. Without ONNX Runtime or torch the test is skipped, or fails under
// CODEVERIFY_REQUIRE_ORT=1 (as `make test` sets).
func TinyModel(t testing.TB, tm trainer.TinyModel) serving.Model {
	t.Helper()
	required := os.Getenv("CODEVERIFY_REQUIRE_ORT") == "1"
	if _, err := serving.ResolveLibrary("", os.Getenv); err != nil {
		if required {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir, err := trainer.BuildTinyModel(context.Background(), filepath.Join(t.TempDir(), "models"), tm)
	if errors.Is(err, trainer.ErrNoTorch) && !required {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := serving.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
