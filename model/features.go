package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/codeverify/codeverify/processors/verifier"
	"github.com/codeverify/codeverify/schemas"
)

// FeatureSpec is the behaviour features a model reads, as stored in its manifest: the column names
// of verifier.FeatureNames at training time, in order. A reranker refuses a model whose names differ
// from its own build's, since the same column would then mean something else.
type FeatureSpec struct {
	Names []string `json:"names"`
	// MissingBehavior says what a candidate without a behaviour gets.
	MissingBehavior string `json:"missing_behavior"`
}

const missingBehaviorRule = "a candidate without a behaviour enters its request as a behaviour with no test results " +
	"(\"no tests\"), so its row and the other candidates' rows are what verifier.Features gives for that"

// CurrentFeatures is the spec of this build's verifier.Features.
func CurrentFeatures() FeatureSpec {
	return FeatureSpec{Names: verifier.FeatureNames(), MissingBehavior: missingBehaviorRule}
}

// CheckFeatureNames reports whether a model trained on features named names can be fed by this
// build's verifier.Features.
func CheckFeatureNames(names []string) error {
	if have := verifier.FeatureNames(); !slices.Equal(names, have) {
		return fmt.Errorf("behaviour features: the model was trained on [%s], this build computes [%s]",
			strings.Join(names, " "), strings.Join(have, " "))
	}
	return nil
}

// RequestFeatures returns the behaviour feature row of each candidate of one request, in the order
// of ids (distinct candidate ids: the request's candidates). It is the one place that turns behaviours
// into model input, for the training export and for the reranker alike, so the two cannot disagree.
// The behaviour of ids[i] is behaviors[ids[i]]; a candidate without one gets an empty behaviour (no
// test results). The request is handed to verifier.Features in candidate id order whatever order ids
// come in, so the rows do not depend on arrival order.
func RequestFeatures(ids []string, behaviors map[string]schemas.Behavior) [][]float32 {
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(ids[a], ids[b]) })
	req := make([]schemas.Behavior, len(ids))
	for k, i := range order {
		b, ok := behaviors[ids[i]]
		if !ok {
			b = schemas.Behavior{}
		}
		b.CandidateID = ids[i]
		req[k] = b
	}
	rows := verifier.Features(req)
	out := make([][]float32, len(ids))
	for k, i := range order {
		out[i] = rows[k]
	}
	return out
}

// NewestBehaviors keys behaviours by candidate id; a re-executed candidate keeps its newest
// behaviour (executed_at_ms; on a tie the later record), as verdicts do.
func NewestBehaviors(bs []schemas.Behavior) map[string]schemas.Behavior {
	out := make(map[string]schemas.Behavior, len(bs))
	for _, b := range bs {
		if old, ok := out[b.CandidateID]; !ok || b.ExecutedAtMs >= old.ExecutedAtMs {
			out[b.CandidateID] = b
		}
	}
	return out
}
