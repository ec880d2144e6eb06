package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/trainer"
)

// TestRerankerLastLine: the reranker benchmark's last line, and a --len over the model's max
// length refused.
func TestRerankerLastLine(t *testing.T) {
	dir := testkit.TinyModel(t, trainer.TinyModel{MaxLen: 128, DModel: 32, Layers: 1}).Dir
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var out bytes.Buffer
	o := RerankerOptions{Model: dir, Runtime: serving.Runtime{Provider: serving.ProviderAuto, Threads: 2}, Batch: 4, Len: 100, Iters: 3}
	if err := Reranker(context.Background(), log, o, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !regexp.MustCompile(`^ms/batch: [0-9.]+  provider: (cuda|cpu)$`).MatchString(last) {
		t.Errorf("last line %q\n%s", last, out.String())
	}
	o.Len = 1000
	if err := Reranker(context.Background(), log, o, io.Discard); err == nil {
		t.Error("--len over the model's max length accepted")
	}
}
