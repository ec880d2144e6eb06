package producers

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/schemas"
)

const (
	codetDir       = "samples/codet_humaneval_codegen16b"
	codetProblems  = "HumanEval_for_code_generation.jsonl"
	codetTestCases = "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.dev100.jsonl"
)

func loadCodeTTests(t *testing.T) (string, []schemas.TestCase) {
	t.Helper()
	if _, err := os.Stat(testgen.DefaultPython); err != nil {
		t.Skipf("no %s: %v", testgen.DefaultPython, err)
	}
	d := filepath.Join(dataDir(t), codetDir)
	ps, err := LoadProblems(filepath.Join(d, codetProblems))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d, codetTestCases)
	tcs, err := LoadCodeTTests(context.Background(), path, ps, "codegen-16B-mono", testgen.Python{})
	if err != nil {
		t.Fatal(err)
	}
	return path, tcs
}

func TestLoadCodeTTestsMapsEveryLine(t *testing.T) {
	_, tcs := loadCodeTTests(t)
	if len(tcs) != 100 {
		t.Fatalf("%d test sets, want 100 (one per line)", len(tcs))
	}
	byID := map[string]schemas.TestCase{}
	distinct, occurrences, empty := 0, 0, 0
	for _, tc := range tcs {
		if err := tc.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, dup := byID[tc.ProblemID]; dup {
			t.Fatalf("%s mapped twice", tc.ProblemID)
		}
		byID[tc.ProblemID] = tc
		if len(tc.Raw) != 100 || tc.Source != "replay" || tc.Benchmark != "humaneval" ||
			tc.TestSetID != schemas.TestSetID(tc.ProblemID, "codegen-16B-mono", tc.Raw) {
			t.Fatalf("%s: %d raw, source %q, benchmark %q, id %s", tc.ProblemID, len(tc.Raw), tc.Source, tc.Benchmark, tc.TestSetID)
		}
		distinct += len(tc.Asserts)
		for _, a := range tc.Asserts {
			occurrences += int(a.Frequency)
			if !strings.HasPrefix(a.Code, "assert") {
				t.Fatalf("%s: %q", tc.ProblemID, a.Code)
			}
		}
		if len(tc.Asserts) == 0 {
			empty++
		}
	}
	t.Logf("100 lines → %d distinct asserts, %d occurrences, %d problems without any", distinct, occurrences, empty)
	if distinct != 4901 || occurrences != 5384 {
		t.Errorf("%d distinct asserts, %d occurrences; want 4901, 5384", distinct, occurrences)
	}
	spot := map[string]schemas.GeneratedAssert{
		"HumanEval/10":  {Code: "assert make_palindrome('') == ''", Frequency: 2},
		"HumanEval/100": {Code: "assert \tmake_a_pile(1) == [1]", Frequency: 2},
	}
	for id, want := range spot {
		tc, ok := byID[id]
		if !ok || len(tc.Asserts) == 0 || tc.Asserts[0] != want {
			t.Errorf("%s: first assert %+v, want %+v", id, tc.Asserts[:min(1, len(tc.Asserts))], want)
		}
	}
}

// codetReference is CodeT's extraction (postprocess.py test_case_extract, then the first five per
// sample counted as agreement.py does), written in Python for the comparison below.
const codetReference = `import json, sys
STOPS = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
def cut(c):
    for s in STOPS:
        if s in c:
            c = c.split(s)[0]
    return c.strip()
def compiles(c):
    if len(c.strip()) < 1 or "assert" not in c:
        return False
    try:
        compile("try:\n    " + c.replace("\n", "\n    ") + "\nexcept:\n    pass\n", "", "exec")
        return True
    except Exception:
        return False
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    ep = r["prompt"].rsplit("# check the correctness of ", 1)[1].split("\n")[0]
    counts = {}
    for s in r["samples"]:
        parts = ["assert " + p for p in ("assert " + s).split("assert ") if ep.strip() in p and len(p.strip()) > 0]
        ok = [c for c in (cut(p.strip()) for p in parts) if compiles(c)]
        for c in ok[:5]:
            counts[c] = counts.get(c, 0) + 1
    out.append([[c, n] for c, n in counts.items()])
json.dump(out, sys.stdout)
`

func TestLoadCodeTTestsMatchesCodeT(t *testing.T) {
	path, tcs := loadCodeTTests(t)
	out, err := exec.Command(testgen.DefaultPython, "-I", "-S", "-W", "ignore", "-c", codetReference, path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want [][][2]any
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(tcs) {
		t.Fatalf("reference has %d lines, loader %d", len(want), len(tcs))
	}
	for i, tc := range tcs {
		if len(tc.Asserts) != len(want[i]) {
			t.Errorf("%s: %d asserts, CodeT %d", tc.ProblemID, len(tc.Asserts), len(want[i]))
			continue
		}
		for j, a := range tc.Asserts {
			if w := want[i][j]; a.Code != w[0].(string) || float64(a.Frequency) != w[1].(float64) {
				t.Errorf("%s assert %d: %d×%q, CodeT %v×%q", tc.ProblemID, j, a.Frequency, a.Code, w[1], w[0])
			}
		}
	}
}

func TestLoadCodeTTestsRejectsUnmatchedLines(t *testing.T) {
	p := schemas.Problem{ProblemID: "HumanEval/x", Benchmark: "humaneval", Prompt: "def f(x):\n    \"\"\"Doc.\"\"\"\n", EntryPoint: "f"}
	path := filepath.Join(t.TempDir(), "tests.jsonl")
	lines := []map[string]any{
		{"prompt": testgen.Prompt(p.Prompt, "f"), "samples": []string{"f(1) == 1\n"}},
		{"prompt": "def g(y):\n    pass\n\n# check the correctness of g\nassert ", "samples": []string{}},
		{"prompt": "def h(y):\n    pass\n\n# check the correctness of h\nassert ", "samples": []string{}},
	}
	var b strings.Builder
	for _, l := range lines {
		j, _ := json.Marshal(l)
		b.Write(append(j, '\n'))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCodeTTests(context.Background(), path, []schemas.Problem{p}, "m", testgen.Python{})
	if err == nil || !strings.Contains(err.Error(), "2 test-case lines match no problem") || !strings.Contains(err.Error(), `line 2: "def g(y):`) {
		t.Fatalf("err = %v", err)
	}
	tcs, err := LoadCodeTTests(context.Background(), path, []schemas.Problem{p,
		{ProblemID: "g", Prompt: "def g(y):\n", EntryPoint: "g"}, {ProblemID: "h", Prompt: "def h(y):", EntryPoint: "h"}}, "m", testgen.Python{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tcs) != 3 || len(tcs[0].Asserts) != 1 || tcs[0].Asserts[0].Code != "assert f(1) == 1" || len(tcs[1].Asserts) != 0 {
		t.Fatalf("%+v", tcs)
	}
}
