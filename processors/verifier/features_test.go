package verifier

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

func permutation(n int, seed uint64) []int {
	return rand.New(rand.NewPCG(seed, 1)).Perm(n)
}

// fixtureRequest is one request of testdata/features_hand.json or research_requests.json: tests,
// each candidate's [status, fingerprint] per test (a null entry: no result; a null fingerprint:
// ""), and the expected rows.
type fixtureRequest struct {
	Name  string `json:"name"`
	Tests []struct {
		ID     string `json:"id"`
		Freq   int32  `json:"freq"`
		Shaped bool   `json:"shaped"`
	} `json:"tests"`
	Candidates []struct {
		ID  string      `json:"id"`
		Res [][]*string `json:"res"`
	} `json:"candidates"`
	Want [][]float64 `json:"want"`
}

// researchFingerprint maps a research fingerprint to a Behavior's: the research writes a returned
// None as "None" and no value as null; other strings are compared only for equality.
func researchFingerprint(fp *string) string {
	switch {
	case fp == nil:
		return ""
	case *fp == "None":
		return schemas.FingerprintNone
	}
	return *fp
}

func (r fixtureRequest) behaviors() []schemas.Behavior {
	out := make([]schemas.Behavior, len(r.Candidates))
	for i, c := range r.Candidates {
		b := schemas.Behavior{CandidateID: c.ID, ProblemID: "p", RequestID: "r"}
		for j, res := range c.Res {
			if res == nil {
				continue
			}
			t := r.Tests[j]
			b.Results = append(b.Results, schemas.GeneratedTestResult{TestID: t.ID, Frequency: t.Freq, Status: *res[0],
				Fingerprint: researchFingerprint(res[1]), Shaped: t.Shaped})
		}
		out[i] = b
	}
	return out
}

func loadFixture(t *testing.T, name string) []fixtureRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Requests []fixtureRequest }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f.Requests
}

// checkRows compares Features(req) with want within 1e-6.
func checkRows(t *testing.T, name string, req []schemas.Behavior, want [][]float64) {
	t.Helper()
	got := Features(req)
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", name, len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(featureNames) || len(want[i]) != len(featureNames) {
			t.Fatalf("%s: row %d has %d columns, want %d", name, i, len(got[i]), len(want[i]))
		}
		for k, w := range want[i] {
			if g := float64(got[i][k]); math.Abs(g-w) > 1e-6 || math.IsNaN(g) {
				t.Errorf("%s: %s of candidate %d (%s) = %v, want %v", name, featureNames[k], i, req[i].CandidateID, g, w)
			}
		}
	}
}

func TestFeatureNames(t *testing.T) {
	if want := []string{"log_score_gap", "agree2_major", "agree2_mean"}; !slices.Equal(FeatureNames(), want) {
		t.Fatalf("FeatureNames() = %v, want the experiment's A3 %v", FeatureNames(), want)
	}
}

// TestFeaturesHandMade: requests whose rows were worked out by hand from the definitions.
func TestFeaturesHandMade(t *testing.T) {
	for _, r := range loadFixture(t, "features_hand.json") {
		checkRows(t, r.Name, r.behaviors(), r.Want)
	}
}

// TestFeaturesResearchRequests: requests of the offline experiment written out in full, against the
// rows its Python computes (testdata/research_features.py).
func TestFeaturesResearchRequests(t *testing.T) {
	reqs := loadFixture(t, "research_requests.json")
	if len(reqs) < 5 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		checkRows(t, r.Name, r.behaviors(), r.Want)
	}
}

// TestFeaturesResearchDraws rebuilds the behaviours of the experiment's draws from its data files
// (written by trainer/experiments/behaviour-features/compute.py; not in the repo) when
// CODEVERIFY_RESEARCH_DIR names them, and compares with the experiment's rows.
func TestFeaturesResearchDraws(t *testing.T) {
	dir := os.Getenv("CODEVERIFY_RESEARCH_DIR")
	if dir == "" {
		t.Skip("CODEVERIFY_RESEARCH_DIR not set: the experiment's data files are not in the repo")
	}
	testsFile, behFile := filepath.Join(dir, "tests.jsonl"), filepath.Join(dir, "behaviors.jsonl")
	for _, f := range []string{testsFile, behFile} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("research data not present: %v", err)
		}
	}
	var fix struct {
		Shaped []string
		Draws  []struct {
			Seed, Pi, K int
			Samples     []int
			Want        [][]float64
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "research_draws.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fix); err != nil {
		t.Fatal(err)
	}
	type problem struct {
		Pi    int                 `json:"pi"`
		Tests [][]json.RawMessage `json:"tests"`
	}
	type behavior struct {
		Pi  int         `json:"pi"`
		Si  int         `json:"si"`
		Res [][]*string `json:"res"`
	}
	problems := map[int]problem{}
	readLines(t, testsFile, func(line []byte) {
		var p problem
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatal(err)
		}
		problems[p.Pi] = p
	})
	results := map[[2]int][]schemas.GeneratedTestResult{}
	readLines(t, behFile, func(line []byte) {
		var bh behavior
		if err := json.Unmarshal(line, &bh); err != nil {
			t.Fatal(err)
		}
		p := problems[bh.Pi]
		if len(bh.Res) != len(p.Tests) || len(fix.Shaped[bh.Pi]) != len(p.Tests) {
			t.Fatalf("pi %d si %d: %d results, %d tests", bh.Pi, bh.Si, len(bh.Res), len(p.Tests))
		}
		rs := make([]schemas.GeneratedTestResult, len(bh.Res))
		for j, r := range bh.Res {
			var freq int32
			if err := json.Unmarshal(p.Tests[j][1], &freq); err != nil {
				t.Fatal(err)
			}
			rs[j] = schemas.GeneratedTestResult{TestID: strconv.Itoa(j), Frequency: freq, Status: *r[0],
				Fingerprint: researchFingerprint(r[1]), Shaped: fix.Shaped[bh.Pi][j] == '1'}
		}
		results[[2]int{bh.Pi, bh.Si}] = rs
	})
	if len(fix.Draws) < 100 {
		t.Fatalf("%d draws", len(fix.Draws))
	}
	for _, d := range fix.Draws {
		req := make([]schemas.Behavior, len(d.Samples))
		for i, si := range d.Samples {
			req[i] = schemas.Behavior{CandidateID: fmt.Sprintf("s%02d", si), ProblemID: strconv.Itoa(d.Pi), Results: results[[2]int{d.Pi, si}]}
		}
		checkRows(t, fmt.Sprintf("seed %d pi %d k %d", d.Seed, d.Pi, d.K), req, d.Want)
	}
}

func readLines(t *testing.T, path string, f func([]byte)) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		f(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// Permuting the request permutes the rows; the order of a candidate's results does not matter.
func TestFeaturesOrderIndependent(t *testing.T) {
	reqs := append(loadFixture(t, "features_hand.json"), loadFixture(t, "research_requests.json")...)
	for _, r := range reqs {
		req := r.behaviors()
		want := Features(req)
		for k := range 10 {
			perm := permutation(len(req), uint64(k))
			p := make([]schemas.Behavior, len(req))
			for i, j := range perm {
				p[i] = req[j]
				p[i].Results = slices.Clone(req[j].Results)
				slices.Reverse(p[i].Results)
			}
			got := Features(p)
			for i, j := range perm {
				if !slices.Equal(got[i], want[j]) {
					t.Fatalf("%s, permutation %v: row %d = %v, want row %d = %v", r.Name, perm, i, got[i], j, want[j])
				}
			}
		}
	}
}

func TestFeaturesEdgeCases(t *testing.T) {
	shaped := func(b schemas.Behavior, fps ...string) schemas.Behavior {
		for i := range b.Results {
			b.Results[i].Shaped, b.Results[i].Fingerprint = true, fps[i]
		}
		return b
	}
	cases := map[string]struct {
		req  []schemas.Behavior
		want [][]float64
	}{
		"no tests":      {[]schemas.Behavior{cand("a", nil), cand("b", nil)}, [][]float64{{0, 0, 0}, {0, 0, 0}}},
		"one candidate": {[]schemas.Behavior{cand("a", nil, "x:pass", "y:fail")}, [][]float64{{0, 0, 0}}},
		"all error":     {[]schemas.Behavior{shaped(cand("a", nil, "x:error"), ""), shaped(cand("b", nil, "x:error"), "")}, [][]float64{{0, 0, 0}, {0, 0, 0}}},
		"all None": {[]schemas.Behavior{shaped(cand("a", nil, "x:fail"), schemas.FingerprintNone), shaped(cand("b", nil, "x:fail"), schemas.FingerprintNone)},
			[][]float64{{0, 0, 0}, {0, 0, 0}}},
		"all timeout": {[]schemas.Behavior{cand("a", nil, "x:timeout")}, [][]float64{{0, 0, 0}}},
		// A test listed twice in a candidate counts once, with the smallest value.
		"duplicate result": {[]schemas.Behavior{shaped(cand("a", nil, "x:pass", "x:pass"), "v", "w"), shaped(cand("b", nil, "x:pass"), "v")},
			[][]float64{{0, 1, 1}, {0, 1, 1}}},
	}
	for name, c := range cases {
		checkRows(t, name, c.req, c.want)
	}
	if len(Features(nil)) != 0 {
		t.Error("empty request must give no rows")
	}
}

// featureRequest is a small request for the selection methods' tests: k1 and k2 form CodeT's best
// group, k4 does not load, every test is `f(x) == y`.
func featureRequest() []schemas.Behavior {
	f := map[string]int32{"a": 3, "b": 1, "c": 2}
	withFP := func(b schemas.Behavior, fps ...string) schemas.Behavior {
		for i := range b.Results {
			b.Results[i].Fingerprint, b.Results[i].Shaped = fps[i], true
		}
		return b
	}
	return []schemas.Behavior{
		withFP(cand("k1", f, "a:pass", "b:pass", "c:fail"), "x", "y", "z"),
		withFP(cand("k2", f, "a:pass", "b:pass", "c:fail"), "x", "y", "z"),
		withFP(cand("k3", f, "a:pass", "b:fail", "c:pass"), "x", "w", "q"),
		withFP(cand("k4", f, "a:error", "b:error", "c:error"), "", "", ""),
		withFP(cand("k5", f, "a:timeout", "b:fail", "c:fail"), "", "w", "z"),
	}
}
