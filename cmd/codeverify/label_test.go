package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/evaluation"
	"github.com/codeverify/codeverify/internal/testkit"
)

// runCLI runs the real command tree in-process.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	old := os.Stdout
	r, w, _ := os.Pipe()
	os.Stdout = w
	err := root.Execute()
	w.Close()
	os.Stdout = old
	var captured bytes.Buffer
	captured.ReadFrom(r)
	return captured.String() + out.String(), err
}

func TestLabelCommand(t *testing.T) {
	problemsPath, recs := testkit.HumanEvalSubset(t, 3)
	var samples []map[string]string
	for _, r := range recs {
		id := r["task_id"].(string)
		samples = append(samples,
			map[string]string{"task_id": id, "completion": r["canonical_solution"].(string)}, // appended to the prompt
			map[string]string{"task_id": id, "completion": "    raise SystemExit(0)\n"},
		)
	}
	samplesPath := testkit.WriteSamples(t, samples)
	outPath := filepath.Join(t.TempDir(), "labels.jsonl")
	stdout, err := runCLI(t, "label", "--problems", problemsPath, "--samples", samplesPath, "--out", outPath)
	if err != nil {
		t.Fatalf("label: %v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "pass@1: 0.5000") || !strings.Contains(stdout, "problems: 3") {
		t.Fatalf("summary:\n%s", stdout)
	}
	f, err := os.Open(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for sc.Scan() {
		var l evaluation.LabelLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		wantLabel, wantIdx := "PASS", int32(i%2)
		if i%2 == 1 {
			wantLabel = "FAIL"
		}
		if l.TaskID != samples[i]["task_id"] || l.SampleIndex != wantIdx || l.Label != wantLabel || l.RuntimeMs <= 0 {
			t.Errorf("line %d: %+v, want %s #%d %s", i, l, samples[i]["task_id"], wantIdx, wantLabel)
		}
		i++
	}
	if i != len(samples) {
		t.Fatalf("%d output lines for %d samples", i, len(samples))
	}

	// A sample for an unknown task gets no verdict: non-zero exit status, and it says why.
	samples = append(samples, map[string]string{"task_id": "HumanEval/999", "completion": "x"})
	_, err = runCLI(t, "label", "--problems", problemsPath, "--samples", testkit.WriteSamples(t, samples), "--out", outPath)
	if err == nil || !strings.Contains(err.Error(), "matched no problem") {
		t.Fatalf("want an error for the unmatched sample, got %v", err)
	}
}
