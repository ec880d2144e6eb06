package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/codeverify/codeverify/internal/progress"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/processors/passk"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/spf13/cobra"
)

func (a *app) labelCmd() *cobra.Command {
	var problemsPath, samplesPath, outPath, model string
	var noTruncate, calibrate, lookupCH bool
	var backend string
	cmd := &cobra.Command{
		Use:   "label --problems FILE --samples FILE --out FILE",
		Short: "Label a sample file with the sandboxed executor, without a cluster",
		Long: `Runs every sample against its problem's tests and writes one JSON line per sample
(task_id, sample_index, label, failure_kind, runtime_ms, ...) to --out, then prints pass@k.

--problems: MBPP mbpp.jsonl, sanitized-mbpp.json or a HumanEval-style .jsonl.
--samples:  {"task_id", "completion"|"solution"} per line (human-eval / EvalPlus), or the CodeT
            format {"prompt", "samples": [...]} (programs cut at CodeT's stop sequences unless
            --no-truncate).
Exit status 0 when every sample got a verdict.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if problemsPath == "" || samplesPath == "" || outPath == "" {
				return fmt.Errorf("--problems, --samples and --out are required")
			}
			problems, err := producers.LoadProblems(problemsPath)
			if err != nil {
				return err
			}
			opt := producers.SampleOptions{Model: model}
			if noTruncate {
				opt.Stops = []string{}
			}
			cands, unmatched, err := producers.LoadSamples(samplesPath, problems, opt)
			if err != nil {
				return err
			}
			for _, u := range unmatched {
				fmt.Fprintf(os.Stderr, "%s:%d: %s\n", samplesPath, u.Line, u.Reason)
			}
			ex, err := a.NewExecutor(backend, 0)
			if err != nil {
				return err
			}
			defer ex.Close()
			fmt.Fprintf(os.Stderr, "executor %s, %d workers\n", ex.Version(), ex.Workers())
			if iso := ex.Isolation(); iso.Namespaces != "" {
				fmt.Fprintf(os.Stderr, "isolation: %s\n", iso)
			}
			if calibrate {
				n, err := ex.Calibrate(cmd.Context(), problems, executor.Calibration{})
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "calibrated timeouts of %d/%d problems from their reference solutions\n", n, len(problems))
			}
			if lookupCH {
				sink, err := a.OpenClickHouseReadOnly(cmd.Context())
				if err != nil {
					return fmt.Errorf("--lookup-clickhouse: %w", err)
				}
				defer sink.Close()
				ex.SetLookup(sink)
			}
			out, err := os.Create(outPath)
			if err != nil {
				return err
			}
			defer out.Close()
			verdicts, err := labelAll(cmd.Context(), ex, problems, cands, out, os.Stderr)
			if err != nil {
				return err
			}
			printPassAtK(os.Stdout, verdicts)
			cs := ex.CacheStats()
			fmt.Printf("cache: executed %d, in-process hits %d, store hits %d, hit rate %.1f%%\n", cs.Executed, cs.MemoryHits, cs.StoreHits, 100*cs.HitRate())
			if len(unmatched) > 0 {
				return fmt.Errorf("%d sample lines matched no problem and got no verdict", len(unmatched))
			}
			return out.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&problemsPath, "problems", "", "problems file")
	f.StringVar(&samplesPath, "samples", "", "samples file")
	f.StringVar(&outPath, "out", "", "output JSONL")
	genModelFlag(f, &model, "unknown", "name of the model that generated the samples, recorded with each")
	f.BoolVar(&noTruncate, "no-truncate", false, "do not cut CodeT completions at stop sequences")
	f.StringVar(&backend, "backend", executor.BackendZygote, "executor backend: zygote (fast, hardened) or simple (a fresh python3 per candidate)")
	f.BoolVar(&calibrate, "calibrate", true, "per-problem timeouts from the reference solutions (else the configured timeout)")
	f.BoolVar(&lookupCH, "lookup-clickhouse", false, "answer candidates already labelled in ClickHouse from there")
	return cmd
}

type labelLine struct {
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
		if err := enc.Encode(labelLine{
			TaskID: v.ProblemID, SampleIndex: v.SampleIndex, CandidateID: v.CandidateID, Label: v.Label,
			Passed: v.Label == schemas.Pass, FailureKind: v.FailureKind, Detail: v.Detail,
			RuntimeMs: v.RuntimeMs, Executor: v.ExecutorVersion,
		}); err != nil {
			return nil, err
		}
	}
	return verdicts, w.Flush()
}

func printPassAtK(w io.Writer, vs []schemas.Verdict) {
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
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %-13s %d\n", k+":", kinds[k])
	}
	for _, s := range passk.Summary(per, []int{1, 10, 100}) {
		if s.Problems == 0 {
			continue
		}
		fmt.Fprintf(w, "pass@%d: %.4f  (%d problems with n ≥ %d)\n", s.K, s.PassAtK, s.Problems, s.K)
	}
}

// eachCandidate calls run for every candidate with its problem, concurrently (at most 256
// goroutines; the executor bounds the processes), reporting progress. run writes only to its own
// index. It returns the first error, or the context's when interrupted.
func eachCandidate(ctx context.Context, problems []schemas.Problem, cands []schemas.Candidate, desc string, progressOut io.Writer,
	run func(i int, p schemas.Problem, c schemas.Candidate) error) error {
	byID := make(map[string]schemas.Problem, len(problems))
	for _, p := range problems {
		byID[p.ProblemID] = p
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	var firstErr error
	bar := progress.New(progressOut, desc, int64(len(cands)))
	defer bar.Finish()
	sem := make(chan struct{}, 256)
	for i, c := range cands {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := run(i, byID[c.ProblemID], c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s sample %d: %w", c.ProblemID, c.SampleIndex, err)
			}
			done++
			bar.Set(int64(done))
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return firstErr
}
