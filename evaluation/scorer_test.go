package evaluation

import (
	"context"
	"fmt"
	"testing"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/processors/verifier"
	"github.com/codeverify/codeverify/schemas"
)

// featureSession is a scorer whose model reads behaviour features: the energy is minus the first
// feature, so the candidate of the largest CodeT group wins.
type featureSession struct{ calls int }

func (f *featureSession) Features() int { return len(verifier.FeatureNames()) }

func (f *featureSession) Score(_ context.Context, ids, _ [][]int64) ([]float32, error) {
	return make([]float32, len(ids)), nil
}

func (f *featureSession) ScoreFeatures(_ context.Context, ids, masks [][]int64, features [][]float32) ([]float32, error) {
	f.calls++
	if len(features) != len(ids) || len(masks) != len(ids) {
		return nil, fmt.Errorf("%d feature rows for %d rows", len(features), len(ids))
	}
	out := make([]float32, len(ids))
	for i, r := range features {
		out[i] = -r[0]
	}
	return out, nil
}

// A model that reads features gets verifier.Features of the request; the code-only path ignores them.
func TestModelScorerPassesFeatures(t *testing.T) {
	sess := &featureSession{}
	ms := modelScorer{reranker.Model{Version: "f", Tokenizer: model.Tokenizer{MaxLen: 64}, Scorer: sess}}
	if ms.readsFeatures() != len(verifier.FeatureNames()) {
		t.Errorf("reads %d features, want %d", ms.readsFeatures(), len(verifier.FeatureNames()))
	}
	req := verifier.Request{ProblemID: "p", Prompt: "def f():"}
	for i, passes := range []bool{false, true, true} {
		st := schemas.TestFail
		if passes {
			st = schemas.TestPass
		}
		id := fmt.Sprintf("c%d", i)
		req.Candidates = append(req.Candidates, verifier.Candidate{ID: id, Code: "return 1",
			Behavior: schemas.Behavior{CandidateID: id, Results: []schemas.GeneratedTestResult{{TestID: "t", Frequency: 1, Status: st}}}})
	}
	ch, err := verifier.Verifier{Scorer: ms}.Choose(context.Background(), req)
	if err != nil || sess.calls != 1 || ch.Pick != 1 {
		t.Errorf("verifier: pick %d after %d feature calls (%v), want c1 after 1", ch.Pick, sess.calls, err)
	}
	if _, err := (verifier.Energy{Scorer: ms}).Choose(context.Background(), req); err != nil || sess.calls != 1 {
		t.Errorf("the code-only method sent features (%d calls, %v)", sess.calls, err)
	}
	// A model without a feature input is scored on its tokens, even when features are offered.
	plain := modelScorer{reranker.Model{Version: "p", Tokenizer: model.Tokenizer{MaxLen: 64}, Scorer: tokensOnly{}}}
	if plain.readsFeatures() != 0 {
		t.Errorf("a tokens-only session reads %d features", plain.readsFeatures())
	}
	if _, err := (verifier.Verifier{Scorer: plain}).Choose(context.Background(), req); err != nil {
		t.Errorf("tokens-only verifier: %v", err)
	}
}

// tokensOnly is a session without a feature input.
type tokensOnly struct{}

func (tokensOnly) Score(_ context.Context, ids, _ [][]int64) ([]float32, error) {
	return make([]float32, len(ids)), nil
}
