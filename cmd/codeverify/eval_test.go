package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/trainer"
)

// evalSamples gives three real HumanEval problems four samples each with known labels: the first
// all PASS (the canonical solution), the second all FAIL, the third two of each. So baseline pass@1
// is (1 + 0 + 0.5)/3, oracle 2/3, and the verifier picks a PASS on the first, a FAIL on the second
// and either on the third.
func evalSamples(t *testing.T) (problems, samples string) {
	problems, recs := humanEvalSubset(t, 3)
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
	return problems, writeSamples(t, lines)
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
	b, err := os.ReadFile(filepath.Join(m.Dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mf trainer.Manifest
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatal(err)
	}
	mf.Training.Seed, mf.Training.Folds, mf.Training.ValFold = 1, 3, 0
	b, _ = json.Marshal(mf)
	if err := os.WriteFile(filepath.Join(m.Dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, append(args, "--holdout")...)
	if err != nil || !strings.Contains(out, "held-out fold 0 of 3  problems: 1 ") {
		t.Errorf("--holdout: %v\n%s", err, out)
	}
}

// The held-out problems eval recomputes must be the trainer's validation fold, or --holdout would
// report figures on problems the model was trained on.
func TestValidationFoldMatchesTrainer(t *testing.T) {
	var ps []schemas.Problem
	var cs []schemas.Candidate
	var vs []schemas.Verdict
	var ids []string
	for p := range 23 {
		pid := fmt.Sprintf("humaneval/HumanEval/%d", p)
		ids = append(ids, pid)
		ps = append(ps, schemas.Problem{ProblemID: pid, Benchmark: "humaneval", Split: "test", Prompt: pid})
		for i := range 2 {
			id := schemas.CandidateID(pid, i)
			label := schemas.Fail
			if i == 0 {
				label = schemas.Pass
			}
			cs = append(cs, schemas.Candidate{CandidateID: id, ProblemID: pid, Benchmark: "humaneval", Split: "test", SampleIndex: int32(i), Code: fmt.Sprintf("x = %d\n", i), Model: "m"})
			vs = append(vs, schemas.Verdict{CandidateID: id, ProblemID: pid, Label: label, ExecutedAtMs: 1})
		}
	}
	for _, seed := range []uint64{1, 2, 99} {
		ds, err := trainer.Build(ps, cs, vs, trainer.BuildOptions{K: 1, Seed: seed, Folds: 5})
		if err != nil {
			t.Fatal(err)
		}
		for fold := range 5 {
			held := validationFold(ids, seed, 5, fold)
			for _, e := range ds.Examples {
				if held[e.ProblemID] != (e.Fold == fold) {
					t.Fatalf("seed %d fold %d: %s is in trainer fold %d, eval says held-out=%v", seed, fold, e.ProblemID, e.Fold, held[e.ProblemID])
				}
			}
		}
	}
}

// Without ONNX Runtime the demo's Stage 4 table is skipped with a message saying why, not an error.
func TestDemoEvaluateSkipsWithoutORT(t *testing.T) {
	t.Setenv(serving.LibraryEnv, filepath.Join(t.TempDir(), "no-libonnxruntime.so"))
	a := &app{cfg: defaultConfig(), log: slog.Default()}
	var out strings.Builder
	if err := a.demoEvaluate(context.Background(), t.TempDir(), "p.jsonl", "s.jsonl", &out); err != nil {
		t.Fatalf("want a skip, got %v", err)
	}
	if !strings.Contains(out.String(), "Stage 4 table skipped: ONNX Runtime is not available") {
		t.Errorf("output: %q", out.String())
	}
}
