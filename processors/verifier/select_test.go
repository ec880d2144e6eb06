package verifier

import (
	"context"
	"slices"
	"testing"
)

// fakeScorer gives each code a fixed energy and records whether it was given features.
type fakeScorer struct {
	energy   map[string]float32
	features [][]float32
}

func (f *fakeScorer) Score(_ context.Context, _ string, codes []string, features [][]float32) ([]float32, error) {
	f.features = features
	out := make([]float32, len(codes))
	for i, c := range codes {
		out[i] = f.energy[c]
	}
	return out, nil
}

func TestMethods(t *testing.T) {
	beh := featureRequest() // k1, k2 form CodeT's best group
	r := Request{ProblemID: "p", Prompt: "def f():"}
	for _, b := range beh {
		r.Candidates = append(r.Candidates, Candidate{ID: b.CandidateID, Code: "code " + b.CandidateID, Behavior: b})
	}
	s := &fakeScorer{energy: map[string]float32{"code k1": 0.5, "code k2": 0.2, "code k3": 0.2, "code k4": 0.9, "code k5": 1}}
	ctx := context.Background()
	want := map[string]Choice{
		"random":   {Pick: 0, Pool: []int{0, 1, 2, 3, 4}},
		"codet":    {Pick: 0, Pool: []int{0, 1}},
		"energy":   {Pick: 1, Pool: []int{1}}, // k2 and k3 tie at 0.2: the smaller id
		"verifier": {Pick: 1, Pool: []int{1}},
	}
	for _, m := range []Method{Random{}, CodeTMethod{}, Energy{Scorer: s}, Verifier{Scorer: s}} {
		got, err := m.Choose(ctx, r)
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		w := want[m.Name()]
		if got.Pick != w.Pick || !slices.Equal(got.Pool, w.Pool) {
			t.Errorf("%s: pick %d pool %v, want %d %v", m.Name(), got.Pick, got.Pool, w.Pick, w.Pool)
		}
		switch m.Name() {
		case "energy":
			if s.features != nil {
				t.Error("the code-only model was given features")
			}
		case "verifier":
			if len(s.features) != len(beh) || len(s.features[0]) != len(FeatureNames()) {
				t.Errorf("the verifier was given features %v", s.features)
			}
		}
	}
	pass := []bool{true, false, false, false, true}
	if got := ExpectedPass(want["random"].Pool, pass); got != 0.4 {
		t.Errorf("random expected pass %v", got)
	}
	if _, err := (Random{}).Choose(ctx, Request{ProblemID: "empty"}); err == nil {
		t.Error("an empty request was answered")
	}
}
