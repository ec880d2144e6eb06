package evaluation

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/processors/verifier"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
)

// Run is the eval command: it labels the input's samples (or takes an export's labels), draws
// o.N candidates per problem, lets every selection method choose among the same drawn candidates
// and prints their figures with bootstrap intervals on w; with o.ClickHouse it stores the
// evaluation and prints the figures SQL computes, with o.HTML it writes the report page. With
// o.Pool it evaluates nothing and pools stored evaluations instead.
func Run(ctx context.Context, env *config.Env, o Options, w io.Writer) error {
	if len(o.Pool) > 0 {
		return pool(ctx, env, o.Pool, o.Resamples, o.Seed, w)
	}
	if err := o.validate(); err != nil {
		return err
	}
	in, err := loadInput(o)
	if err != nil {
		return err
	}
	var tests map[string][]schemas.GeneratedAssert // by problem id
	if o.Tests != "" {
		if tests, in.hash, err = loadTests(ctx, o, in); err != nil {
			return err
		}
	}
	// Open the models first: a bad model should fail before minutes of execution.
	sess, m, err := o.Runtime.Open(o.Model, env.Log)
	if err != nil {
		return err
	}
	defer sess.Close()
	model := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess}
	methods := []verifier.Method{verifier.Random{}, verifier.CodeTMethod{}, verifier.Verifier{Scorer: modelScorer{model}}}
	evaluated := model.Version // names the evaluated models in the eval id
	if o.EnergyModel != "" {
		esess, em, err := o.Runtime.Open(o.EnergyModel, env.Log)
		if err != nil {
			return fmt.Errorf("eval: --energy-model: %w", err)
		}
		defer esess.Close()
		methods = append(methods, verifier.Energy{Scorer: modelScorer{reranker.Model{Version: em.Manifest.Version, Tokenizer: em.Tokenizer, Scorer: esess}}})
		// Evaluations with another code-only model beside the same verifier must not replace each other.
		evaluated += "+energy:" + em.Manifest.Version
	}
	var sink *clickhouse.Sink
	if o.ClickHouse || o.LookupClickHouse {
		if sink, err = env.OpenClickHouse(ctx); err != nil {
			return fmt.Errorf("eval: clickhouse: %w", err)
		}
		defer sink.Close()
	}

	order, byProblem, scope, err := selectProblems(o, in, m.Manifest, o.progress())
	if err != nil {
		return err
	}
	drawn, groups, skipped := drawCandidates(order, byProblem, o.N, o.Seed)
	if len(groups) == 0 {
		return fmt.Errorf("eval: no problem has %d samples", o.N)
	}
	cands := make([]schemas.Candidate, len(drawn))
	for i, j := range drawn {
		cands[i] = in.cands[j]
	}
	pass, behaviors, labelled, err := drawnLabels(ctx, env, o, in, drawn, cands, tests, sink)
	if err != nil {
		return err
	}
	results, err := chooseDrawn(ctx, methods, in.problems, cands, groups, pass, behaviors, tests != nil)
	if err != nil {
		return err
	}
	res, err := reranker.Evaluate(results, o.Resamples, 0.95, o.Seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "model: %s  provider: %s  %s  problems: %d (skipped %d with < %d samples)  candidates: %d\n",
		model.Version, sess.Provider(), scope, res.Problems, skipped, o.N, len(cands))
	fmt.Fprintf(w, "labels: %s\n", labelled)
	if k := (modelScorer{model}).readsFeatures(); k > 0 {
		if ts, ok := model.Scorer.(interface{ ReadsTokens() bool }); ok && !ts.ReadsTokens() {
			fmt.Fprintf(w, "verifier: reads %d behaviour features only (no token input)\n", k)
		} else {
			fmt.Fprintf(w, "verifier: reads %d behaviour features beside the code\n", k)
		}
	} else {
		fmt.Fprintf(w, "verifier: reads the code only (the model takes no behaviour features)\n")
	}
	if tests != nil {
		fmt.Fprintf(w, "generated tests: %s\n", testsSummary(tests, order))
	}
	rows := []reranker.ReportRow{reportRow(model.Version, "", scope, o.N, res.Problems, len(cands), res, tests != nil, o.EnergyModel != "")}
	if o.ClickHouse {
		// From here on the figures are ClickHouse's: this run's row of the stored evaluations.
		run := clickhouse.EvalRun{EvalID: reranker.EvalID(evaluated, in.hash, scope, o.N, o.Seed), ModelVersion: model.Version,
			InputHash: in.hash, InputName: in.name, Scope: scope, N: o.N, Seed: o.Seed}
		if err := storeEval(ctx, sink, run, results); err != nil {
			return err
		}
		if rows, err = storedEvals(ctx, sink, in.hash, o.Resamples); err != nil {
			return err
		}
		i := slices.IndexFunc(rows, func(r reranker.ReportRow) bool { return r.EvalID == run.EvalID })
		if i < 0 {
			return fmt.Errorf("eval: eval %s is not in ClickHouse after writing it", run.EvalID)
		}
		r := rows[i]
		res.Baseline, res.Oracle, res.Verifier, res.Gain = r.Baseline, r.Oracle, r.Verifier, r.Gain
		res.CodeT, res.Energy, res.VerifierMinusCodeT = r.CodeT, r.Energy, r.VerifierMinusCodeT
		fmt.Fprintf(w, "eval_id: %s  (figures computed in ClickHouse %s.eval_candidates, %d rows)\n", run.EvalID, sink.Database(), r.Candidates)
	}
	writeFigures(w, res, o.N, tests != nil, o.EnergyModel != "")
	if o.ClickHouse {
		fmt.Fprintf(w, "\nevaluations of this input in ClickHouse (input %s, %s):\n", in.hash[:12], in.name)
		if err := writeEvalTable(w, rows); err != nil {
			return err
		}
	}
	if o.HTML != "" {
		return writeHTML(o.HTML, reranker.Report{Title: "codeverify eval: " + model.Version, Input: in.name + " (" + in.hash[:12] + ")",
			Rows: rows, Plotted: model.Version + ", " + scope, Problems: results}, o.progress())
	}
	return nil
}

// chooseDrawn lets every method choose among each problem's drawn candidates (group g is
// cands[groups[g][0]:groups[g][1]]), with their labels and, when executed on generated tests,
// their behaviours.
func chooseDrawn(ctx context.Context, methods []verifier.Method, problems []schemas.Problem, cands []schemas.Candidate, groups [][2]int,
	pass []bool, behaviors []schemas.Behavior, withTests bool) ([]reranker.ProblemResult, error) {
	promptOf := map[string]string{}
	for _, p := range problems {
		promptOf[p.ProblemID] = p.Prompt
	}
	results := make([]reranker.ProblemResult, len(groups))
	for g, r := range groups {
		req := verifier.Request{ProblemID: cands[r[0]].ProblemID, Prompt: promptOf[cands[r[0]].ProblemID]}
		pr := reranker.ProblemResult{ProblemID: req.ProblemID}
		for i := r[0]; i < r[1]; i++ {
			c := verifier.Candidate{ID: cands[i].CandidateID, Code: cands[i].Code}
			if behaviors != nil {
				c.Behavior = behaviors[i]
			}
			req.Candidates = append(req.Candidates, c)
			pr.IDs = append(pr.IDs, cands[i].CandidateID)
			pr.Pass = append(pr.Pass, pass[i])
		}
		var err error
		if results[g], err = chooseAll(ctx, methods, req, pr, withTests); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// chooseAll lets every method choose among one problem's drawn candidates and records what the
// figures need: the verifier's energies, CodeT's best groups (withTests) and the code-only energies.
func chooseAll(ctx context.Context, methods []verifier.Method, req verifier.Request, pr reranker.ProblemResult, withTests bool) (reranker.ProblemResult, error) {
	for _, m := range methods {
		ch, err := m.Choose(ctx, req)
		if err != nil {
			return pr, fmt.Errorf("eval: %s on %s: %w", m.Name(), req.ProblemID, err)
		}
		switch m.(type) {
		case verifier.Verifier:
			pr.Energy = ch.Scores
		case verifier.Energy:
			pr.CodeEnergy = ch.Scores
		case verifier.CodeTMethod:
			if withTests {
				pr.CodeTPool = make([]bool, len(req.Candidates))
				for _, i := range ch.Pool {
					pr.CodeTPool[i] = true
				}
			}
		}
	}
	return pr, nil
}

// drawnLabels returns whether each drawn candidate passes and says where the labels came from: the
// export, or the sandbox (answering from ClickHouse's verdicts first with LookupClickHouse). With
// generated tests every candidate runs in dual execution and its behaviour comes back too (else
// behaviors is nil).
func drawnLabels(ctx context.Context, env *config.Env, o Options, in input, drawn []int, cands []schemas.Candidate,
	tests map[string][]schemas.GeneratedAssert, sink *clickhouse.Sink) (pass []bool, behaviors []schemas.Behavior, labelled string, err error) {
	pass = make([]bool, len(cands))
	if in.labels != nil {
		for i, j := range drawn {
			pass[i] = in.labels[j] == schemas.Pass
		}
		return pass, nil, fmt.Sprintf("from %s (nothing executed)", in.name), nil
	}
	ex, err := env.NewExecutor(o.Backend, 0)
	if err != nil {
		return nil, nil, "", err
	}
	defer ex.Close()
	if o.LookupClickHouse {
		ex.SetLookup(sink)
	}
	var verdicts []schemas.Verdict
	if tests != nil {
		verdicts, behaviors, err = dualAll(ctx, ex, in.problems, cands, tests, o.progress())
	} else {
		verdicts, err = labelAll(ctx, ex, in.problems, cands, io.Discard, o.progress())
	}
	if err != nil {
		return nil, nil, "", err
	}
	for i, v := range verdicts {
		pass[i] = v.Label == schemas.Pass
	}
	cs := ex.CacheStats()
	return pass, behaviors, fmt.Sprintf("executed %d, from ClickHouse %d, repeated programs %d", cs.Executed, cs.StoreHits, cs.MemoryHits), nil
}
