package synthetic

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
)

func mbppTrain(t *testing.T) []schemas.Problem {
	t.Helper()
	d := os.Getenv("CODEVERIFY_DATA_DIR")
	if d == "" {
		d = filepath.Join("..", "..", "..", "shared", "data")
	}
	ps, err := producers.LoadMBPP(filepath.Join(d, "mbpp", "mbpp.jsonl"))
	if err != nil {
		t.Fatalf("MBPP data (set CODEVERIFY_DATA_DIR): %v", err)
	}
	return producers.FilterSplit(ps, "train")
}

func TestMutationsOnHandWrittenCode(t *testing.T) {
	code := "def add(a, b):\n    if a <= 10:\n        return a + b\n    return b - 2\n"
	for _, kind := range []string{OperatorSwap, OffByOne, WrongReturn, DropLine, SwapArgs} {
		seen := map[string]bool{}
		for i := range 20 {
			out, ok := apply(kind, code, rngFor(1, "x", i))
			if !ok || out == code {
				t.Fatalf("%s: no mutation of\n%s", kind, code)
			}
			seen[out] = true
		}
		if len(seen) < 2 && kind != SwapArgs { // the only swap site here is (a, b)
			t.Errorf("%s: always the same mutation", kind)
		}
	}
	if out, _ := swapOperator("x = '<' + s  # a < b\n", rngFor(1, "y", 0)); out != "x = '<' - s  # a < b\n" {
		t.Errorf("operator swap touched a string or comment: %q", out)
	}
	if _, ok := offByOne("def f(x1):\n    return x1.real\n", rngFor(1, "z", 0)); ok {
		t.Error("off-by-one changed a digit inside an identifier")
	}
}

func TestCandidatesAreDeterministicAndMarked(t *testing.T) {
	train := mbppTrain(t)[:20]
	prompts := producers.BuildPrompts(train, producers.PromptOptions{Model: ModelName, Seed: 1})
	kinds := map[string]int{}
	for i, p := range prompts {
		a, b := Candidates(p, train[i]), Candidates(p, train[i])
		if len(a) != 100 {
			t.Fatalf("%d candidates, want 100", len(a))
		}
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("not deterministic: %s sample %d", p.ProblemID, j)
			}
			if a[j].Model != ModelName || a[j].Source != SourceName || a[j].CandidateID != schemas.CandidateID(p.RequestID, j) {
				t.Fatalf("candidate not marked synthetic or id unstable: %+v", a[j])
			}
			kinds[strings.TrimPrefix(strings.SplitN(a[j].Completion, "\n", 2)[0], "# "+ModelName+": ")]++
		}
	}
	for _, k := range []string{Identity, OperatorSwap, OffByOne, WrongReturn, DropLine, SwapArgs} {
		if kinds[k] < 40 {
			t.Errorf("kind %s drawn %d times in 2000: %v", k, kinds[k], kinds)
		}
	}
	other := Candidates(schemas.Prompt{RequestID: "r", N: 100, Seed: 2}, train[0])
	same := 0
	for j, c := range Candidates(schemas.Prompt{RequestID: "r", N: 100, Seed: 1}, train[0]) {
		if c.Code == other[j].Code {
			same++
		}
	}
	if same == 100 {
		t.Error("the seed does not change the mutations")
	}
}

// TestPassFailMixWithTheRealExecutor labels a sample of synthetic MBPP train candidates in the
// sandbox: the mix must be realistic (neither nearly all PASS nor nearly all FAIL), and every
// unmodified reference must PASS.
func TestPassFailMixWithTheRealExecutor(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python")
	}
	train := mbppTrain(t)
	ex, err := executor.New(executor.Config{Python: "/usr/bin/python3"})
	if err != nil {
		t.Fatal(err)
	}
	var cands []schemas.Candidate
	byID := map[string]schemas.Problem{}
	for i := 0; i < len(train); i += 24 { // 16 problems spread over the split
		p := producers.BuildPrompts(train[i:i+1], producers.PromptOptions{Model: ModelName, N: 12, Seed: 1})[0]
		cands = append(cands, Candidates(p, train[i])...)
		byID[train[i].ProblemID] = train[i]
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	pass, refFail := 0, 0
	kinds := map[string]int{}
	sem := make(chan struct{}, 8)
	for _, c := range cands {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := ex.Verdict(context.Background(), byID[c.ProblemID], c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s: %v", c.ProblemID, err)
				return
			}
			kind := strings.TrimPrefix(strings.SplitN(c.Completion, "\n", 2)[0], "# "+ModelName+": ")
			if v.Label == schemas.Pass {
				pass++
			} else {
				kinds[kind+"/"+v.FailureKind]++
				if kind == Identity {
					refFail++
				}
			}
		})
	}
	wg.Wait()
	frac := float64(pass) / float64(len(cands))
	t.Logf("synthetic MBPP train sample: %d candidates, PASS %d (%.1f%%); failures by mutation/kind: %v", len(cands), pass, 100*frac, kinds)
	if frac < 0.25 || frac > 0.75 {
		t.Errorf("PASS fraction %.2f is not a realistic mix", frac)
	}
	if refFail > 0 {
		t.Errorf("%d unmodified references failed", refFail)
	}
}
