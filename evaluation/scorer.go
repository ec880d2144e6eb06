package evaluation

import (
	"context"

	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/processors/verifier"
)

// modelScorer runs a model version for the selection methods (a verifier.Scorer). A model that
// reads behaviour features gets them; one that does not is scored on tokens alone, features or not.
type modelScorer struct{ model reranker.Model }

// featureWidth is a session that says how many behaviour features its model reads (0: none).
type featureWidth interface{ Features() int }

// readsFeatures is the width of the behaviour features the model reads (0: none).
func (s modelScorer) readsFeatures() int {
	if fw, ok := s.model.Scorer.(featureWidth); ok {
		if _, scores := s.model.Scorer.(reranker.FeatureScorer); scores {
			return fw.Features()
		}
	}
	return 0
}

// Score is the energy of each code for prompt (verifier.Scorer); features, one row per code, are
// passed on only to a model that reads them.
func (s modelScorer) Score(ctx context.Context, prompt string, codes []string, features [][]float32) ([]float32, error) {
	m := s.model
	reads := features != nil && s.readsFeatures() > 0
	pairs := make([]reranker.Pair, len(codes))
	for i, c := range codes {
		pairs[i] = reranker.Pair{Prompt: prompt, Code: c}
		if reads {
			pairs[i].Features = features[i]
		}
	}
	m.Features = nil
	if reads {
		// The draw's rows go in one run, its features being computed over all of them.
		m.Features, m.MaxBatch = verifier.FeatureNames(), max(len(pairs), 1)
	}
	return m.ScorePairs(ctx, pairs)
}
