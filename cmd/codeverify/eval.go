package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/processors/verifier"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/trainer"
	"github.com/spf13/cobra"
)

type evalOptions struct {
	scorer            scorerFlags
	problems, samples string
	tests             string // a CodeT test-case file: run every sample against its problem's generated asserts
	energyModel       string // a code-only model scored beside --model
	fromExport        string
	splits            []string
	n                 int
	seed              uint64
	resamples         int
	backend           string
	holdout           bool
	lookupClickHouse  bool     // answer already-labelled candidates from ClickHouse's verdicts
	clickhouse        bool     // store the scored candidates and compute the figures in SQL
	pool              []string // eval ids whose stored per-problem figures are pooled (no evaluation)
	html              string
}

func (a *app) evalCmd() *cobra.Command {
	var o evalOptions
	cmd := &cobra.Command{
		Use:   "eval (--problems P --samples S [--tests T] | --from-export FILE) --model DIR [--energy-model DIR] --n 16 --seed N",
		Short: "Offline Stage 4: label every sample, run the selection methods side by side, print their pass rates",
		Long: `Labels every sample with the sandboxed executor (as codeverify label), draws --n candidates per
problem (problems with fewer are skipped) from --seed, lets every selection method choose among the
same drawn candidates, and prints, one "name: value [low, high]" per line with 95% bootstrap
intervals over problems (one resampling shared by all figures, so differences are paired):
baseline_pass@1 (a uniformly random candidate), oracle_pass@N (any candidate passes),
codet_pass@1 (with --tests: a random candidate of CodeT's best dual-agreement groups, as CodeT
reports it), energy_pass@1 (with --energy-model: the code-only model's min-energy candidate),
verifier_pass@1 (the --model's min-energy candidate, reading the behaviour features when the model
takes them; ties to the smaller candidate id), verifier_minus_baseline and, with --tests,
verifier_minus_codet.

--tests FILE is a CodeT test-case file for the same problems (CodeT's extraction of the generated
asserts); every drawn sample then runs in dual execution: its hidden tests label it, the generated
asserts give its behaviour, from which CodeT and the verifier's features are computed.

Inputs: --problems and --samples as codeverify label; --lookup-clickhouse answers candidates whose
exact program is already labelled in ClickHouse from there instead of executing them. Or
--from-export FILE, a codeverify export file: its problems, code and labels are used as they are
(nothing executes) and a record with "copies": k counts k times, so the draw samples the
generator's real multiset. --split keeps only problems of these splits (either input).

--holdout keeps only the model's validation fold, recomputed from its manifest over the problems of
the input the trainer would have dealt (for an export: those matching the manifest's split,
benchmark and generating-model filters).

--clickhouse writes every scored candidate to the eval_candidates table under an eval id derived
from the model version, the input's content, the scope, --n and --seed (a rerun replaces its rows),
computes the per-problem figures and their means in SQL (checked against the in-process ones), prints
those, and then a table of every evaluation of the same input stored there, one row per model
version and scope, so versions compare side by side. Both ClickHouse flags use --clickhouse-addr and
--clickhouse-db; without them eval writes nothing and needs no server.

--html FILE writes a self-contained report: the table, the energy distributions of PASS and FAIL
candidates, and per-problem pass rates with the verifier's pick.

--pool ID,ID,... evaluates nothing: it reads those stored evaluations' per-problem figures from
ClickHouse (as --clickhouse printed their eval ids) and prints the figures of the methods every one
of them ran over all their problems with one bootstrap. For a cross-validation (train --val-fold K, eval --holdout --clickhouse
per fold) this is the pooled estimate: every problem judged by the model that never trained on it.
The evaluations share --n; they may be several draws (seeds) of the same folds: then each problem's
figures are averaged over its draws and the bootstrap resamples problems, so the interval is paired
over problems and uses every draw. Every problem must be in the same number of evaluations.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.eval(cmd.Context(), o, os.Stdout) },
	}
	f := cmd.Flags()
	o.scorer.add(f)
	f.StringVar(&o.problems, "problems", "", "problems file (as codeverify label)")
	f.StringVar(&o.samples, "samples", "", "samples file (as codeverify label)")
	f.StringVar(&o.tests, "tests", "", "CodeT test-case `FILE` (generated tests of the same problems): dual execution, CodeT and behaviour features")
	f.StringVar(&o.energyModel, "energy-model", "", "a code-only model `DIR` evaluated beside --model (energy_pass@1)")
	f.StringVar(&o.fromExport, "from-export", "", "a `FILE` written by codeverify export: problems, code and labels, nothing executed (instead of --problems/--samples)")
	f.StringSliceVar(&o.splits, "split", nil, "evaluate only problems of these splits (default: all)")
	f.IntVar(&o.n, "n", 16, "candidates drawn per problem")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the draw and the bootstrap")
	f.IntVar(&o.resamples, "bootstrap", 2000, "bootstrap resamples")
	limits(f, map[string][2]string{"n": {"1", "10000"}, "seed": {"0", "18446744073709551615"}, "bootstrap": {"1", "1000000"}})
	f.StringVar(&o.backend, "backend", "zygote", "executor backend: zygote or simple")
	f.BoolVar(&o.holdout, "holdout", false, "evaluate only the problems of the model's validation fold (problems it was not trained on), recomputed from its manifest")
	f.BoolVar(&o.lookupClickHouse, "lookup-clickhouse", false, "answer candidates already labelled in ClickHouse from there (not with --from-export)")
	f.BoolVar(&o.clickhouse, "clickhouse", false, "write the scored candidates to ClickHouse, compute the figures in SQL and print every stored evaluation of this input")
	f.StringVar(&o.html, "html", "", "write an HTML report (table and plots) to this file")
	f.StringSliceVar(&o.pool, "pool", nil, "pool these stored evaluation ids (the folds of a cross-validation, over one or more draws) instead of evaluating")
	return cmd
}

// evalInput is what an evaluation draws from: candidates with their problems and, for an export,
// their labels (nil: execute).
type evalInput struct {
	problems    []schemas.Problem
	cands       []schemas.Candidate
	labels      []string
	hash        string // content of the input files
	name        string
	hasGenModel bool // candidates carry their generating model, so the manifest's dataset filters apply
}

func (o evalOptions) validate() error {
	switch {
	case o.scorer.model == "" || o.n < 1:
		return fmt.Errorf("eval: --model and --n ≥ 1 are required")
	case o.fromExport != "" && (o.problems != "" || o.samples != ""):
		return fmt.Errorf("eval: --from-export replaces --problems and --samples")
	case o.fromExport != "" && o.lookupClickHouse:
		return fmt.Errorf("eval: --lookup-clickhouse reuses execution labels; an export is labelled already")
	case o.fromExport == "" && (o.problems == "" || o.samples == ""):
		return fmt.Errorf("eval: --problems and --samples (or --from-export) are required")
	case o.tests != "" && o.fromExport != "":
		return fmt.Errorf("eval: --tests executes the samples; an export is not executed")
	case o.tests != "" && o.lookupClickHouse:
		return fmt.Errorf("eval: --tests needs each sample's behaviour on the generated tests, which stored verdicts do not have")
	}
	return nil
}

func loadEvalInput(o evalOptions) (evalInput, error) {
	if o.fromExport != "" {
		rep, err := readExport(o.fromExport)
		if err != nil {
			return evalInput{}, err
		}
		in := evalInput{problems: rep.Problems, cands: rep.Candidates, labels: make([]string, len(rep.Verdicts)), hasGenModel: true,
			name: filepath.Base(o.fromExport)}
		for i, v := range rep.Verdicts { // readExport gives candidate i its verdict i
			in.labels[i] = v.Label
		}
		in.hash, err = hashFiles(o.fromExport)
		return in, err
	}
	problems, err := producers.LoadProblems(o.problems)
	if err != nil {
		return evalInput{}, err
	}
	cands, unmatched, err := producers.LoadSamples(o.samples, problems, producers.SampleOptions{Model: "eval"})
	if err != nil {
		return evalInput{}, err
	}
	if len(unmatched) > 0 {
		return evalInput{}, fmt.Errorf("eval: %d sample lines match no problem (first: line %d: %s)", len(unmatched), unmatched[0].Line, unmatched[0].Reason)
	}
	hash, err := hashFiles(o.problems, o.samples)
	return evalInput{problems: problems, cands: cands, hash: hash, name: filepath.Base(o.problems) + " + " + filepath.Base(o.samples)}, err
}

// hashFiles is the content hash that names an input: the same bytes under another path are the
// same input.
func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		st, err := f.Stat()
		if err == nil {
			fmt.Fprintf(h, "%d\x00", st.Size())
			_, err = io.Copy(h, f)
		}
		f.Close()
		if err != nil {
			return "", fmt.Errorf("eval: hash %s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (a *app) eval(ctx context.Context, o evalOptions, w io.Writer) error {
	if len(o.pool) > 0 {
		return a.evalPool(ctx, o.pool, o.resamples, o.seed, w)
	}
	if err := o.validate(); err != nil {
		return err
	}
	in, err := loadEvalInput(o)
	if err != nil {
		return err
	}
	var tests map[string][]schemas.GeneratedAssert // by problem id
	if o.tests != "" {
		if tests, in.hash, err = loadEvalTests(ctx, o, in); err != nil {
			return err
		}
	}
	// Open the models first: a bad model should fail before minutes of execution.
	sess, m, err := o.scorer.open(a.Log)
	if err != nil {
		return err
	}
	defer sess.Close()
	model := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess}
	methods := []verifier.Method{verifier.Random{}, verifier.CodeTMethod{}, verifier.Verifier{Scorer: modelScorer{model}}}
	evaluated := model.Version // names the evaluated models in the eval id
	if o.energyModel != "" {
		es := o.scorer
		es.model = o.energyModel
		esess, em, err := es.open(a.Log)
		if err != nil {
			return fmt.Errorf("eval: --energy-model: %w", err)
		}
		defer esess.Close()
		methods = append(methods, verifier.Energy{Scorer: modelScorer{reranker.Model{Version: em.Manifest.Version, Tokenizer: em.Tokenizer, Scorer: esess}}})
		// Evaluations with another code-only model beside the same verifier must not replace each other.
		evaluated += "+energy:" + em.Manifest.Version
	}
	var sink *clickhouse.Sink
	if o.clickhouse || o.lookupClickHouse {
		if sink, err = a.OpenClickHouse(ctx); err != nil {
			return fmt.Errorf("eval: clickhouse: %w", err)
		}
		defer sink.Close()
	}

	order, byProblem, scope, err := selectProblems(o, in, m.Manifest)
	if err != nil {
		return err
	}
	drawn, groups, skipped := drawCandidates(order, byProblem, o.n, o.seed)
	if len(groups) == 0 {
		return fmt.Errorf("eval: no problem has %d samples", o.n)
	}
	cands := make([]schemas.Candidate, len(drawn))
	for i, j := range drawn {
		cands[i] = in.cands[j]
	}
	pass, behaviors, labelled, err := a.evalLabels(ctx, o, in, drawn, cands, tests, sink)
	if err != nil {
		return err
	}
	promptOf := map[string]string{}
	for _, p := range in.problems {
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
		if pr, err = chooseAll(ctx, methods, req, pr, tests != nil); err != nil {
			return err
		}
		results[g] = pr
	}
	res, err := reranker.Evaluate(results, o.resamples, 0.95, o.seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "model: %s  provider: %s  %s  problems: %d (skipped %d with < %d samples)  candidates: %d\n",
		model.Version, sess.Provider(), scope, res.Problems, skipped, o.n, len(cands))
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
	rows := []reranker.ReportRow{reportRow(model.Version, "", scope, o.n, res.Problems, len(cands), res, tests != nil, o.energyModel != "")}
	if o.clickhouse {
		// From here on the figures are ClickHouse's: this run's row of the stored evaluations.
		run := clickhouse.EvalRun{EvalID: reranker.EvalID(evaluated, in.hash, scope, o.n, o.seed), ModelVersion: model.Version,
			InputHash: in.hash, InputName: in.name, Scope: scope, N: o.n, Seed: o.seed}
		if err := storeEval(ctx, sink, run, results); err != nil {
			return err
		}
		if rows, err = storedEvals(ctx, sink, in.hash, o.resamples); err != nil {
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
	writeFigures(w, res, o.n, tests != nil, o.energyModel != "")
	if o.clickhouse {
		fmt.Fprintf(w, "\nevaluations of this input in ClickHouse (input %s, %s):\n", in.hash[:12], in.name)
		writeEvalTable(w, rows)
	}
	if o.html != "" {
		return writeEvalHTML(o.html, reranker.Report{Title: "codeverify eval: " + model.Version, Input: in.name + " (" + in.hash[:12] + ")",
			Rows: rows, Plotted: model.Version + ", " + scope, Problems: results})
	}
	return nil
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

// writeFigures prints one "name: value [low, high]" line per figure; CodeT's only with generated
// tests, the code-only model's only when one ran.
func writeFigures(w io.Writer, res reranker.EvalResult, n int, withTests, withEnergy bool) {
	fmt.Fprintf(w, "baseline_pass@1: %s\n", res.Baseline)
	fmt.Fprintf(w, "oracle_pass@%d: %s\n", n, res.Oracle)
	if withTests {
		fmt.Fprintf(w, "codet_pass@1: %s\n", res.CodeT)
	}
	if withEnergy {
		fmt.Fprintf(w, "energy_pass@1: %s\n", res.Energy)
	}
	fmt.Fprintf(w, "verifier_pass@1: %s\n", res.Verifier)
	fmt.Fprintf(w, "verifier_minus_baseline: %s\n", res.Gain)
	if withTests {
		fmt.Fprintf(w, "verifier_minus_codet: %s\n", res.VerifierMinusCodeT)
	}
}

func reportRow(version, evalID, scope string, n, problems, cands int, res reranker.EvalResult, withTests, withEnergy bool) reranker.ReportRow {
	return reranker.ReportRow{ModelVersion: version, EvalID: evalID, Scope: scope, N: n, Problems: problems, Candidates: cands,
		Baseline: res.Baseline, Oracle: res.Oracle, Verifier: res.Verifier, Gain: res.Gain,
		CodeT: res.CodeT, Energy: res.Energy, VerifierMinusCodeT: res.VerifierMinusCodeT, HasCodeT: withTests, HasEnergy: withEnergy}
}

// modelScorer runs a model version for the selection methods. A model that reads behaviour features
// gets them; one that does not is scored on tokens alone, features or not.
type modelScorer struct{ model reranker.Model }

// featureScorer is a session that can feed behaviour features to its model: one row per batch row,
// the columns of verifier.FeatureNames. Features is their width, 0 when the model reads none.
type featureScorer interface {
	Features() int
	ScoreFeatures(ctx context.Context, ids, masks [][]int64, features [][]float32) ([]float32, error)
}

// readsFeatures is the width of the behaviour features the model reads (0: none).
func (s modelScorer) readsFeatures() int {
	if fs, ok := s.model.Scorer.(featureScorer); ok {
		return fs.Features()
	}
	return 0
}

func (s modelScorer) Score(ctx context.Context, prompt string, codes []string, features [][]float32) ([]float32, error) {
	fs, ok := s.model.Scorer.(featureScorer)
	if features == nil || !ok || fs.Features() == 0 {
		pairs := make([]reranker.Pair, len(codes))
		for i, c := range codes {
			pairs[i] = reranker.Pair{Prompt: prompt, Code: c}
		}
		return s.model.ScorePairs(ctx, pairs)
	}
	rows := make([][]int64, len(codes))
	width := 0
	for i, c := range codes {
		rows[i] = s.model.Tokenizer.Encode(prompt, c)
		width = max(width, len(rows[i]))
	}
	ids, masks := make([][]int64, len(rows)), make([][]int64, len(rows))
	for i, r := range rows {
		ids[i], masks[i] = make([]int64, width), make([]int64, width)
		copy(ids[i], r)
		for j := range r {
			masks[i][j] = 1
		}
	}
	return fs.ScoreFeatures(ctx, ids, masks, features)
}

// loadEvalTests extracts the generated asserts of --tests with CodeT's rules, keyed by problem, and
// returns the input's hash extended with the tests file, so evaluations with and without tests are
// different inputs.
func loadEvalTests(ctx context.Context, o evalOptions, in evalInput) (map[string][]schemas.GeneratedAssert, string, error) {
	sets, err := producers.LoadCodeTTests(ctx, o.tests, in.problems, "eval", testgen.Python{})
	if err != nil {
		return nil, "", fmt.Errorf("eval: --tests: %w", err)
	}
	out := make(map[string][]schemas.GeneratedAssert, len(sets))
	for _, t := range sets {
		out[t.ProblemID] = append(out[t.ProblemID], t.Asserts...)
	}
	hash, err := hashFiles(o.problems, o.samples, o.tests)
	return out, hash, err
}

// testsSummary says how many of the evaluated problems have generated asserts, and how many.
func testsSummary(tests map[string][]schemas.GeneratedAssert, order []string) string {
	with, asserts := 0, 0
	for _, pid := range order {
		if n := len(tests[pid]); n > 0 {
			with++
			asserts += n
		}
	}
	return fmt.Sprintf("%d of %d problems have generated asserts (%d distinct in all)", with, len(order), asserts)
}

// selectProblems groups the input's candidates by problem and keeps, in problem id order, the
// problems to evaluate: the model's validation fold with --holdout, the chosen splits with --split.
// scope says which, in words.
func selectProblems(o evalOptions, in evalInput, mf model.Manifest) (order []string, byProblem map[string][]int, scope string, err error) {
	byProblem = map[string][]int{}
	for i, c := range in.cands {
		if _, ok := byProblem[c.ProblemID]; !ok {
			order = append(order, c.ProblemID)
		}
		byProblem[c.ProblemID] = append(byProblem[c.ProblemID], i)
	}
	slices.Sort(order)
	scope = "all problems"
	if o.holdout {
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
			fmt.Fprintf(os.Stderr, "warning: --holdout deals %d problems of this input but model %s was trained on %d: the held-out fold may not be the trainer's\n", len(dealt), mf.Version, d.Stats.Problems)
		}
		held := validationFold(dealt, uint64(t.Seed), t.Folds, t.ValFold)
		if held == nil {
			return nil, nil, "", fmt.Errorf("eval: --holdout: model %s has no usable fold in its manifest (folds %d, validation fold %d)", mf.Version, t.Folds, t.ValFold)
		}
		order = slices.DeleteFunc(order, func(pid string) bool { return !held[pid] })
		scope = fmt.Sprintf("held-out fold %d of %d", t.ValFold, t.Folds)
	}
	if len(o.splits) > 0 {
		order = slices.DeleteFunc(order, func(pid string) bool { return !slices.Contains(o.splits, in.cands[byProblem[pid][0]].Split) })
		scope += ", split " + strings.Join(o.splits, "+")
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

// evalLabels returns whether each drawn candidate passes and says where the labels came from: the
// export, or the sandbox (answering from ClickHouse's verdicts first with --lookup-clickhouse). With
// generated tests every candidate runs in dual execution and its behaviour comes back too (else
// behaviors is nil).
func (a *app) evalLabels(ctx context.Context, o evalOptions, in evalInput, drawn []int, cands []schemas.Candidate,
	tests map[string][]schemas.GeneratedAssert, sink *clickhouse.Sink) (pass []bool, behaviors []schemas.Behavior, labelled string, err error) {
	pass = make([]bool, len(cands))
	if in.labels != nil {
		for i, j := range drawn {
			pass[i] = in.labels[j] == schemas.Pass
		}
		return pass, nil, fmt.Sprintf("from %s (nothing executed)", in.name), nil
	}
	ex, err := a.NewExecutor(o.backend, 0)
	if err != nil {
		return nil, nil, "", err
	}
	defer ex.Close()
	if o.lookupClickHouse {
		ex.SetLookup(sink)
	}
	var verdicts []schemas.Verdict
	if tests != nil {
		d, ok := any(ex).(dualExecutor)
		if !ok {
			return nil, nil, "", fmt.Errorf("eval: --tests: this build's executor has no dual execution")
		}
		verdicts, behaviors, err = dualAll(ctx, d, in.problems, cands, tests, os.Stderr)
	} else {
		verdicts, err = labelAll(ctx, ex, in.problems, cands, io.Discard, os.Stderr)
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

// dualExecutor runs a candidate against its problem's hidden tests (the verdict) and against the
// generated asserts (the behaviour).
type dualExecutor interface {
	Dual(ctx context.Context, p schemas.Problem, asserts []schemas.GeneratedAssert, c schemas.Candidate) (schemas.Verdict, schemas.Behavior, error)
}

// dualAll runs every candidate in dual execution, concurrently (the executor bounds the processes).
func dualAll(ctx context.Context, ex dualExecutor, problems []schemas.Problem, cands []schemas.Candidate,
	tests map[string][]schemas.GeneratedAssert, progressOut io.Writer) ([]schemas.Verdict, []schemas.Behavior, error) {
	verdicts := make([]schemas.Verdict, len(cands))
	behaviors := make([]schemas.Behavior, len(cands))
	err := eachCandidate(ctx, problems, cands, "executed in dual execution", progressOut, func(i int, p schemas.Problem, c schemas.Candidate) (err error) {
		verdicts[i], behaviors[i], err = ex.Dual(ctx, p, tests[c.ProblemID], c)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return verdicts, behaviors, nil
}

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

func writeEvalTable(w io.Writer, rows []reranker.ReportRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model_version\tscope\tn\tproblems\tcandidates\tbaseline_pass@1\toracle_pass@n\tcodet_pass@1\tenergy_pass@1\tverifier_pass@1\tverifier_minus_baseline\tverifier_minus_codet\teval_id")
	for _, r := range rows {
		codet, energy, minusCodeT := "-", "-", "-"
		if r.HasCodeT {
			codet, minusCodeT = r.CodeT.String(), r.VerifierMinusCodeT.String()
		}
		if r.HasEnergy {
			energy = r.Energy.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ModelVersion, r.Scope, r.N, r.Problems, r.Candidates,
			r.Baseline, r.Oracle, codet, energy, r.Verifier, r.Gain, minusCodeT, r.EvalID)
	}
	tw.Flush()
}

func writeEvalHTML(path string, r reranker.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := reranker.WriteHTML(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", path)
	return nil
}

// validationFold is the set of problems the trainer put in fold valFold (trainer.DealFolds). It holds
// only when problems are the dataset's problems (the same samples, every one labelled), which is the
// case when the model was trained on the replay of these files. nil when the manifest has no folds.
func validationFold(problems []string, seed uint64, folds, valFold int) map[string]bool {
	if folds < 2 || valFold < 0 || valFold >= folds {
		return nil
	}
	held := map[string]bool{}
	for p, f := range trainer.DealFolds(problems, seed, folds) {
		if f == valFold {
			held[p] = true
		}
	}
	return held
}

// evalPool prints the figures over the problems of several stored evaluations (same n),
// bootstrapped together: the pooled estimate of a cross-validation. The evaluations may be several
// draws of the same problems (a cross-validation repeated over draw seeds): then each problem's
// figures are averaged over its draws and the bootstrap resamples problems, so the interval is
// paired over problems and counts every draw. Every problem must be in the same number of
// evaluations (whole draws), which also catches overlapping folds within a draw.
func (a *app) evalPool(ctx context.Context, ids []string, resamples int, seed uint64, w io.Writer) error {
	sink, err := a.OpenClickHouseReadOnly(ctx)
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
