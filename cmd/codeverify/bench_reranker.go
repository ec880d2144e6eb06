package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/trainer"
	"github.com/spf13/cobra"
)

type benchRerankerOptions struct {
	scorer     scorerFlags
	batch, len int
	iters      int
	python     string
}

func (a *app) benchRerankerCmd() *cobra.Command {
	o := benchRerankerOptions{scorer: scorerFlags{threads: 2}}
	cmd := &cobra.Command{
		Use:   "reranker",
		Short: "Verifier scoring latency through ONNX Runtime: --batch candidates × --len tokens per batch",
		Long: `Scores --iters batches of --batch candidates of exactly --len tokens with the model in --model
(a registry version or registry directory), or, without --model, with an untrained model of the
trainer's default architecture (2 layers, d_model 128, max length 512) exported by python3 + torch.
CUDA is tried first and CPU is the fallback; the provider in force is printed. A single-candidate
batch is timed in the same run as the baseline.
Last line: "ms/batch: N  provider: cuda|cpu" (N the median).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.benchReranker(cmd.Context(), o, os.Stdout) },
	}
	f := cmd.Flags()
	o.scorer.add(f)
	f.IntVar(&o.batch, "batch", 16, "candidates per batch")
	f.IntVar(&o.len, "len", 256, "tokens per candidate")
	f.IntVar(&o.iters, "iters", 100, "timed batches")
	limits(f, map[string][2]string{"batch": {"1", "4096"}, "len": {"1", "8192"}, "iters": {"1", "1000000"}})
	f.StringVar(&o.python, "torch-python", "", "interpreter with torch and onnx for the default model (default /usr/bin/python3)")
	return cmd
}

func (a *app) benchReranker(ctx context.Context, o benchRerankerOptions, w io.Writer) error {
	if o.batch < 1 || o.len < 3 || o.iters < 1 {
		return fmt.Errorf("bench reranker: --batch %d, --len %d, --iters %d: want ≥ 1, ≥ 3, ≥ 1", o.batch, o.len, o.iters)
	}
	if o.scorer.model == "" {
		dir, err := os.MkdirTemp("", "codeverify-bench-reranker-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		vdir, err := trainer.BuildTinyModel(ctx, dir, trainer.TinyModel{Python: o.python})
		if err != nil {
			return fmt.Errorf("bench reranker: no --model, and the default model could not be built: %w", err)
		}
		o.scorer.model = vdir
	}
	s, m, err := o.scorer.open(a.Log)
	if err != nil {
		return err
	}
	defer s.Close()
	if o.len > s.MaxLen() {
		return fmt.Errorf("bench reranker: --len %d exceeds the model's max length %d", o.len, s.MaxLen())
	}
	fmt.Fprintf(w, "machine: %s\n", machine())
	a0 := m.Manifest.Architecture
	fmt.Fprintf(w, "model: %s (%s, d_model %d, %d layers, max length %d)\n", m.Manifest.Version, m.Path, a0.DModel, a0.Layers, s.MaxLen())
	fmt.Fprintf(w, "onnxruntime %s, provider %s (%s), %d intra-op threads\n", serving.RuntimeVersion(), s.Provider(), s.ProviderReason(), o.scorer.threads)

	// Real tokenizer output, every row exactly o.len tokens and different from the others.
	ids := make([][]int64, o.batch)
	masks := make([][]int64, o.batch)
	for i := range ids {
		code := fmt.Sprintf("    # candidate %d\n", i) + strings.Repeat(fmt.Sprintf("    total += xs[%d] * %d\n", i, i+1), o.len/10+1)
		row := m.Tokenizer.Encode("def solve(xs):\n    total = 0\n", code)[:o.len]
		ids[i], masks[i] = row, slices.Repeat([]int64{1}, o.len)
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
	single, err := time1(max(10, o.iters/4), ids[:1], masks[:1])
	if err != nil {
		return err
	}
	ms, err := time1(o.iters, ids, masks)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "baseline, 1 × %d: p50 %.2f ms\n", o.len, pct(single, 50))
	fmt.Fprintf(w, "%d × %d, %d batches: p50 %.2f  p90 %.2f  p99 %.2f  min %.2f  max %.2f ms/batch (%.0f candidates/s)\n",
		o.batch, o.len, o.iters, pct(ms, 50), pct(ms, 90), pct(ms, 99), ms[0], ms[len(ms)-1], float64(o.batch)*1000/pct(ms, 50))
	fmt.Fprintf(w, "ms/batch: %.2f  provider: %s\n", pct(ms, 50), s.Provider())
	return nil
}

// pct is the p-th percentile of sorted xs (nearest rank).
func pct(xs []float64, p float64) float64 {
	i := int(float64(len(xs))*p/100+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}
