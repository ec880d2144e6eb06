package trainer

import (
	"fmt"
	"slices"
	"testing"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
)

// labeled makes problems × n candidates; pass(p, i) decides the labels.
func labeled(problems, n int, split string, pass func(p, i int) bool) ([]schemas.Problem, []schemas.Candidate, []schemas.Verdict) {
	var ps []schemas.Problem
	var cs []schemas.Candidate
	var vs []schemas.Verdict
	for p := range problems {
		pid := fmt.Sprintf("%s/%d", split, p)
		ps = append(ps, schemas.Problem{ProblemID: pid, Benchmark: "mbpp", Split: split, Prompt: fmt.Sprintf("task %d", p)})
		for i := range n {
			id := schemas.CandidateID(pid, i)
			label, kind, code := schemas.Fail, schemas.KindAssertion, fmt.Sprintf("def f():\n    return %d  # fail %d\n", -i, i)
			if pass(p, i) {
				label, kind, code = schemas.Pass, schemas.KindNone, fmt.Sprintf("def f():\n    return %d\n", p)+fmt.Sprintf("# ok %d\n", i)
			}
			cs = append(cs, schemas.Candidate{CandidateID: id, ProblemID: pid, Benchmark: "mbpp", Split: split, SampleIndex: int32(i), Code: code, Model: "m"})
			vs = append(vs, schemas.Verdict{CandidateID: id, ProblemID: pid, Label: label, FailureKind: kind, ExecutedAtMs: 1})
		}
	}
	return ps, cs, vs
}

func TestBuildJoinFilterDedupPairs(t *testing.T) {
	ps, cs, vs := labeled(10, 8, "train", func(p, i int) bool { return p%5 != 0 && i < 3 }) // problems 0 and 5 have no PASS
	tps, tcs, tvs := labeled(3, 4, "test", func(p, i int) bool { return true })             // filtered out by split
	ps, cs, vs = append(ps, tps...), append(cs, tcs...), append(vs, tvs...)
	// A duplicate (same problem, same code), a candidate without verdict, an orphan verdict, a
	// re-execution that flips a label (the newest verdict wins).
	dup := cs[1]
	dup.CandidateID, dup.SampleIndex = "dup", 99
	cs = append(cs, dup, schemas.Candidate{CandidateID: "nolabel", ProblemID: "train/1"})
	vs = append(vs, schemas.Verdict{CandidateID: "dup", ProblemID: dup.ProblemID, Label: schemas.Pass},
		schemas.Verdict{CandidateID: "orphan", Label: schemas.Pass})
	flip := vs[8+7] // train/1 sample 7: FAIL → PASS
	flip.Label, flip.ExecutedAtMs = schemas.Pass, 2
	vs = append(vs, flip)

	opt := BuildOptions{Splits: []string{"train"}, K: 2, Seed: 7, Folds: 5}
	ds, err := Build(ps, cs, vs, opt)
	if err != nil {
		t.Fatal(err)
	}
	st := ds.Stats
	want := model.Stats{Problems: 10, Examples: 80, Pass: 8*3 + 1, Fail: 80 - 25, ProblemsWithoutPass: 2, ProblemsWithoutFail: 0,
		DuplicatesDropped: 1, FilteredOut: 12, CandidatesWithoutVerdict: 1, VerdictsWithoutCandidate: 1, Pairs: 25 * 2,
		Requests: 10, RequestsWithoutPairs: 2, ExamplesWithoutBehavior: 80}
	if st != want {
		t.Fatalf("stats\n got %+v\nwant %+v", st, want)
	}
	copies := 0
	for _, e := range ds.Examples {
		copies += e.Copies
		if e.CandidateID == cs[1].CandidateID && e.Copies != 2 {
			t.Errorf("the duplicated code has %d copies, want 2", e.Copies)
		}
	}
	if copies != st.Examples+st.DuplicatesDropped {
		t.Errorf("copies %d, want examples + duplicates = %d", copies, st.Examples+st.DuplicatesDropped)
	}
	folds := map[string]int{}
	foldSize := make([]int, 5)
	for _, e := range ds.Examples {
		if f, ok := folds[e.ProblemID]; ok && f != e.Fold {
			t.Fatalf("problem %s straddles folds %d and %d", e.ProblemID, f, e.Fold)
		}
		if _, ok := folds[e.ProblemID]; !ok {
			foldSize[e.Fold]++
		}
		folds[e.ProblemID] = e.Fold
	}
	if !slices.Equal(foldSize, []int{2, 2, 2, 2, 2}) {
		t.Errorf("problems per fold %v, want balanced", foldSize)
	}
	seen := map[Pair]bool{}
	for _, p := range ds.Pairs {
		a, b := ds.Examples[p.Pass], ds.Examples[p.Fail]
		if a.Label != schemas.Pass || b.Label != schemas.Fail || a.ProblemID != b.ProblemID || seen[p] {
			t.Fatalf("bad pair %+v: %s/%s %s/%s", p, a.ProblemID, a.Label, b.ProblemID, b.Label)
		}
		seen[p] = true
	}
	// Reproducible from the seed and independent of input order; another seed draws other pairs.
	slices.Reverse(cs)
	slices.Reverse(vs) // the flip now comes before the verdict it replaces: ExecutedAtMs decides, not order
	again, err := Build(ps, cs, vs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash != ds.Hash || !slices.Equal(again.Pairs, ds.Pairs) {
		t.Error("the same data in another order gave another dataset")
	}
	opt.Seed = 8
	other, _ := Build(ps, cs, vs, opt)
	if other.Hash == ds.Hash {
		t.Error("another seed gave the same dataset hash")
	}
	if _, err := Build(ps, cs, vs, BuildOptions{K: 0, Folds: 5}); err == nil {
		t.Error("k = 0 accepted")
	}
	if _, err := Build(ps, cs, vs, BuildOptions{Splits: []string{"nope"}, K: 1, Folds: 5}); err == nil {
		t.Error("an empty dataset was accepted")
	}
}

func TestParseOffsets(t *testing.T) {
	got, err := ParseOffsets("verdicts:0=12, verdicts:3=4,candidates:1=0")
	if err != nil {
		t.Fatal(err)
	}
	if got["verdicts"][0] != 12 || got["verdicts"][3] != 4 || got["candidates"][1] != 0 || len(got) != 2 {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"verdicts=1", "verdicts:x=1", ":0=1", "verdicts:0=-1"} {
		if _, err := ParseOffsets(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestBuildDraws: a request of more than DrawSize candidates becomes Draws draws of DrawSize, each
// ranked on its own (features over the draw, every PASS×FAIL pair of the draw); a smaller request
// is one draw as it is; the draws are a pure function of the data and the seed.
func TestBuildDraws(t *testing.T) {
	ps, cs, vs := labeled(6, 40, "train", func(p, i int) bool { return i%5 == 0 })
	small, scs, svs := labeled(1, 8, "small", func(p, i int) bool { return i < 2 })
	ps, cs, vs = append(ps, small...), append(cs, scs...), append(vs, svs...)
	opt := BuildOptions{K: 1, Seed: 3, Folds: 3, DrawSize: 16, Draws: 5}
	ds, err := Build(ps, cs, vs, opt)
	if err != nil {
		t.Fatal(err)
	}
	st := ds.Stats
	if st.RequestsDrawn != 6 || st.RequestsWhole != 1 || st.Groups != 6*5+1 || st.Requests != 7 || st.Examples != 6*5*16+8 ||
		st.DrawSize != 16 || st.Draws != 5 || st.DuplicatesDropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	groups := map[string][]Example{}
	for _, e := range ds.Examples {
		if e.Group == "" || e.GroupKey() != e.Group {
			t.Fatalf("example %s has group %q", e.CandidateID, e.Group)
		}
		groups[e.Group] = append(groups[e.Group], e)
	}
	wantPairs := 0
	for g, exs := range groups {
		var np, nf int
		ids := make([]string, len(exs))
		for i, e := range exs {
			ids[i] = e.CandidateID
			if e.Label == schemas.Pass {
				np++
			} else {
				nf++
			}
		}
		wantPairs += np * nf
		// The features are those of the draw alone, as the reranker computes them for a 16-candidate request.
		rows := model.RequestFeatures(ids, nil)
		for i, e := range exs {
			if !slices.Equal(e.Features, rows[i]) {
				t.Fatalf("group %s: features of %s differ from RequestFeatures over the draw", g, e.CandidateID)
			}
		}
	}
	if st.Pairs != wantPairs || len(ds.Pairs) != wantPairs {
		t.Errorf("%d pairs, want every PASS×FAIL pair within draws: %d", st.Pairs, wantPairs)
	}
	for _, p := range ds.Pairs {
		a, b := ds.Examples[p.Pass], ds.Examples[p.Fail]
		if a.Group != b.Group || a.Label != schemas.Pass || b.Label != schemas.Fail {
			t.Fatalf("pair across draws or labels: %+v %+v", a, b)
		}
	}
	// Draws differ from each other, and the same data in another order gives the same dataset.
	d0, d1 := groups["train/0#0"], groups["train/0#1"]
	if len(d0) != 16 || len(d1) != 16 || slices.EqualFunc(d0, d1, func(a, b Example) bool { return a.CandidateID == b.CandidateID }) {
		t.Errorf("draws 0 and 1 of train/0: %d and %d candidates, equal sets", len(d0), len(d1))
	}
	slices.Reverse(cs)
	again, err := Build(ps, cs, vs, opt)
	if err != nil || again.Hash != ds.Hash {
		t.Errorf("another input order gave another dataset (%v)", err)
	}
	opt.Seed = 4
	if other, _ := Build(ps, cs, vs, opt); other.Hash == ds.Hash {
		t.Error("another seed drew the same draws")
	}
	if _, err := Build(ps, cs, vs, BuildOptions{K: 1, Folds: 3, Draws: 2, DrawSize: 1}); err == nil {
		t.Error("a draw size of 1 was accepted")
	}
}
