// Package evaluation runs the offline commands in a config.Env: label (every sample through the
// sandboxed executor, then pass@k), eval (the selection methods side by side on the same drawn
// candidates, figures with bootstrap intervals, evaluations stored in and pooled from ClickHouse)
// and, for train and export, the wiring of package trainer to the cluster and to ClickHouse.
package evaluation

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/processors/passk"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
)

// LabelOptions are the label command's inputs and executor settings.
type LabelOptions struct {
	Problems, Samples, Out string // the problems and samples files, the output JSONL
	Model                  string // the model that generated the samples, recorded with each
	NoTruncate             bool   // do not cut CodeT completions at stop sequences
	Backend                string // executor backend: executor.BackendZygote or simple
	Calibrate              bool   // per-problem timeouts from the reference solutions
	LookupClickHouse       bool   // answer candidates already labelled in ClickHouse from there
}

// LabelLine is one line of label's output: a sample's verdict.
type LabelLine struct {
	TaskID      string  `json:"task_id"`
	SampleIndex int32   `json:"sample_index"`
	CandidateID string  `json:"candidate_id"`
	Label       string  `json:"label"`
	Passed      bool    `json:"passed"`
	FailureKind string  `json:"failure_kind"`
	Detail      string  `json:"detail,omitempty"`
	RuntimeMs   float64 `json:"runtime_ms"`
	Executor    string  `json:"executor"`
}

// Label runs every sample against its problem's tests, writes one LabelLine per sample to o.Out
// and prints pass@k and the executor's cache figures on stdout (progress and diagnostics on stderr).
// A sample line that matches no problem gets no verdict and makes it fail after the rest is done.
func Label(ctx context.Context, env *config.Env, o LabelOptions, stdout, stderr io.Writer) error {
	if o.Problems == "" || o.Samples == "" || o.Out == "" {
		return fmt.Errorf("--problems, --samples and --out are required")
	}
	problems, err := producers.LoadProblems(o.Problems)
	if err != nil {
		return err
	}
	opt := producers.SampleOptions{Model: o.Model}
	if o.NoTruncate {
		opt.Stops = []string{}
	}
	cands, unmatched, err := producers.LoadSamples(o.Samples, problems, opt)
	if err != nil {
		return err
	}
	for _, u := range unmatched {
		fmt.Fprintf(stderr, "%s:%d: %s\n", o.Samples, u.Line, u.Reason)
	}
	ex, err := env.NewExecutor(o.Backend, 0)
	if err != nil {
		return err
	}
	defer ex.Close()
	fmt.Fprintf(stderr, "executor %s, %d workers\n", ex.Version(), ex.Workers())
	if iso := ex.Isolation(); iso.Namespaces != "" {
		fmt.Fprintf(stderr, "isolation: %s\n", iso)
	}
	if o.Calibrate {
		n, err := ex.Calibrate(ctx, problems, executor.Calibration{})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "calibrated timeouts of %d/%d problems from their reference solutions\n", n, len(problems))
	}
	if o.LookupClickHouse {
		sink, err := env.OpenClickHouseReadOnly(ctx)
		if err != nil {
			return fmt.Errorf("--lookup-clickhouse: %w", err)
		}
		defer sink.Close()
		ex.SetLookup(sink)
	}
	out, err := os.Create(o.Out)
	if err != nil {
		return err
	}
	defer out.Close()
	verdicts, err := labelAll(ctx, ex, problems, cands, out, stderr)
	if err != nil {
		return err
	}
	WritePassAtK(stdout, verdicts)
	cs := ex.CacheStats()
	fmt.Fprintf(stdout, "cache: executed %d, in-process hits %d, store hits %d, hit rate %.1f%%\n", cs.Executed, cs.MemoryHits, cs.StoreHits, 100*cs.HitRate())
	if len(unmatched) > 0 {
		return fmt.Errorf("%d sample lines matched no problem and got no verdict", len(unmatched))
	}
	return out.Close()
}

// labelAll executes every candidate (the executor bounds concurrency) and writes the lines in input
// order, so the output file lines up with the sample file.
func labelAll(ctx context.Context, ex *executor.Executor, problems []schemas.Problem, cands []schemas.Candidate, out, progressOut io.Writer) ([]schemas.Verdict, error) {
	verdicts := make([]schemas.Verdict, len(cands))
	err := eachCandidate(ctx, problems, cands, "labelled", progressOut, func(i int, p schemas.Problem, c schemas.Candidate) (err error) {
		verdicts[i], err = ex.Verdict(ctx, p, c)
		return err
	})
	if err != nil { // no verdict is better than a wrong one
		return nil, err
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	for _, v := range verdicts {
		if err := enc.Encode(LabelLine{
			TaskID: v.ProblemID, SampleIndex: v.SampleIndex, CandidateID: v.CandidateID, Label: v.Label,
			Passed: v.Label == schemas.Pass, FailureKind: v.FailureKind, Detail: v.Detail,
			RuntimeMs: v.RuntimeMs, Executor: v.ExecutorVersion,
		}); err != nil {
			return nil, err
		}
	}
	return verdicts, w.Flush()
}

// WritePassAtK prints the samples, problems and failure kinds of vs and their pass@1, @10 and @100
// (each over the problems with at least k samples).
func WritePassAtK(w io.Writer, vs []schemas.Verdict) {
	per := map[string][2]int{}
	kinds := map[string]int{}
	for _, v := range vs {
		nc := per[v.ProblemID]
		nc[0]++
		if v.Label == schemas.Pass {
			nc[1]++
		}
		per[v.ProblemID] = nc
		kinds[v.FailureKind]++
	}
	zero := 0
	for _, nc := range per {
		if nc[1] == 0 {
			zero++
		}
	}
	fmt.Fprintf(w, "samples: %d  problems: %d  problems_with_no_pass: %d\n", len(vs), len(per), zero)
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(w, "  %-13s %d\n", k+":", kinds[k])
	}
	for _, s := range passk.Summary(per, []int{1, 10, 100}) {
		if s.Problems == 0 {
			continue
		}
		fmt.Fprintf(w, "pass@%d: %.4f  (%d problems with n ≥ %d)\n", s.K, s.PassAtK, s.Problems, s.K)
	}
}
