package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/trainer"
)

// RerankerOptions are the settings of the reranker benchmark (codeverify bench reranker).
type RerankerOptions struct {
	// Model is a registry version or registry directory; "" builds an untrained model of the
	// trainer's default architecture with TorchPython (python3 + torch + onnx).
	Model       string
	TorchPython string
	Runtime     serving.Runtime // ONNX Runtime: library, provider (CUDA first, CPU fallback), threads
	Batch, Len  int             // candidates per batch, tokens per candidate
	Iters       int             // timed batches
}

// Reranker times the verifier's scoring through ONNX Runtime: o.Iters batches of o.Batch
// candidates of exactly o.Len tokens, with a single-candidate batch timed in the same run as the
// baseline. Its last line is "ms/batch: N  provider: cuda|cpu" (N the median).
func Reranker(ctx context.Context, log *slog.Logger, o RerankerOptions, w io.Writer) error {
	if o.Batch < 1 || o.Len < 3 || o.Iters < 1 {
		return fmt.Errorf("bench reranker: --batch %d, --len %d, --iters %d: want ≥ 1, ≥ 3, ≥ 1", o.Batch, o.Len, o.Iters)
	}
	if o.Model == "" {
		dir, err := os.MkdirTemp("", "codeverify-bench-reranker-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		vdir, err := trainer.BuildTinyModel(ctx, dir, trainer.TinyModel{Python: o.TorchPython})
		if err != nil {
			return fmt.Errorf("bench reranker: no --model, and the default model could not be built: %w", err)
		}
		o.Model = vdir
	}
	s, m, err := o.Runtime.Open(o.Model, log)
	if err != nil {
		return err
	}
	defer s.Close()
	if o.Len > s.MaxLen() {
		return fmt.Errorf("bench reranker: --len %d exceeds the model's max length %d", o.Len, s.MaxLen())
	}
	fmt.Fprintf(w, "machine: %s\n", machine())
	a0 := m.Manifest.Architecture
	fmt.Fprintf(w, "model: %s (%s, d_model %d, %d layers, max length %d)\n", m.Manifest.Version, m.Path, a0.DModel, a0.Layers, s.MaxLen())
	fmt.Fprintf(w, "onnxruntime %s, provider %s (%s), %d intra-op threads\n", serving.RuntimeVersion(), s.Provider(), s.ProviderReason(), o.Runtime.Threads)

	// Real tokenizer output, every row exactly o.Len tokens and different from the others.
	ids := make([][]int64, o.Batch)
	masks := make([][]int64, o.Batch)
	for i := range ids {
		code := fmt.Sprintf("    # candidate %d\n", i) + strings.Repeat(fmt.Sprintf("    total += xs[%d] * %d\n", i, i+1), o.Len/10+1)
		row := m.Tokenizer.Encode("def solve(xs):\n    total = 0\n", code)[:o.Len]
		ids[i], masks[i] = row, slices.Repeat([]int64{1}, o.Len)
	}
	time1 := func(n int, ids, masks [][]int64) ([]float64, error) {
		ms := make([]float64, 0, n)
		for range n {
			t0 := time.Now()
			if _, err := s.Score(ctx, ids, masks); err != nil {
				return nil, err
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(ms)
		return ms, nil
	}
	if _, err := time1(5, ids, masks); err != nil { // warm-up: allocator and thread pool
		return err
	}
	single, err := time1(max(10, o.Iters/4), ids[:1], masks[:1])
	if err != nil {
		return err
	}
	ms, err := time1(o.Iters, ids, masks)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "baseline, 1 × %d: p50 %.2f ms\n", o.Len, pct(single, 50))
	fmt.Fprintf(w, "%d × %d, %d batches: p50 %.2f  p90 %.2f  p99 %.2f  min %.2f  max %.2f ms/batch (%.0f candidates/s)\n",
		o.Batch, o.Len, o.Iters, pct(ms, 50), pct(ms, 90), pct(ms, 99), ms[0], ms[len(ms)-1], float64(o.Batch)*1000/pct(ms, 50))
	fmt.Fprintf(w, "ms/batch: %.2f  provider: %s\n", pct(ms, 50), s.Provider())
	return nil
}

// pct is the p-th percentile of sorted xs (nearest rank).
func pct(xs []float64, p float64) float64 {
	i := int(float64(len(xs))*p/100+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}
