package reranker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/verifier"
	"github.com/codeverify/codeverify/schemas"
)

// lenScorer's energy is the number of real tokens plus an offset: shorter code is "better".
type lenScorer struct {
	mu      sync.Mutex
	offset  float32
	batches []int
	fail    error
}

func (s *lenScorer) Score(_ context.Context, ids, masks [][]int64) ([]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	s.batches = append(s.batches, len(ids))
	out := make([]float32, len(ids))
	for i := range ids {
		if len(ids[i]) != len(ids[0]) || len(masks[i]) != len(ids[i]) {
			return nil, errors.New("ragged batch")
		}
		for _, m := range masks[i] {
			out[i] += float32(m)
		}
		out[i] += s.offset
	}
	return out, nil
}

func testModel(version string, s Scorer, maxBatch int) Model {
	return Model{Version: version, Tokenizer: model.Tokenizer{MaxLen: 64}, Scorer: s, MaxBatch: maxBatch}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBatchesAcrossRequestsAndSelectsMinEnergy(t *testing.T) {
	sc := &lenScorer{}
	p, err := New(testModel("v1", sc, 5), Options{Bound: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 3; r++ {
		req := fmt.Sprintf("r%d", r)
		p.Expect(req, 4, t0)
		for c := 0; c < 4; c++ {
			// Candidate c3 is shortest; in r2, c1 and c3 tie and c1 must win (smaller id).
			code := strings.Repeat("x", 10-c)
			if r == 2 && c == 1 {
				code = strings.Repeat("x", 7)
			}
			if err := p.Add(Candidate{RequestID: req, CandidateID: fmt.Sprintf("c%d", c), Prompt: "p", Code: code}, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.Add(Candidate{RequestID: "r0", CandidateID: "c0", Prompt: "p", Code: "redelivered"}, t0)
	scores, sels, err := p.Flush(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 12 {
		t.Fatalf("%d scores, want 12", len(scores))
	}
	if fmt.Sprint(sc.batches) != "[5 5 2]" {
		t.Errorf("batches %v, want [5 5 2] (across requests)", sc.batches)
	}
	want := map[string]string{"r0": "c3", "r1": "c3", "r2": "c1"}
	if len(sels) != 3 {
		t.Fatalf("selections %+v", sels)
	}
	for _, s := range sels {
		if s.CandidateID != want[s.RequestID] || s.Partial || s.Candidates != 4 || s.ModelVersion != "v1" {
			t.Errorf("selection %+v, want candidate %s, complete", s, want[s.RequestID])
		}
	}
	if p.Open() != 0 {
		t.Errorf("%d requests still open", p.Open())
	}
}

func TestPartialSelectionAfterBound(t *testing.T) {
	p, _ := New(testModel("v1", &lenScorer{}, 16), Options{Bound: 10 * time.Second})
	p.Expect("r", 4, t0)
	p.Add(Candidate{RequestID: "r", CandidateID: "a", Code: "long code"}, t0)
	p.Add(Candidate{RequestID: "r", CandidateID: "b", Code: "short"}, t0.Add(time.Second))
	_, sels, err := p.Flush(context.Background(), t0.Add(9*time.Second))
	if err != nil || len(sels) != 0 {
		t.Fatalf("before the bound: %+v, %v", sels, err)
	}
	_, sels, err = p.Flush(context.Background(), t0.Add(10*time.Second))
	if err != nil || len(sels) != 1 {
		t.Fatalf("at the bound: %+v, %v", sels, err)
	}
	if s := sels[0]; !s.Partial || s.Candidates != 2 || s.Expected != 4 || s.CandidateID != "b" {
		t.Errorf("partial selection %+v", s)
	}
	// A request whose prompt said 3 but nothing came is dropped at the bound, not selected.
	p.Expect("empty", 3, t0)
	if _, sels, _ := p.Flush(context.Background(), t0.Add(time.Hour)); len(sels) != 0 || p.Open() != 0 {
		t.Errorf("empty request: %+v, open %d", sels, p.Open())
	}
}

func TestSwapKeepsRequestsOnTheirVersion(t *testing.T) {
	v1, v2 := &lenScorer{}, &lenScorer{offset: 1000}
	var retired []string
	p, _ := New(testModel("v1", v1, 16), Options{Bound: time.Minute, OnRetire: func(m Model) { retired = append(retired, m.Version) }})
	p.Expect("a", 2, t0)
	p.Add(Candidate{RequestID: "a", CandidateID: "1", Code: "aaaa"}, t0)
	if _, _, err := p.Flush(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if err := p.Swap(testModel("v2", v2, 16)); err != nil {
		t.Fatal(err)
	}
	if len(retired) != 0 {
		t.Fatalf("v1 retired while request a uses it")
	}
	p.Add(Candidate{RequestID: "a", CandidateID: "2", Code: "aa"}, t0)
	p.Expect("b", 1, t0)
	p.Add(Candidate{RequestID: "b", CandidateID: "1", Code: "b"}, t0)
	scores, sels, err := p.Flush(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range scores {
		got[s.RequestID+"/"+s.CandidateID] = s.ModelVersion
	}
	// A request is scored once it is complete: a's two candidates on v1, b's on v2.
	if got["a/1"] != "v1" || got["a/2"] != "v1" || got["b/1"] != "v2" || len(scores) != 3 {
		t.Errorf("versions %v: a's candidates must stay on v1, b is new on v2", got)
	}
	if len(sels) != 2 || sels[0].ModelVersion != "v1" || sels[0].CandidateID != "2" || sels[1].ModelVersion != "v2" {
		t.Errorf("selections %+v", sels)
	}
	if fmt.Sprint(retired) != "[v1]" {
		t.Errorf("retired %v, want [v1] once a finished", retired)
	}
}

func TestScorerErrorRequeues(t *testing.T) {
	sc := &lenScorer{fail: errors.New("device lost")}
	p, _ := New(testModel("v1", sc, 16), Options{Bound: time.Minute})
	p.Expect("r", 1, t0)
	p.Add(Candidate{RequestID: "r", CandidateID: "c", Code: "x"}, t0)
	if _, _, err := p.Flush(context.Background(), t0); err == nil {
		t.Fatal("no error")
	}
	sc.fail = nil
	scores, sels, err := p.Flush(context.Background(), t0)
	if err != nil || len(scores) != 1 || len(sels) != 1 {
		t.Fatalf("after recovery: %v %v %v", scores, sels, err)
	}
}

func TestBestTieBreak(t *testing.T) {
	if b := Best([]float32{2, 1, 1, 3}, []string{"d", "c", "b", "a"}); b != 2 {
		t.Errorf("Best = %d, want 2 (tie → smaller key)", b)
	}
	if b := Best([]float32{1, 1}, nil); b != 0 {
		t.Errorf("Best = %d, want 0 (tie → smaller index)", b)
	}
	if b := Best(nil, nil); b != -1 {
		t.Errorf("Best(nil) = %d", b)
	}
}

// A candidate or prompt of a request already selected (a late or redelivered duplicate) must not
// open a second, partial request; after Remember it is a new request again.
func TestLateDuplicateAfterSelectionIsRefused(t *testing.T) {
	p, err := New(testModel("v1", &lenScorer{}, 4), Options{Bound: time.Second, Remember: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p.Expect("r", 2, t0)
	for _, id := range []string{"a", "b"} {
		if err := p.Add(Candidate{RequestID: "r", CandidateID: id, Code: id}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, sels, err := p.Flush(context.Background(), t0); err != nil || len(sels) != 1 || sels[0].Partial {
		t.Fatalf("selections %+v, %v", sels, err)
	}
	if err := p.Add(Candidate{RequestID: "r", CandidateID: "a", Code: "a"}, t0.Add(time.Second)); !errors.Is(err, ErrSelected) {
		t.Fatalf("late duplicate: %v, want ErrSelected", err)
	}
	if err := p.Expect("r", 2, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if scores, sels, err := p.Flush(context.Background(), t0.Add(10*time.Second)); err != nil || len(scores)+len(sels) != 0 || p.Open() != 0 {
		t.Fatalf("after a late duplicate: scores %+v, selections %+v, open %d, %v", scores, sels, p.Open(), err)
	}
	p.Flush(context.Background(), t0.Add(2*time.Minute)) // forgets r
	if err := p.Add(Candidate{RequestID: "r", CandidateID: "a", Code: "a"}, t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("after Remember: %v", err)
	}
}

// featScorer's energy is minus the first feature (the candidate's CodeT group share): the
// candidate most others agree with wins.
type featScorer struct{ lenScorer }

func (s *featScorer) ScoreFeatures(_ context.Context, ids, _ [][]int64, features [][]float32) ([]float32, error) {
	out := make([]float32, len(ids))
	for i, f := range features {
		out[i] = -f[0]
	}
	return out, nil
}

func behavior(req, cand string, passed ...string) schemas.Behavior {
	b := schemas.Behavior{RequestID: req, CandidateID: cand, ProblemID: "p", ExecutedAtMs: 1}
	for _, t := range []string{"t1", "t2"} {
		st := schemas.TestFail
		if slices.Contains(passed, t) {
			st = schemas.TestPass
		}
		b.Results = append(b.Results, schemas.GeneratedTestResult{TestID: t, Frequency: 1, Status: st})
	}
	return b
}

// A feature model's request waits for its candidates' behaviours; at the bound it is scored with
// "no tests" for the missing ones, partial.
func TestFeatureModelWaitsForBehaviors(t *testing.T) {
	m := testModel("f1", &featScorer{}, 16)
	m.Features = verifier.FeatureNames()
	p, err := New(m, Options{Bound: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p.Expect("r", 3, t0)
	for _, id := range []string{"a", "b", "c"} {
		p.Add(Candidate{RequestID: "r", CandidateID: id, Code: id}, t0)
	}
	p.AddBehavior(behavior("r", "a", "t1"), t0)
	p.AddBehavior(behavior("r", "b", "t1", "t2"), t0)
	if scores, sels, err := p.Flush(context.Background(), t0); err != nil || len(scores)+len(sels) != 0 {
		t.Fatalf("scored before c's behaviour: %v %v %v", scores, sels, err)
	}
	p.AddBehavior(behavior("r", "c", "t1", "t2"), t0)
	_, sels, err := p.Flush(context.Background(), t0)
	if err != nil || len(sels) != 1 || sels[0].Partial || sels[0].CandidateID != "b" {
		t.Fatalf("complete request: %+v %v (b and c agree; b has the smaller id)", sels, err)
	}
	if err := p.AddBehavior(behavior("r", "a"), t0); !errors.Is(err, ErrSelected) {
		t.Errorf("behaviour of a selected request: %v", err)
	}

	p.Expect("s", 2, t0)
	p.Add(Candidate{RequestID: "s", CandidateID: "a", Code: "a"}, t0)
	p.Add(Candidate{RequestID: "s", CandidateID: "b", Code: "b"}, t0)
	p.AddBehavior(behavior("s", "b", "t1"), t0)
	scores, sels, err := p.Flush(context.Background(), t0.Add(time.Minute))
	if err != nil || len(sels) != 1 || !sels[0].Partial || len(scores) != 2 {
		t.Fatalf("at the bound: %+v %+v %v", scores, sels, err)
	}
	want := model.RequestFeatures([]string{"a", "b"}, map[string]schemas.Behavior{"b": behavior("s", "b", "t1")})
	for i, sc := range scores {
		if sc.Energy != -want[i][0] {
			t.Errorf("%s: energy %v, want %v from RequestFeatures", sc.CandidateID, sc.Energy, -want[i][0])
		}
	}
}

func TestFeatureModelNeedsFeatureScorerAndNames(t *testing.T) {
	m := testModel("f1", &lenScorer{}, 16)
	m.Features = verifier.FeatureNames()
	if err := m.Validate(); err == nil {
		t.Error("a feature model with a scorer that takes no features validated")
	}
	m = testModel("f1", &featScorer{}, 16)
	m.Features = []string{"something_else"}
	if err := m.Validate(); err == nil {
		t.Error("a feature model with other feature names validated")
	}
}
