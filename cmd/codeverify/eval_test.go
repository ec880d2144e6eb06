package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
	"github.com/codeverify/codeverify/trainer"
)

// evalSamples gives three real HumanEval problems four samples each with known labels: the first
// all PASS (the canonical solution), the second all FAIL, the third two of each. So baseline pass@1
// is (1 + 0 + 0.5)/3, oracle 2/3, and the verifier picks a PASS on the first, a FAIL on the second
// and either on the third.
func evalSamples(t *testing.T) (problems, samples string) {
	problems, recs := testkit.HumanEvalSubset(t, 3)
	var lines []map[string]string
	for p, r := range recs {
		id := r["task_id"].(string)
		for i := range 4 {
			completion := r["canonical_solution"].(string) + fmt.Sprintf("# variant %d\n", i)
			if p == 1 || (p == 2 && i%2 == 1) {
				completion = fmt.Sprintf("    return None  # wrong %d\n", i)
			}
			lines = append(lines, map[string]string{"task_id": id, "completion": completion})
		}
	}
	return problems, testkit.WriteSamples(t, lines)
}

var evalLine = regexp.MustCompile(`(?m)^(baseline_pass@1|oracle_pass@4|verifier_pass@1): ([0-9.]+) \[([0-9.]+), ([0-9.]+)\]$`)

func TestEvalCommand(t *testing.T) {
	m := rerankTestModel(t)
	problems, samples := evalSamples(t)
	args := []string{"eval", "--problems", problems, "--samples", samples, "--model", m.Dir, "--n", "4", "--seed", "3",
		"--bootstrap", "200", "--threads", "1", "--provider", "cpu"}
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, mt := range evalLine.FindAllStringSubmatch(out, -1) {
		got[mt[1]] = mt[2]
		if mt[3] > mt[2] || mt[4] < mt[2] {
			t.Errorf("%s: interval [%s, %s] does not hold %s", mt[1], mt[3], mt[4], mt[2])
		}
	}
	if len(got) != 3 || !strings.Contains(out, "problems: 3 ") || !strings.Contains(out, "candidates: 12") {
		t.Fatalf("output:\n%s", out)
	}
	if got["baseline_pass@1"] != "0.5000" || got["oracle_pass@4"] != "0.6667" {
		t.Errorf("baseline %s (want 0.5000), oracle %s (want 0.6667)\n%s", got["baseline_pass@1"], got["oracle_pass@4"], out)
	}
	if v := got["verifier_pass@1"]; v != "0.3333" && v != "0.6667" {
		t.Errorf("verifier %s: must be 1/3 or 2/3 (problem 1 always, problem 2 never, problem 3 either)", v)
	}
	again, err := runCLI(t, args...)
	if err != nil || again != out {
		t.Errorf("a rerun with the same seed differs (%v):\n%s\n---\n%s", err, out, again)
	}

	if out, err := runCLI(t, "eval", "--problems", problems, "--samples", samples, "--model", m.Dir, "--n", "5", "--provider", "cpu"); err == nil || !strings.Contains(err.Error(), "no problem has 5 samples") {
		t.Errorf("--n 5 with 4 samples per problem: %v\n%s", err, out)
	}

	// --holdout keeps the model's validation fold only: with 3 folds, fold 0 of 3 problems is one.
	editManifest(t, m.Dir, func(mf *model.Manifest) { mf.Training.Seed, mf.Training.Folds, mf.Training.ValFold = 1, 3, 0 })
	out, err = runCLI(t, append(args, "--holdout")...)
	if err != nil || !strings.Contains(out, "held-out fold 0 of 3  problems: 1 ") {
		t.Errorf("--holdout: %v\n%s", err, out)
	}
}

// editManifest rewrites a model version's manifest.json.
func editManifest(t *testing.T, dir string, edit func(*model.Manifest)) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mf model.Manifest
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatal(err)
	}
	edit(&mf)
	b, _ = json.Marshal(mf)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyModel copies a model version under another version name (same weights).
func copyModel(t *testing.T, dir, version string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), version)
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	editManifest(t, dst, func(mf *model.Manifest) { mf.Version = version })
	return dst
}

var figureLine = regexp.MustCompile(`(?m)^(baseline_pass@1|oracle_pass@\d+|verifier_pass@1): (.+)$`)

// evalFigures maps each figure's name to its printed "value [low, high]".
func evalFigures(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range figureLine.FindAllStringSubmatch(out, -1) {
		got[m[1]] = m[2]
	}
	if len(got) != 3 {
		t.Fatalf("want three figure lines:\n%s", out)
	}
	return got
}

var (
	evalIDLine   = regexp.MustCompile(`(?m)^eval_id: ([0-9a-f]{16}) `)
	htmlBin      = regexp.MustCompile(`<rect class="bar (?:pass|fail)" data-series="(?:PASS|FAIL)" data-index="\d+" data-value="(\d+)"`)
	htmlProblem  = regexp.MustCompile(`<g class="row" data-label="([^"]+)"`)
	htmlTableRow = regexp.MustCompile(`<tr class="evaluation">`)
)

// TestEvalClickHouse: --clickhouse prints the figures computed in SQL, equal to the in-process ones;
// a rerun replaces its rows; a second model version on the same input appears beside the first;
// --html draws the run's candidates; --lookup-clickhouse answers from stored verdicts.
func TestEvalClickHouse(t *testing.T) {
	db := chtest.Config(t).Database
	m := rerankTestModel(t)
	problems, samples := evalSamples(t)
	page := filepath.Join(t.TempDir(), "eval.html")
	args := []string{"eval", "--problems", problems, "--samples", samples, "--model", m.Dir, "--n", "4", "--seed", "3",
		"--bootstrap", "200", "--threads", "1", "--provider", "cpu", "--clickhouse-db", db}
	goOut, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, goOut)
	}
	chArgs := append(slices.Clone(args), "--clickhouse", "--html", page)
	out, err := runCLI(t, chArgs...)
	if err != nil {
		t.Fatalf("eval --clickhouse: %v\n%s", err, out)
	}
	if sqlFig, goFig := evalFigures(t, out), evalFigures(t, goOut); !maps.Equal(sqlFig, goFig) {
		t.Errorf("figures from SQL %v, in process %v", sqlFig, goFig)
	}
	id := evalIDLine.FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no eval_id line:\n%s", out)
	}
	a := &app{Env: &config.Env{Config: config.Default()}}
	a.Config.ClickHouse.Database = db
	sink, err := a.OpenClickHouse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ps, err := sink.EvalProblems(context.Background(), id[1])
	if err != nil || len(ps) != 3 || ps[0].Baseline != 1 || ps[1].Oracle != 0 || ps[2].Baseline != 0.5 || ps[0].Candidates != 4 {
		t.Errorf("per problem in ClickHouse: %+v %v", ps, err)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	total := 0
	for _, mt := range htmlBin.FindAllStringSubmatch(html, -1) {
		n, _ := strconv.Atoi(mt[1])
		total += n
	}
	if plotted := htmlProblem.FindAllStringSubmatch(html, -1); len(plotted) != 3 || total != 12 || len(htmlTableRow.FindAllString(html, -1)) != 1 {
		t.Errorf("report: %d problems plotted (want 3), %d candidates in the histogram (want 12), %d table rows (want 1)", len(plotted), total, len(htmlTableRow.FindAllString(html, -1)))
	}

	// The same evaluation again: the same id, the rows replaced, one row in the table.
	again, err := runCLI(t, chArgs...)
	if err != nil || !strings.Contains(again, "eval_id: "+id[1]) || strings.Count(again, id[1]) != 2 {
		t.Errorf("rerun: %v\n%s", err, again)
	}
	// Another model version on the same input: both rows, side by side.
	m2 := copyModel(t, m.Dir, "tiny-b")
	args2 := slices.Clone(chArgs)
	args2[slices.Index(args2, m.Dir)] = m2
	out2, err := runCLI(t, args2...)
	if err != nil {
		t.Fatalf("second version: %v\n%s", err, out2)
	}
	_, table, _ := strings.Cut(out2, "evaluations of this input in ClickHouse")
	if !strings.Contains(table, m.Manifest.Version) || !strings.Contains(table, "tiny-b") || !strings.Contains(table, id[1]) || strings.Count(table, "all problems") != 2 {
		t.Errorf("side-by-side table:\n%s", out2)
	}
	if b, _ := os.ReadFile(page); len(htmlTableRow.FindAllString(string(b), -1)) != 2 {
		t.Errorf("the report's table does not list both versions")
	}

	// --lookup-clickhouse: stored PASS verdicts for the second problem's (failing) programs are
	// answered from ClickHouse, so baseline and oracle move.
	ps2, err := producers.LoadProblems(problems)
	if err != nil {
		t.Fatal(err)
	}
	cands, _, err := producers.LoadSamples(samples, ps2, producers.SampleOptions{Model: "eval"})
	if err != nil {
		t.Fatal(err)
	}
	var stored []schemas.Verdict
	for _, c := range cands {
		if c.ProblemID != ps2[1].ProblemID {
			continue
		}
		sum := sha256.Sum256([]byte(c.Code))
		stored = append(stored, schemas.Verdict{CandidateID: c.CandidateID + "-earlier", ProblemID: c.ProblemID, Label: schemas.Pass,
			FailureKind: schemas.KindNone, TestSuiteHash: ps2[1].SuiteHash(), CodeSHA256: hex.EncodeToString(sum[:]), ExecutedAtMs: 1})
	}
	if err := sink.WriteVerdicts(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	out3, err := runCLI(t, append(slices.Clone(args), "--lookup-clickhouse")...)
	if err != nil {
		t.Fatalf("--lookup-clickhouse: %v\n%s", err, out3)
	}
	fig := evalFigures(t, out3)
	if !strings.Contains(out3, "from ClickHouse 4,") || !strings.HasPrefix(fig["baseline_pass@1"], "0.8333 ") || !strings.HasPrefix(fig["oracle_pass@4"], "1.0000 ") {
		t.Errorf("with 4 stored PASS verdicts: baseline (1+1+0.5)/3, oracle 1, want 4 answered from ClickHouse:\n%s", out3)
	}
}

// TestEvalFromExport: labels come from the export (nothing executes: the code would not even
// run), copies count in the draw, --split filters, --holdout deals the problems the trainer kept.
func TestEvalFromExport(t *testing.T) {
	m := rerankTestModel(t)
	export := evalExportFixture(t)
	args := []string{"eval", "--from-export", export, "--model", m.Dir, "--n", "4", "--seed", "3", "--bootstrap", "200", "--threads", "1", "--provider", "cpu"}
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("eval --from-export: %v\n%s", err, out)
	}
	fig := evalFigures(t, out)
	if !strings.Contains(out, "problems: 3 ") || !strings.Contains(out, "nothing executed") ||
		!strings.HasPrefix(fig["baseline_pass@1"], "0.4167 ") || !strings.HasPrefix(fig["oracle_pass@4"], "0.6667 ") {
		t.Errorf("want 3 problems, baseline (0.75+0+0.5)/3, oracle 2/3:\n%s", out)
	}
	out, err = runCLI(t, append(slices.Clone(args), "--split", "test")...)
	if fig := evalFigures(t, out); err != nil || !strings.Contains(out, "problems: 2 ") || !strings.Contains(out, "split test") ||
		!strings.HasPrefix(fig["baseline_pass@1"], "0.6250 ") || !strings.HasPrefix(fig["oracle_pass@4"], "1.0000 ") {
		t.Errorf("--split test: want a and c, baseline 0.625, oracle 1 (%v):\n%s", err, out)
	}

	// --holdout: the model was trained on the test split only, so the trainer dealt {a, c}, not
	// {a, b, c}. A seed where the two deals hold out different problems tells them apart.
	seed := uint64(0)
	for s := range uint64(100) {
		if f2, f3 := trainer.ValidationFold([]string{"a", "c"}, s, 2, 0), trainer.ValidationFold([]string{"a", "b", "c"}, s, 2, 0); f2["a"] != f3["a"] {
			seed = s
			break
		}
	}
	held := trainer.ValidationFold([]string{"a", "c"}, seed, 2, 0)
	if len(held) != 1 {
		t.Fatalf("fold 0 of 2 over {a, c}: %v", held)
	}
	want := "0.5000 " // c
	if held["a"] {
		want = "0.7500 "
	}
	editManifest(t, m.Dir, func(mf *model.Manifest) {
		mf.Training.Seed, mf.Training.Folds, mf.Training.ValFold = int64(seed), 2, 0
		mf.Dataset.Splits = []string{"test"}
	})
	out, err = runCLI(t, append(slices.Clone(args), "--holdout")...)
	if fig := evalFigures(t, out); err != nil || !strings.Contains(out, "held-out fold 0 of 2  problems: 1 ") || !strings.HasPrefix(fig["baseline_pass@1"], want) {
		t.Errorf("--holdout (seed %d, held %v): want baseline %s(%v)\n%s", seed, held, want, err, out)
	}

	for _, bad := range [][]string{{"--problems", "p.jsonl"}, {"--lookup-clickhouse"}} {
		if out, err := runCLI(t, append(slices.Clone(args), bad...)...); err == nil {
			t.Errorf("--from-export with %v accepted:\n%s", bad, out)
		}
	}
}

// TestEvalPool: two stored evaluations over disjoint problems pool to the figures of one evaluation
// of all of them; overlapping problems, an unknown id or a different n are refused.
func TestEvalPool(t *testing.T) {
	db := chtest.Config(t).Database
	m := rerankTestModel(t)
	export := evalExportFixture(t) // a: pass rate 0.75 (test); b: 0 (train); c: 0.5 (test)
	eval := func(extra ...string) (string, string) {
		t.Helper()
		args := append([]string{"eval", "--from-export", export, "--model", m.Dir, "--n", "4", "--seed", "3", "--bootstrap", "200",
			"--threads", "1", "--provider", "cpu", "--clickhouse", "--clickhouse-db", db}, extra...)
		out, err := runCLI(t, args...)
		id := evalIDLine.FindStringSubmatch(out)
		if err != nil || id == nil {
			t.Fatalf("eval %v: %v\n%s", extra, err, out)
		}
		return id[1], out
	}
	idTest, _ := eval("--split", "test")
	idTrain, _ := eval("--split", "train")
	idWhole, whole := eval()
	idWhole4, _ := eval("--seed", "4")
	pool := func(ids ...string) (string, error) {
		return runCLI(t, "eval", "--pool", strings.Join(ids, ","), "--bootstrap", "200", "--clickhouse-db", db)
	}
	out, err := pool(idTest, idTrain)
	if err != nil {
		t.Fatalf("pool: %v\n%s", err, out)
	}
	got, want := evalFigures(t, out), evalFigures(t, whole)
	for name := range want {
		if strings.Fields(got[name])[0] != strings.Fields(want[name])[0] {
			t.Errorf("%s pooled %s, one evaluation of all problems %s", name, got[name], want[name])
		}
	}
	if !strings.Contains(out, "problems: 3 ") || !strings.HasPrefix(got["baseline_pass@1"], "0.4167 ") {
		t.Errorf("pooled: want 3 problems, baseline 0.4167:\n%s", out)
	}
	if out, err := pool(idTest, idTest); err == nil || !strings.Contains(out+err.Error(), "given twice") {
		t.Errorf("an evaluation pooled with itself: %v\n%s", err, out)
	}
	if out, err := pool(idTest, idWhole); err == nil || !strings.Contains(out+err.Error(), "whole draws") {
		t.Errorf("overlapping evaluations pooled: %v\n%s", err, out)
	}
	// Two draws of the same problems: each problem averaged over its draws, bootstrapped by problem.
	out, err = pool(idWhole, idWhole4)
	if err != nil || !strings.Contains(out, "problems: 3  draws per problem: 2 ") || !strings.HasPrefix(evalFigures(t, out)["baseline_pass@1"], "0.4167 ") {
		t.Errorf("two draws pooled: %v\n%s", err, out)
	}
	if out, err := pool(idTest, "0123456789abcdef"); err == nil || !strings.Contains(out+err.Error(), "no stored evaluation") {
		t.Errorf("unknown id pooled: %v\n%s", err, out)
	}
	idN2, _ := eval("--split", "train", "--n", "2")
	if out, err := pool(idTest, idN2); err == nil || !strings.Contains(out+err.Error(), "same --n") {
		t.Errorf("different n pooled: %v\n%s", err, out)
	}
}

// evalExportFixture writes a small export: problem a has 3 copies of a PASS + 1 FAIL = 4 candidates,
// pass rate 0.75 (without the copies: 2, too few for n = 4); b has 4 FAIL (split train); c has 2
// copies of a PASS + 2 copies of a FAIL, pass rate 0.5. The code is not Python: nothing may run it.
func evalExportFixture(t *testing.T) string {
	t.Helper()
	rec := func(pid, split, label string, i, copies int) trainer.ExportRecord {
		return trainer.ExportRecord{ProblemID: pid, Split: split, Prompt: "def f(x):\n", Code: fmt.Sprintf("not python %s %d", pid, i), Label: label,
			Model: "gen", Benchmark: "bench", CandidateID: fmt.Sprintf("%s#%d", pid, i), SampleIndex: int32(i), Copies: copies}
	}
	return testkit.WriteJSONL(t, "export.jsonl", []trainer.ExportRecord{
		rec("a", "test", schemas.Pass, 0, 3), rec("a", "test", schemas.Fail, 1, 0),
		rec("b", "train", schemas.Fail, 0, 0), rec("b", "train", schemas.Fail, 1, 0), rec("b", "train", schemas.Fail, 2, 0), rec("b", "train", schemas.Fail, 3, 0),
		rec("c", "test", schemas.Pass, 0, 2), rec("c", "test", schemas.Fail, 1, 2),
	})
}

// evalTestsFile writes a CodeT test-case file for evalSamples' problems: for the first, asserts its
// canonical solution passes; for the third, a right assert (twice) and a wrong one the "return
// None" samples pass; none for the second (a problem without generated tests).
func evalTestsFile(t *testing.T, problems string) string {
	t.Helper()
	ps, err := producers.LoadProblems(problems)
	if err != nil {
		t.Fatal(err)
	}
	lines := []map[string]any{
		{"prompt": testgen.Prompt(ps[0].Prompt, ps[0].EntryPoint), "samples": []string{
			ps[0].EntryPoint + "([1.0, 2.0, 3.0], 0.5) == False\n",
			ps[0].EntryPoint + "([1.0, 2.8, 3.0], 0.3) == True\n",
		}},
		{"prompt": testgen.Prompt(ps[2].Prompt, ps[2].EntryPoint), "samples": []string{
			ps[2].EntryPoint + "(3.5) == 0.5\n",
			ps[2].EntryPoint + "(3.5) == 0.5\n",
			ps[2].EntryPoint + "(3.5) == None\n",
		}},
	}
	path := filepath.Join(t.TempDir(), "tests.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

var methodLine = regexp.MustCompile(`(?m)^([a-z_]+(?:@\d+)?): (-?[0-9.]+) \[(-?[0-9.]+), (-?[0-9.]+)\]$`)

// TestEvalWithGeneratedTests: --tests runs every sample in dual execution (a real python3 sandbox)
// and prints every method on the same draw. CodeT picks the passing group of the third problem
// (its right assert has frequency 2, the wrong one 1) and falls back to random on the others, so
// codet_pass@1 = (1 + 0 + 1)/3; --energy-model with the same model gives the verifier's figure.
func TestEvalWithGeneratedTests(t *testing.T) {
	m := rerankTestModel(t)
	problems, samples := evalSamples(t)
	tests := evalTestsFile(t, problems)
	args := []string{"eval", "--problems", problems, "--samples", samples, "--tests", tests, "--model", m.Dir, "--energy-model", m.Dir,
		"--n", "4", "--seed", "3", "--bootstrap", "200", "--threads", "1", "--provider", "cpu"}
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("eval --tests: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, mt := range methodLine.FindAllStringSubmatch(out, -1) {
		got[mt[1]] = mt[2]
		v, _ := strconv.ParseFloat(mt[2], 64)
		lo, _ := strconv.ParseFloat(mt[3], 64)
		hi, _ := strconv.ParseFloat(mt[4], 64)
		if lo > v || hi < v {
			t.Errorf("%s: interval [%s, %s] does not hold %s", mt[1], mt[3], mt[4], mt[2])
		}
	}
	for _, name := range []string{"baseline_pass@1", "oracle_pass@4", "codet_pass@1", "energy_pass@1", "verifier_pass@1", "verifier_minus_baseline", "verifier_minus_codet"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s line", name)
		}
	}
	if got["baseline_pass@1"] != "0.5000" || got["oracle_pass@4"] != "0.6667" || got["codet_pass@1"] != "0.6667" {
		t.Errorf("baseline %s (want 0.5000), oracle %s (want 0.6667), codet %s (want 0.6667)", got["baseline_pass@1"], got["oracle_pass@4"], got["codet_pass@1"])
	}
	if got["energy_pass@1"] != got["verifier_pass@1"] {
		t.Errorf("the same model as energy and verifier: %s vs %s", got["energy_pass@1"], got["verifier_pass@1"])
	}
	if !strings.Contains(out, "generated tests: 2 of 3 problems have generated asserts") {
		t.Errorf("no generated tests summary:\n%s", out)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", out)
	}
	for _, bad := range [][]string{{"--lookup-clickhouse"}} {
		if out, err := runCLI(t, append(slices.Clone(args), bad...)...); err == nil {
			t.Errorf("--tests with %v accepted:\n%s", bad, out)
		}
	}

	// ClickHouse computes every method's figures from the stored candidates: the same as in process,
	// and the pool of the one evaluation prints them all again.
	t.Run("clickhouse", func(t *testing.T) {
		db := chtest.Config(t).Database
		chOut, err := runCLI(t, append(slices.Clone(args), "--clickhouse", "--clickhouse-db", db)...)
		if err != nil {
			t.Fatalf("eval --tests --clickhouse: %v\n%s", err, chOut)
		}
		figures := func(out string) map[string]string {
			got := map[string]string{}
			for _, mt := range methodLine.FindAllStringSubmatch(out, -1) {
				got[mt[1]] = mt[2]
			}
			return got
		}
		if sqlFig := figures(chOut); !maps.Equal(sqlFig, got) {
			t.Errorf("figures from SQL %v, in process %v", sqlFig, got)
		}
		_, table, _ := strings.Cut(chOut, "evaluations of this input in ClickHouse")
		if !strings.Contains(table, "codet_pass@1") || !strings.Contains(table, got["codet_pass@1"]+" [") {
			t.Errorf("the stored evaluations' table lacks CodeT:\n%s", chOut)
		}
		id := evalIDLine.FindStringSubmatch(chOut)
		if id == nil {
			t.Fatalf("no eval_id line:\n%s", chOut)
		}
		pooled, err := runCLI(t, "eval", "--pool", id[1], "--seed", "3", "--bootstrap", "200", "--clickhouse-db", db)
		if err != nil {
			t.Fatalf("pool: %v\n%s", err, pooled)
		}
		if p := figures(pooled); p["codet_pass@1"] != got["codet_pass@1"] || p["energy_pass@1"] != got["energy_pass@1"] || p["verifier_minus_codet"] != got["verifier_minus_codet"] {
			t.Errorf("pooled %v, evaluated %v", p, got)
		}
	})
}
