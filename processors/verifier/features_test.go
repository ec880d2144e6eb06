package verifier

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

func permutation(n int, seed uint64) []int {
	return rand.New(rand.NewPCG(seed, 1)).Perm(n)
}

// withFP sets fingerprints on a behaviour's results, one per result in order ("" for none).
func withFP(b schemas.Behavior, fps ...string) schemas.Behavior {
	b.Results = slices.Clone(b.Results)
	for i := range b.Results {
		b.Results[i].Fingerprint = fps[i]
	}
	return b
}

func featureRequest() []schemas.Behavior {
	f := map[string]int32{"a": 3, "b": 1, "c": 2}
	return []schemas.Behavior{
		withFP(cand("k1", f, "a:pass", "b:pass", "c:fail"), "x", "y", "z"),
		withFP(cand("k2", f, "a:pass", "b:pass", "c:fail"), "x", "y", "z"),
		withFP(cand("k3", f, "a:pass", "b:fail", "c:pass"), "x", "w", "q"),
		withFP(cand("k4", f, "a:error", "b:error", "c:error"), "", "", ""),
		withFP(cand("k5", f, "a:timeout", "b:fail", "c:fail"), "", "w", "z"),
	}
}

func col(name string) int { return slices.Index(featureNames, name) }

func TestFeaturesValues(t *testing.T) {
	req := featureRequest()
	rows := Features(req)
	if len(rows) != len(req) {
		t.Fatalf("%d rows for %d candidates", len(rows), len(req))
	}
	for i, r := range rows {
		if len(r) != len(FeatureNames()) {
			t.Fatalf("row %d has %d columns, names %d", i, len(r), len(FeatureNames()))
		}
	}
	near := func(row int, name string, want float64) {
		t.Helper()
		if got := float64(rows[row][col(name)]); math.Abs(got-want) > 1e-6 {
			t.Errorf("%s of %s = %v, want %v", name, req[row].CandidateID, got, want)
		}
	}
	// k1, k2 pass {a, b}: group of 2, passed frequency 4, score 8 (the best); k3 passes {a, c}:
	// score 5; k4 and k5 pass nothing: score 0. n·F = 5·6 = 30.
	near(0, "codet_group_share", 0.4)
	near(0, "codet_log_score", math.Log1p(8)/math.Log1p(30))
	near(0, "codet_log_score_gap", 0)
	near(2, "codet_log_score_gap", (math.Log1p(8)-math.Log1p(5))/math.Log1p(30))
	near(3, "codet_log_score", 0)
	near(0, "codet_in_best", 1)
	near(2, "codet_in_best", 0)
	near(0, "pass_freq_share", 4.0/6)
	near(2, "pass_freq_share", 5.0/6)
	near(2, "pass_share", 2.0/3)
	near(0, "fingerprint_cluster", 0.4)
	near(2, "fingerprint_cluster", 0.2)
	// Majorities: a → x (3), b → y and w tie (2 each), c → z (3).
	near(0, "majority_output", 1)
	near(2, "majority_output", 2.0/3)
	near(3, "majority_output", 0)
	near(4, "majority_output", 2.0/3)
	near(3, "error_share", 1)
	near(3, "loads", 0)
	near(4, "loads", 1)
	near(4, "timeout_share", 1.0/3)
	near(4, "log_tests", math.Log(4))
}

// Permuting the request permutes the rows; the order of a candidate's results does not matter.
func TestFeaturesOrderIndependent(t *testing.T) {
	req := featureRequest()
	want := Features(req)
	for k := range 20 {
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
				t.Fatalf("permutation %v: row %d = %v, want row %d = %v", perm, i, got[i], j, want[j])
			}
		}
	}
}

func TestFeaturesEdgeCases(t *testing.T) {
	cases := map[string][]schemas.Behavior{
		"no tests":      {cand("a", nil), cand("b", nil)},
		"one candidate": {cand("a", nil, "x:pass", "y:fail")},
		"all error":     {cand("a", nil, "x:error"), cand("b", nil, "x:error")},
		"all timeout":   {cand("a", nil, "x:timeout")},
	}
	for name, req := range cases {
		rows := Features(req)
		for i, r := range rows {
			if len(r) != len(FeatureNames()) {
				t.Fatalf("%s: row %d width %d", name, i, len(r))
			}
			for k, v := range r {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Errorf("%s: %s of row %d is %v", name, featureNames[k], i, v)
				}
			}
		}
	}
	if r := Features(cases["no tests"])[0]; r[col("loads")] != 1 || r[col("codet_in_best")] != 1 || r[col("fingerprint_cluster")] != 1 || r[col("log_tests")] != 0 {
		t.Errorf("no tests: %v", r)
	}
	if r := Features(cases["all error"])[0]; r[col("loads")] != 0 || r[col("error_share")] != 1 {
		t.Errorf("all error: %v", r)
	}
	if r := Features(cases["one candidate"])[0]; r[col("codet_group_share")] != 1 || r[col("pass_share")] != 0.5 {
		t.Errorf("one candidate: %v", r)
	}
	if len(Features(nil)) != 0 {
		t.Error("empty request must give no rows")
	}
}
