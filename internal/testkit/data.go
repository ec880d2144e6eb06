package testkit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// DataDir is the benchmark data: $CODEVERIFY_DATA_DIR, else shared/data beside the checkout. The
// test fails when it is missing.
func DataDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("CODEVERIFY_DATA_DIR")
	if d == "" {
		d = filepath.Join(moduleRoot(t), "..", "shared", "data")
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("data dir %s missing (set CODEVERIFY_DATA_DIR): %v", d, err)
	}
	return d
}

// moduleRoot is the directory holding go.mod, found upwards from the test's working directory
// (its package's directory).
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// HumanEvalSubset writes the first n real HumanEval problems to a file and returns it with the
// problems' raw records.
func HumanEvalSubset(t testing.TB, n int) (string, []map[string]any) {
	t.Helper()
	f, err := os.Open(filepath.Join(DataDir(t), "samples", "codet_humaneval_codegen16b", "HumanEval_for_code_generation.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "problems.jsonl")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(recs) < n {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		if _, err := out.Write(append(sc.Bytes(), '\n')); err != nil {
			t.Fatal(err)
		}
	}
	return path, recs
}

// WriteSamples writes eval-format samples ({"task_id", "solution"}, the whole program) to a file
// and returns its path.
func WriteSamples(t testing.TB, lines []map[string]string) string {
	t.Helper()
	return WriteJSONL(t, "samples.jsonl", lines)
}

// WriteJSONL writes recs, one JSON object a line, to a file called name in a temporary directory
// and returns its path.
func WriteJSONL[T any](t testing.TB, name string, recs []T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	return path
}
