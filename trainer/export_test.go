package trainer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

// An export read back is the same dataset (same content hash, same copies), duplicates included:
// the export keeps one line per (problem, code) with its number of copies.
func TestExportRoundTrip(t *testing.T) {
	var ps []schemas.Problem
	var cs []schemas.Candidate
	var vs []schemas.Verdict
	for p := range 7 {
		pid := fmt.Sprintf("humaneval/HumanEval/%d", p)
		ps = append(ps, schemas.Problem{ProblemID: pid, Benchmark: "humaneval", Split: "test", Prompt: "def f():\n"})
		for i := range 6 {
			id := schemas.CandidateID(pid, i)
			code, label := fmt.Sprintf("    return %d\n", i%3), schemas.Fail // samples 0/3, 1/4, 2/5 are duplicates
			if i%3 == 0 {
				label = schemas.Pass
			}
			cs = append(cs, schemas.Candidate{CandidateID: id, ProblemID: pid, Benchmark: "humaneval", Split: "test", SampleIndex: int32(i), Code: code, Model: "m"})
			vs = append(vs, schemas.Verdict{CandidateID: id, ProblemID: pid, Label: label, ExecutedAtMs: 1})
		}
	}
	d := DatasetSpec{K: 2, Folds: 3, Seed: 7}
	want, _, err := BuildReplayed(&Replayed{Problems: ps, Candidates: cs, Verdicts: vs}, d, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want.Stats.DuplicatesDropped != 21 {
		t.Fatalf("setup: %d duplicates dropped, want 21", want.Stats.DuplicatesDropped)
	}
	path := filepath.Join(t.TempDir(), "export.jsonl")
	var log strings.Builder
	if err := WriteExportFile(path, want, io.Discard, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), fmt.Sprintf("wrote %d examples to %s", len(want.Examples), path)) {
		t.Errorf("log: %q", log.String())
	}
	rep, err := ReadExport(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := BuildReplayed(rep, d, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != want.Hash || got.Stats != want.Stats {
		t.Errorf("from the export: hash %.12s stats %+v; want %.12s %+v", got.Hash, got.Stats, want.Hash, want.Stats)
	}
	var stdout strings.Builder
	if err := WriteExportFile("-", want, &stdout, &log); err != nil || strings.Count(stdout.String(), "\n") != len(want.Examples) {
		t.Errorf("to stdout: %d lines for %d examples (%v)", strings.Count(stdout.String(), "\n"), len(want.Examples), err)
	}
	if err := os.WriteFile(path, []byte(`{"problem_id":"p","label":"MAYBE"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadExport(path); err == nil || !strings.Contains(err.Error(), ":1: not an export record") {
		t.Errorf("a bad line: %v", err)
	}
}
