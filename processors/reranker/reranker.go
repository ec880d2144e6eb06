// Package reranker scores candidate programs with the verifier and selects, per request, the
// candidate with the lowest energy. It is pure logic: the model runs behind Scorer (serving/ in
// production, a fake in tests) and the tokenizer is the trainer's, so training and serving agree.
//
// Processor joins a request's candidates, expected count and behaviours and scores them; Join holds
// the stream events waiting for their request's selection; Versions swaps newer model versions in
// (opened by an Opener) while requests under way finish on theirs; Handler serves POST /v1/rerank.
package reranker

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/codeverify/codeverify/model"
)

// Scorer returns one energy per row of a padded batch (ids and masks are [batch][sequence], every
// row the same length). Low energy = likely PASS.
type Scorer interface {
	Score(ctx context.Context, ids, masks [][]int64) ([]float32, error)
}

// FeatureScorer scores rows of tokens and behaviour features (one feature row per token row); a
// model that reads features needs a Scorer that is one.
type FeatureScorer interface {
	ScoreFeatures(ctx context.Context, ids, masks [][]int64, features [][]float32) ([]float32, error)
}

// Model is one verifier version ready to score.
type Model struct {
	Version   string
	Tokenizer model.Tokenizer
	Scorer    Scorer
	// MaxBatch bounds the rows of one Score call (default 16).
	MaxBatch int
	// Features names the behaviour features the model reads (its manifest's; they must be this
	// build's verifier.FeatureNames). Empty: a code-only model.
	Features []string
}

// Close releases m's scorer when it holds resources (an io.Closer, such as an ONNX Runtime
// session); a model is closed once no request uses it any more.
func (m Model) Close() error {
	if c, ok := m.Scorer.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Provider is the execution provider m's scorer runs on (cuda or cpu), when it says; "" otherwise.
func (m Model) Provider() string {
	if p, ok := m.Scorer.(interface{ Provider() string }); ok {
		return p.Provider()
	}
	return ""
}

// ReadsFeatures says whether m scores behaviour features as well as code.
func (m Model) ReadsFeatures() bool { return len(m.Features) > 0 }

// Validate reports why m cannot score.
func (m Model) Validate() error {
	switch {
	case m.Version == "":
		return errors.New("reranker: model without a version")
	case m.Scorer == nil:
		return errors.New("reranker: model without a scorer")
	case m.MaxBatch < 0:
		return fmt.Errorf("reranker: max batch %d", m.MaxBatch)
	}
	if m.ReadsFeatures() {
		if _, ok := m.Scorer.(FeatureScorer); !ok {
			return fmt.Errorf("reranker: model %s reads behaviour features but its scorer takes none", m.Version)
		}
		if err := model.CheckFeatureNames(m.Features); err != nil {
			return fmt.Errorf("reranker: model %s: %w", m.Version, err)
		}
	}
	return m.Tokenizer.Validate()
}

func (m Model) maxBatch() int {
	if m.MaxBatch == 0 {
		return 16
	}
	return m.MaxBatch
}

// Pair is one candidate to score: its prompt and code and, for a model that reads them, its
// behaviour features (a row of RequestFeatures over the candidate's request).
type Pair struct {
	Prompt, Code string
	Features     []float32
}

// ScorePairs tokenizes and scores pairs in batches of MaxBatch, each padded to its longest row.
// A model that reads features needs every pair's Features (len(m.Features) values).
func (m Model) ScorePairs(ctx context.Context, pairs []Pair) ([]float32, error) {
	if m.ReadsFeatures() {
		for i, p := range pairs {
			if len(p.Features) != len(m.Features) {
				return nil, fmt.Errorf("reranker: model %s reads %d behaviour features, candidate %d has %d", m.Version, len(m.Features), i, len(p.Features))
			}
		}
	}
	out := make([]float32, 0, len(pairs))
	for start := 0; start < len(pairs); start += m.maxBatch() {
		chunk := pairs[start:min(len(pairs), start+m.maxBatch())]
		rows := make([][]int64, len(chunk))
		width := 0
		for i, p := range chunk {
			rows[i] = m.Tokenizer.Encode(p.Prompt, p.Code)
			width = max(width, len(rows[i]))
		}
		ids, masks := make([][]int64, len(rows)), make([][]int64, len(rows))
		for i, r := range rows {
			ids[i], masks[i] = make([]int64, width), make([]int64, width)
			copy(ids[i], r)
			for j := range r {
				masks[i][j] = 1
			}
		}
		var e []float32
		var err error
		if m.ReadsFeatures() {
			feats := make([][]float32, len(chunk))
			for i, p := range chunk {
				feats[i] = p.Features
			}
			e, err = m.Scorer.(FeatureScorer).ScoreFeatures(ctx, ids, masks, feats)
		} else {
			e, err = m.Scorer.Score(ctx, ids, masks)
		}
		if err != nil {
			return nil, err
		}
		if len(e) != len(chunk) {
			return nil, fmt.Errorf("reranker: scorer returned %d energies for %d rows", len(e), len(chunk))
		}
		out = append(out, e...)
	}
	return out, nil
}

// Best is the index of the lowest energy; ties go to the smallest key (then the smallest index), so
// the choice never depends on arrival order. keys may be nil (ties go to the smallest index).
func Best(energies []float32, keys []string) int {
	best := -1
	for i, e := range energies {
		switch {
		case best < 0 || e < energies[best]:
			best = i
		case e == energies[best] && keys != nil && keys[i] < keys[best]:
			best = i
		}
	}
	return best
}
