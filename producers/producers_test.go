package producers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

func dataDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("CODEVERIFY_DATA_DIR")
	if d == "" {
		d = filepath.Join("..", "..", "shared", "data")
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("data dir %s missing (set CODEVERIFY_DATA_DIR): %v", d, err)
	}
	return d
}

func splitCounts(ps []schemas.Problem) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		m[p.Split]++
	}
	return m
}

func TestLoadMBPPSplits(t *testing.T) {
	d := dataDir(t)
	full, err := LoadProblems(filepath.Join(d, "mbpp", "mbpp.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"prompt": 10, "test": 500, "validation": 90, "train": 374}
	if got := splitCounts(full); len(full) != 974 || !equalCounts(got, want) {
		t.Fatalf("mbpp: %d problems, splits %v, want 974 %v", len(full), got, want)
	}
	san, err := LoadProblems(filepath.Join(d, "mbpp", "sanitized-mbpp.json"))
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"prompt": 7, "test": 257, "validation": 43, "train": 120}
	if got := splitCounts(san); len(san) != 427 || !equalCounts(got, want) {
		t.Fatalf("sanitized: %d problems, splits %v, want 427 %v", len(san), got, want)
	}
	for _, p := range append(full, san...) {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if p.EntryPoint == "" {
			t.Errorf("%s: no entry point found in %q", p.ProblemID, p.Tests[0])
		}
	}
	var p601 schemas.Problem
	for _, p := range full {
		if p.ProblemID == "mbpp/601" {
			p601 = p
		}
	}
	if p601.EntryPoint != "max_chain_length" || p601.Split != "train" || len(p601.Tests) != 3 {
		t.Fatalf("mbpp/601: %+v", p601)
	}
}

func TestLoadHumanEvalAndCodeTSamples(t *testing.T) {
	d := filepath.Join(dataDir(t), "samples", "codet_humaneval_codegen16b")
	he, err := LoadProblems(filepath.Join(d, "HumanEval_for_code_generation.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(he) != 164 || he[0].ProblemID != "HumanEval/0" || he[0].EntryPoint != "has_close_elements" || he[0].TestStyle != schemas.StyleCheck {
		t.Fatalf("humaneval: %d, first %+v", len(he), he[0])
	}
	cands, unmatched, err := LoadSamples(filepath.Join(d, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl"), he, SampleOptions{Model: "codegen-mono-16b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 10000 || len(unmatched) != 0 {
		t.Fatalf("%d candidates, %d unmatched, want 10000 and 0", len(cands), len(unmatched))
	}
	prompts := map[string]string{}
	for _, p := range he {
		prompts[p.ProblemID] = p.Prompt
	}
	ids := map[string]bool{}
	problems := map[string]bool{}
	cut := 0
	for _, c := range cands {
		if ids[c.CandidateID] {
			t.Fatalf("duplicate candidate id %s", c.CandidateID)
		}
		ids[c.CandidateID] = true
		problems[c.ProblemID] = true
		if !strings.HasPrefix(c.Code, prompts[c.ProblemID]) || c.Split != "test" || c.Benchmark != "humaneval" {
			t.Fatalf("candidate %s is not prompt + completion of a HumanEval test problem", c.CandidateID)
		}
		if Truncate(c.Completion, CodeTStops()) != c.Completion {
			cut++
		}
	}
	if len(problems) != 100 || cut == 0 {
		t.Fatalf("%d problems, %d completions cut", len(problems), cut)
	}
	// Replaying the same file again yields the same ids (idempotent downstream).
	again, _, _ := LoadSamples(filepath.Join(d, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl"), he, SampleOptions{Model: "codegen-mono-16b"})
	if again[1234].CandidateID != cands[1234].CandidateID {
		t.Fatal("candidate ids are not stable")
	}
	t.Logf("%d of 10000 completions cut at a stop sequence", cut)
}

func TestTruncate(t *testing.T) {
	cases := map[string]string{
		"    return 1\n\ndef other():\n    pass":                    "    return 1\n",
		"    return 1\n# comment":                                   "    return 1",
		"    x = 1\n    # inner comment\n    return x\nif __name__": "    x = 1\n    # inner comment\n    return x",
		"    return 2":                        "    return 2",
		"    return 3\nprint(f(1))\nclass A:": "    return 3",
	}
	for in, want := range cases {
		if got := Truncate(in, CodeTStops()); got != want {
			t.Errorf("Truncate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadEvalSamples(t *testing.T) {
	dir := t.TempDir()
	he := []schemas.Problem{{ProblemID: "HumanEval/0", Prompt: "def f(x):\n", EntryPoint: "f", Tests: []string{"def check(c): pass"}, TestStyle: schemas.StyleCheck}}
	mb := schemas.Problem{ProblemID: "mbpp/601", Prompt: "Write f", EntryPoint: "f", Tests: []string{"assert f(1) == 1"}, TestStyle: schemas.StyleAsserts}
	f := filepath.Join(dir, "s.jsonl")
	os.WriteFile(f, []byte(`{"task_id": "HumanEval/0", "completion": "    return x\n"}
{"task_id": "HumanEval/0", "solution": "def f(x):\n    return 1\n"}
{"task_id": 601, "completion": "def f(x): return x"}
{"task_id": "Mbpp/601", "solution": "def f(x): return 2"}
{"task_id": "HumanEval/99", "completion": "x"}
`), 0o644)
	cands, unmatched, err := LoadSamples(f, append(he, mb), SampleOptions{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 4 || len(unmatched) != 1 || unmatched[0].Line != 5 {
		t.Fatalf("%d candidates, unmatched %v", len(cands), unmatched)
	}
	if cands[0].Code != "def f(x):\n    return x\n" || cands[1].Code != "def f(x):\n    return 1\n" || cands[1].SampleIndex != 1 {
		t.Fatalf("humaneval programs: %q %q", cands[0].Code, cands[1].Code)
	}
	if cands[2].Code != "def f(x): return x" || cands[2].SampleIndex != 0 || cands[3].SampleIndex != 1 {
		t.Fatalf("mbpp programs: %+v", cands[2:])
	}
	os.WriteFile(f, []byte(`{"foo": 1}`+"\n"), 0o644)
	if _, _, err := LoadSamples(f, he, SampleOptions{}); err == nil || !strings.Contains(err.Error(), "unknown sample format") {
		t.Fatalf("want format error, got %v", err)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
