package verifier

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

// cand builds a behaviour from "test:status" results; every test has the frequency given in freq
// (1 when absent).
func cand(id string, freq map[string]int32, results ...string) schemas.Behavior {
	b := schemas.Behavior{CandidateID: id, ProblemID: "p", RequestID: "r"}
	for _, r := range results {
		var t, s string
		fmt.Sscanf(r, "%1s:%s", &t, &s)
		f := freq[t]
		if f == 0 {
			f = 1
		}
		b.Results = append(b.Results, schemas.GeneratedTestResult{TestID: t, Frequency: f, Status: s})
	}
	return b
}

func TestCodeTGroupsAndScores(t *testing.T) {
	// Tests a (freq 3), b (1), c (1). Group {a} of 2 scores 2×3 = 6; group {b,c} of 3 scores 3×2 = 6;
	// group {a,b,c} of 1 scores 5; group {} of 1 scores 0. The two groups of 6 merge into Best.
	f := map[string]int32{"a": 3}
	req := []schemas.Behavior{
		cand("c5", f, "a:pass", "b:fail", "c:fail"),
		cand("c1", f, "a:fail", "b:pass", "c:pass"),
		cand("c2", f, "a:pass", "b:pass", "c:pass"),
		cand("c3", f, "a:error", "b:pass", "c:pass"),
		cand("c4", f, "a:timeout", "b:pass", "c:pass"),
		cand("c0", f, "a:pass", "b:error", "c:timeout"),
		cand("c6", f, "a:fail", "b:fail", "c:fail"),
	}
	res := CodeT(req)
	if res.Tests != 3 || res.TotalFreq != 5 {
		t.Errorf("tests %d freq %d, want 3 and 5", res.Tests, res.TotalFreq)
	}
	var scores []float64
	for _, g := range res.Groups {
		scores = append(scores, g.Score)
	}
	if !slices.Equal(scores, []float64{6, 6, 5, 0}) {
		t.Errorf("scores %v", scores)
	}
	// Equal scores order by their smallest member's id: {c0, c5} before {c1, c3, c4}.
	if !slices.Equal(res.Groups[0].Members, []int{0, 5}) || !slices.Equal(res.Groups[1].Members, []int{1, 3, 4}) {
		t.Errorf("groups %+v", res.Groups)
	}
	if !slices.Equal(res.Best, []int{0, 1, 3, 4, 5}) || res.Pick != 5 || req[res.Pick].CandidateID != "c0" {
		t.Errorf("best %v pick %d", res.Best, res.Pick)
	}
	pass := []bool{false, true, false, true, false, false, true}
	if got := ExpectedPass(res.Best, pass); math.Abs(got-0.4) > 1e-12 {
		t.Errorf("expected pass %v, want 2/5", got)
	}
	if res.Group[2] != 2 || res.Group[6] != 3 {
		t.Errorf("group of c2 %d (want 2), of c6 %d (want 3)", res.Group[2], res.Group[6])
	}

	// The released code's √size: {a}: √2×3 ≈ 4.24, {b,c}: √3×2 ≈ 3.46, {a,b,c}: 5 wins alone.
	sq := CodeTWith(req, CodeTOptions{SqrtGroupSize: true})
	if !slices.Equal(sq.Best, []int{2}) || sq.Pick != 2 {
		t.Errorf("sqrt: best %v pick %d", sq.Best, sq.Pick)
	}
}

// Frequency weighting decides between a large group passing a rare test and a small group passing a
// frequent one.
func TestCodeTFrequencyWeighting(t *testing.T) {
	request := func(freqA int32) []schemas.Behavior {
		f := map[string]int32{"a": freqA, "b": 1}
		return []schemas.Behavior{
			cand("x", f, "a:pass", "b:fail"),
			cand("y", f, "a:fail", "b:pass"),
			cand("z", f, "a:fail", "b:pass"),
			cand("w", f, "a:fail", "b:pass"),
		}
	}
	if res := CodeT(request(10)); !slices.Equal(res.Best, []int{0}) || res.Groups[0].Score != 10 || res.Groups[1].Score != 3 {
		t.Errorf("freq 10 × 1 must beat freq 1 × 3: %+v", res)
	}
	if res := CodeT(request(2)); !slices.Equal(res.Best, []int{1, 2, 3}) || res.Pick != 3 {
		t.Errorf("freq 2 × 1 must lose to 1 × 3: best %v pick %d", res.Best, res.Pick)
	}
}

// With no tests, or when no candidate passes any, every candidate is in the one group of score 0:
// CodeT's fallback to a random pick.
func TestCodeTNothingPasses(t *testing.T) {
	for name, req := range map[string][]schemas.Behavior{
		"no tests": {cand("b", nil), cand("a", nil), cand("c", nil)},
		"all fail": {cand("b", nil, "a:fail", "b:error"), cand("a", nil, "a:timeout", "b:fail"), cand("c", nil, "a:error", "b:error")},
	} {
		res := CodeT(req)
		if len(res.Groups) != 1 || res.Groups[0].Score != 0 || !slices.Equal(res.Best, []int{0, 1, 2}) || res.Pick != 1 {
			t.Errorf("%s: %+v", name, res)
		}
		if got := ExpectedPass(res.Best, []bool{true, false, false}); math.Abs(got-1.0/3) > 1e-12 {
			t.Errorf("%s: expected pass %v, want the random pick's 1/3", name, got)
		}
	}
	if res := CodeT(nil); res.Pick != -1 || res.Best != nil {
		t.Errorf("empty request: %+v", res)
	}
	one := CodeT([]schemas.Behavior{cand("only", nil, "a:fail")})
	if one.Pick != 0 || !slices.Equal(one.Best, []int{0}) {
		t.Errorf("one candidate: %+v", one)
	}
}

// The pick is the same candidate whatever order the request arrives in.
func TestCodeTOrderIndependent(t *testing.T) {
	f := map[string]int32{"a": 2}
	req := []schemas.Behavior{
		cand("d", f, "a:pass", "b:fail"), cand("b", f, "a:fail", "b:pass"), cand("c", f, "a:pass", "b:fail"),
		cand("a", f, "a:fail", "b:pass"), cand("e", f, "a:fail", "b:fail"),
	}
	want := req[CodeT(req).Pick].CandidateID
	for k := range 20 {
		p := slices.Clone(req)
		perm := permutation(len(p), uint64(k))
		for i, j := range perm {
			p[i] = req[j]
		}
		res := CodeT(p)
		if p[res.Pick].CandidateID != want {
			t.Fatalf("permutation %v picks %s, want %s", perm, p[res.Pick].CandidateID, want)
		}
	}
}
