package evaluation

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/sinks/clickhouse"
)

// Evaluations stored in ClickHouse's eval_candidates: writing one, reading them back, pooling them.

// storeEval writes the evaluation's candidates to ClickHouse and checks that the per-problem figures
// SQL computes from them are the ones computed here.
func storeEval(ctx context.Context, sink *clickhouse.Sink, run clickhouse.EvalRun, results []reranker.ProblemResult) error {
	var rows []clickhouse.EvalCandidate
	for _, r := range results {
		for i := range r.IDs {
			c := clickhouse.EvalCandidate{ProblemID: r.ProblemID, CandidateID: r.IDs[i], Position: i, Pass: r.Pass[i], Energy: r.Energy[i],
				HasCodeT: r.CodeTPool != nil, HasCodeEnergy: r.CodeEnergy != nil}
			if c.HasCodeT {
				c.CodeTPool = r.CodeTPool[i]
			}
			if c.HasCodeEnergy {
				c.CodeEnergy = r.CodeEnergy[i]
			}
			rows = append(rows, c)
		}
	}
	if err := sink.WriteEval(ctx, run, rows); err != nil {
		return err
	}
	sqlVals, err := evalValues(ctx, sink, run.EvalID)
	if err != nil {
		return err
	}
	if len(sqlVals) != len(results) {
		return fmt.Errorf("eval: ClickHouse has %d problems of eval %s, this run %d", len(sqlVals), run.EvalID, len(results))
	}
	for i, r := range results { // both in problem id order
		v, err := reranker.Values(r)
		if err != nil {
			return err
		}
		if s := sqlVals[i]; s.ProblemID != v.ProblemID || math.Abs(s.Baseline-v.Baseline) > 1e-12 || s.Oracle != v.Oracle || s.Verifier != v.Verifier ||
			math.Abs(s.CodeT-v.CodeT) > 1e-12 || s.Energy != v.Energy {
			return fmt.Errorf("eval: ClickHouse and Go disagree on problem %s of eval %s: %+v vs %+v", v.ProblemID, run.EvalID, s, v)
		}
	}
	return nil
}

func evalValues(ctx context.Context, sink *clickhouse.Sink, evalID string) ([]reranker.ProblemValues, error) {
	ps, err := sink.EvalProblems(ctx, evalID)
	if err != nil {
		return nil, err
	}
	out := make([]reranker.ProblemValues, len(ps))
	for i, p := range ps {
		out[i] = problemValues(p)
	}
	return out, nil
}

// problemValues is one SQL per-problem row as the bootstrap takes it.
func problemValues(p clickhouse.EvalProblem) reranker.ProblemValues {
	return reranker.ProblemValues{ProblemID: p.ProblemID, Baseline: p.Baseline, Oracle: p.Oracle, Verifier: p.Verifier, CodeT: p.CodeT, Energy: p.Energy}
}

// storedEvals is every evaluation of an input in ClickHouse: the means from SQL, the intervals
// from bootstrapping its SQL per-problem rows with its own seed.
func storedEvals(ctx context.Context, sink *clickhouse.Sink, inputHash string, resamples int) ([]reranker.ReportRow, error) {
	sums, err := sink.EvalSummaries(ctx, inputHash)
	if err != nil {
		return nil, err
	}
	var out []reranker.ReportRow
	for _, s := range sums {
		vals, err := evalValues(ctx, sink, s.EvalID)
		if err != nil {
			return nil, err
		}
		r, err := reranker.Bootstrap(vals, resamples, 0.95, s.Seed)
		if err != nil {
			return nil, err
		}
		r.Baseline.Value, r.Oracle.Value, r.Verifier.Value, r.Gain.Value = s.Baseline, s.Oracle, s.Verifier, s.Verifier-s.Baseline
		r.CodeT.Value, r.Energy.Value, r.VerifierMinusCodeT.Value = s.CodeT, s.Energy, s.Verifier-s.CodeT
		out = append(out, reportRow(s.ModelVersion, s.EvalID, s.Scope, s.N, s.Problems, s.Candidates, r, s.HasCodeT, s.HasEnergy))
	}
	return out, nil
}

// pool prints the figures over the problems of several stored evaluations (same n), bootstrapped
// together: the pooled estimate of a cross-validation. The evaluations may be several draws of the
// same problems (a cross-validation repeated over draw seeds): then each problem's figures are
// averaged over its draws and the bootstrap resamples problems, so the interval is paired over
// problems and counts every draw. Every problem must be in the same number of evaluations (whole
// draws), which also catches overlapping folds within a draw.
func pool(ctx context.Context, env *config.Env, ids []string, resamples int, seed uint64, w io.Writer) error {
	sink, err := env.OpenClickHouseReadOnly(ctx)
	if err != nil {
		return fmt.Errorf("eval --pool: %w", err)
	}
	defer sink.Close()
	byProblem := map[string][]reranker.ProblemValues{}
	var order []string
	n := -1
	withTests, withEnergy := true, true // every pooled evaluation ran the method
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return fmt.Errorf("eval --pool: evaluation %s given twice", id)
		}
		ps, err := sink.EvalProblems(ctx, id)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return fmt.Errorf("eval --pool: no stored evaluation %q in %s.eval_candidates", id, sink.Database())
		}
		for _, p := range ps {
			if n >= 0 && p.Candidates != n {
				return fmt.Errorf("eval --pool: evaluation %s has %d candidates for %s, the others %d: pool evaluations of the same --n", id, p.Candidates, p.ProblemID, n)
			}
			n = p.Candidates
			if _, ok := byProblem[p.ProblemID]; !ok {
				order = append(order, p.ProblemID)
			}
			byProblem[p.ProblemID] = append(byProblem[p.ProblemID], problemValues(p))
			withTests, withEnergy = withTests && p.HasCodeT, withEnergy && p.HasEnergy
		}
	}
	draws := len(byProblem[order[0]])
	all := make([]reranker.ProblemValues, 0, len(order))
	for _, id := range order {
		vs := byProblem[id]
		if len(vs) != draws {
			return fmt.Errorf("eval --pool: problem %s is in %d of the evaluations, %s in %d: pool whole draws of disjoint folds", id, len(vs), order[0], draws)
		}
		all = append(all, meanValues(vs))
	}
	res, err := reranker.Bootstrap(all, resamples, 0.95, seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "pooled %d evaluations: problems: %d  draws per problem: %d  candidates per problem: %d\n", len(ids), res.Problems, draws, n)
	writeFigures(w, res, n, withTests, withEnergy)
	return nil
}

// meanValues averages one problem's figures over its draws.
func meanValues(vs []reranker.ProblemValues) reranker.ProblemValues {
	m := reranker.ProblemValues{ProblemID: vs[0].ProblemID}
	k := float64(len(vs))
	for _, v := range vs {
		m.Baseline += v.Baseline / k
		m.Oracle += v.Oracle / k
		m.Verifier += v.Verifier / k
		m.CodeT += v.CodeT / k
		m.Energy += v.Energy / k
	}
	return m
}
