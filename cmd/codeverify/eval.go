package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"

	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/spf13/cobra"
)

type evalOptions struct {
	scorer            scorerFlags
	problems, samples string
	n                 int
	seed              uint64
	resamples         int
	backend           string
	holdout           bool
}

func (a *app) evalCmd() *cobra.Command {
	var o evalOptions
	cmd := &cobra.Command{
		Use:   "eval --problems P --samples S --model DIR --n 16 --seed N",
		Short: "Offline Stage 4: label every sample, score it with the verifier, print baseline/oracle/verifier pass rates",
		Long: `Labels every sample with the sandboxed executor (as codeverify label), scores it with the verifier
in --model through ONNX Runtime, draws --n candidates per problem (problems with fewer are skipped)
from --seed, and prints, one "name: value [low, high]" per line with 95% bootstrap intervals over
problems: baseline_pass@1 (a uniformly random candidate), oracle_pass@N (any candidate passes),
verifier_pass@1 (the min-energy candidate; ties to the smaller candidate id).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.eval(cmd.Context(), o, os.Stdout) },
	}
	f := cmd.Flags()
	o.scorer.add(f)
	f.StringVar(&o.problems, "problems", "", "problems file (as codeverify label)")
	f.StringVar(&o.samples, "samples", "", "samples file (as codeverify label)")
	f.IntVar(&o.n, "n", 16, "candidates drawn per problem")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the draw and the bootstrap")
	f.IntVar(&o.resamples, "bootstrap", 2000, "bootstrap resamples")
	f.StringVar(&o.backend, "backend", "zygote", "executor backend: zygote or simple")
	f.BoolVar(&o.holdout, "holdout", false, "evaluate only the problems of the model's validation fold (problems it was not trained on), recomputed from its manifest")
	return cmd
}

func (a *app) eval(ctx context.Context, o evalOptions, w io.Writer) error {
	if o.problems == "" || o.samples == "" || o.scorer.model == "" || o.n < 1 {
		return fmt.Errorf("eval: --problems, --samples, --model and --n ≥ 1 are required")
	}
	problems, err := producers.LoadProblems(o.problems)
	if err != nil {
		return err
	}
	cands, unmatched, err := producers.LoadSamples(o.samples, problems, producers.SampleOptions{Model: "eval"})
	if err != nil {
		return err
	}
	if len(unmatched) > 0 {
		return fmt.Errorf("eval: %d sample lines match no problem (first: line %d: %s)", len(unmatched), unmatched[0].Line, unmatched[0].Reason)
	}
	// Open the model first: a bad model should fail before minutes of execution.
	sess, m, err := o.scorer.open(a.log)
	if err != nil {
		return err
	}
	defer sess.Close()
	model := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess}

	byProblem := map[string][]int{}
	var order []string
	for i, c := range cands {
		if _, ok := byProblem[c.ProblemID]; !ok {
			order = append(order, c.ProblemID)
		}
		byProblem[c.ProblemID] = append(byProblem[c.ProblemID], i)
	}
	slices.Sort(order)
	if o.holdout {
		t := m.Manifest.Training
		held := validationFold(order, uint64(t.Seed), t.Folds, t.ValFold)
		if held == nil {
			return fmt.Errorf("eval: --holdout: model %s has no usable fold in its manifest (folds %d, validation fold %d)", m.Manifest.Version, t.Folds, t.ValFold)
		}
		order = slices.DeleteFunc(order, func(pid string) bool { return !held[pid] })
	}
	rng := rand.New(rand.NewPCG(o.seed, 0xd7a))
	var drawn []schemas.Candidate
	var groups [][2]int
	skipped := 0
	for _, pid := range order {
		idx := byProblem[pid]
		if len(idx) < o.n {
			skipped++
			continue
		}
		perm := rng.Perm(len(idx))[:o.n]
		groups = append(groups, [2]int{len(drawn), len(drawn) + o.n})
		for _, j := range perm {
			drawn = append(drawn, cands[idx[j]])
		}
	}
	if len(groups) == 0 {
		return fmt.Errorf("eval: no problem has %d samples", o.n)
	}
	ex, err := a.newExecutorWith(o.backend, 0)
	if err != nil {
		return err
	}
	defer ex.Close()
	verdicts, err := labelAll(ctx, ex, problems, drawn, io.Discard, os.Stderr)
	if err != nil {
		return err
	}
	promptOf := map[string]string{}
	for _, p := range problems {
		promptOf[p.ProblemID] = p.Prompt
	}
	pairs := make([]reranker.Pair, len(drawn))
	for i, c := range drawn {
		pairs[i] = reranker.Pair{Prompt: promptOf[c.ProblemID], Code: c.Code}
	}
	energies, err := model.ScorePairs(ctx, pairs)
	if err != nil {
		return err
	}
	results := make([]reranker.ProblemResult, len(groups))
	for g, r := range groups {
		pr := reranker.ProblemResult{ProblemID: drawn[r[0]].ProblemID}
		for i := r[0]; i < r[1]; i++ {
			pr.IDs = append(pr.IDs, drawn[i].CandidateID)
			pr.Pass = append(pr.Pass, verdicts[i].Label == "PASS")
			pr.Energy = append(pr.Energy, energies[i])
		}
		results[g] = pr
	}
	res, err := reranker.Evaluate(results, o.resamples, 0.95, o.seed)
	if err != nil {
		return err
	}
	scope := "all problems"
	if o.holdout {
		scope = fmt.Sprintf("held-out fold %d of %d", m.Manifest.Training.ValFold, m.Manifest.Training.Folds)
	}
	fmt.Fprintf(w, "model: %s  provider: %s  %s  problems: %d (skipped %d with < %d samples)  candidates: %d\n",
		model.Version, sess.Provider(), scope, res.Problems, skipped, o.n, len(drawn))
	fmt.Fprintf(w, "baseline_pass@1: %s\n", res.Baseline)
	fmt.Fprintf(w, "oracle_pass@%d: %s\n", o.n, res.Oracle)
	fmt.Fprintf(w, "verifier_pass@1: %s\n", res.Verifier)
	return nil
}

// validationFold is the set of problems the trainer put in fold valFold: the sorted problem ids
// shuffled from seed and dealt round-robin into folds, exactly as trainer.Dataset deals them. It holds
// only when problems are the dataset's problems (the same samples, every one labelled), which is the
// case when the model was trained on the replay of these files. nil when the manifest has no folds.
func validationFold(problems []string, seed uint64, folds, valFold int) map[string]bool {
	if folds < 2 || valFold < 0 || valFold >= folds {
		return nil
	}
	shuffled := slices.Clone(problems)
	slices.Sort(shuffled)
	rand.New(rand.NewPCG(seed, 0x666f6c6473)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	held := map[string]bool{}
	for i, p := range shuffled {
		if i%folds == valFold {
			held[p] = true
		}
	}
	return held
}
