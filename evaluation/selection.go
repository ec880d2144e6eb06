package evaluation

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/trainer"
)

// selectProblems groups the input's candidates by problem and keeps, in problem id order, the
// problems to evaluate: the model's validation fold with Holdout, the chosen splits with Splits.
// scope says which, in words; a holdout that may not be the trainer's is warned about on warn.
func selectProblems(o Options, in input, mf model.Manifest, warn io.Writer) (order []string, byProblem map[string][]int, scope string, err error) {
	byProblem = map[string][]int{}
	for i, c := range in.cands {
		if _, ok := byProblem[c.ProblemID]; !ok {
			order = append(order, c.ProblemID)
		}
		byProblem[c.ProblemID] = append(byProblem[c.ProblemID], i)
	}
	slices.Sort(order)
	scope = "all problems"
	if o.Holdout {
		t, d := mf.Training, mf.Dataset
		// The trainer dealt the problems its filters kept. Sample files do not say which model
		// generated them, so there every problem of the files is dealt (a replay of these files).
		dealt := order
		if in.hasGenModel {
			dealt = slices.DeleteFunc(slices.Clone(order), func(pid string) bool {
				return !slices.ContainsFunc(byProblem[pid], func(i int) bool {
					c := in.cands[i]
					return allows(d.Splits, c.Split) && allows(d.Benchmarks, c.Benchmark) && allows(d.Models, c.Model)
				})
			})
		}
		if d.Stats.Problems > 0 && d.Stats.Problems != len(dealt) {
			fmt.Fprintf(warn, "warning: --holdout deals %d problems of this input but model %s was trained on %d: the held-out fold may not be the trainer's\n", len(dealt), mf.Version, d.Stats.Problems)
		}
		held := trainer.ValidationFold(dealt, uint64(t.Seed), t.Folds, t.ValFold)
		if held == nil {
			return nil, nil, "", fmt.Errorf("eval: --holdout: model %s has no usable fold in its manifest (folds %d, validation fold %d)", mf.Version, t.Folds, t.ValFold)
		}
		order = slices.DeleteFunc(order, func(pid string) bool { return !held[pid] })
		scope = fmt.Sprintf("held-out fold %d of %d", t.ValFold, t.Folds)
	}
	if len(o.Splits) > 0 {
		order = slices.DeleteFunc(order, func(pid string) bool { return !slices.Contains(o.Splits, in.cands[byProblem[pid][0]].Split) })
		scope += ", split " + strings.Join(o.Splits, "+")
	}
	return order, byProblem, scope, nil
}

// drawCandidates draws n candidates of each problem (problems with fewer are skipped) from seed:
// drawn indexes the input's candidates, group g is drawn[groups[g][0]:groups[g][1]].
func drawCandidates(order []string, byProblem map[string][]int, n int, seed uint64) (drawn []int, groups [][2]int, skipped int) {
	rng := rand.New(rand.NewPCG(seed, 0xd7a))
	for _, pid := range order {
		idx := byProblem[pid]
		if len(idx) < n {
			skipped++
			continue
		}
		perm := rng.Perm(len(idx))[:n]
		groups = append(groups, [2]int{len(drawn), len(drawn) + n})
		for _, j := range perm {
			drawn = append(drawn, idx[j])
		}
	}
	return drawn, groups, skipped
}

func allows(only []string, v string) bool { return len(only) == 0 || slices.Contains(only, v) }
