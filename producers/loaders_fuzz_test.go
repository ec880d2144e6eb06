package producers

import (
	"os"
	"path/filepath"
	"testing"
)

// The loaders read files people edit by hand: whatever the bytes, they return problems or an
// error, never panic; every problem loaded is executable, and every candidate belongs to one of them.
func FuzzLoadProblems(f *testing.F) {
	f.Add([]byte(`{"task_id": "HumanEval/0", "prompt": "def f(x):\n", "entry_point": "f", "canonical_solution": "    return x\n", "test": "def check(candidate):\n    assert candidate(1) == 1\n"}`+"\n"), false)
	f.Add([]byte(`{"task_id": 11, "text": "t", "code": "def f(): pass", "test_list": ["assert f() is None"], "test_setup_code": "", "challenge_test_list": []}`+"\n"), false)
	f.Add([]byte(`[{"task_id": 2, "prompt": "p", "code": "def f(): pass", "test_imports": [], "test_list": ["assert f() is None"]}]`), true)
	f.Add([]byte("{}\n"), false)
	f.Add([]byte("\n\nnot json"), false)
	f.Add([]byte(`{"entry_point": 5}`), false)
	f.Fuzz(func(t *testing.T, data []byte, jsonArray bool) {
		name := "problems.jsonl"
		if jsonArray {
			name = "problems.json"
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ps, err := LoadProblems(path)
		if err != nil {
			return
		}
		for _, p := range ps {
			if err := p.Validate(); err != nil {
				t.Fatalf("loaded an invalid problem %+v: %v", p, err)
			}
		}
	})
}

func FuzzLoadSamples(f *testing.F) {
	f.Add([]byte(`{"prompt": "def f(x):\n", "samples": ["    return x\n", "    return 1\ndef g(): pass"]}` + "\n"))
	f.Add([]byte(`{"task_id": "HumanEval/0", "completion": "    return x\n"}` + "\n" + `{"task_id": "HumanEval/0", "solution": "def f(x): return x"}` + "\n"))
	f.Add([]byte(`{"task_id": "HumanEval/9", "completion": "x"}` + "\n"))
	f.Add([]byte(`{"samples": 3}`))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		pp := filepath.Join(dir, "problems.jsonl")
		if err := os.WriteFile(pp, []byte(`{"task_id": "HumanEval/0", "prompt": "def f(x):\n", "entry_point": "f", "canonical_solution": "    return x\n", "test": "def check(candidate):\n    assert candidate(1) == 1\n"}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ps, err := LoadProblems(pp)
		if err != nil || len(ps) != 1 {
			t.Fatalf("seed problem: %v", err)
		}
		sp := filepath.Join(dir, "samples.jsonl")
		if err := os.WriteFile(sp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cands, _, err := LoadSamples(sp, ps, SampleOptions{Model: "m"})
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range cands {
			if c.ProblemID != ps[0].ProblemID {
				t.Fatalf("candidate of unknown problem %q", c.ProblemID)
			}
			if seen[c.CandidateID] {
				t.Fatalf("candidate id %s twice", c.CandidateID)
			}
			seen[c.CandidateID] = true
		}
	})
}
