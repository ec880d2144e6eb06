package schemas

import (
	"errors"
	"fmt"
)

// Score is the verifier's energy for one candidate (low = likely PASS), by one model version.
type Score struct {
	CandidateID  string
	RequestID    string
	ProblemID    string
	Energy       float64
	ModelVersion string
	ScoredAtMs   int64
}

// Validate reports why a score is not worth writing.
func (s Score) Validate() error {
	if s.CandidateID == "" || s.ModelVersion == "" {
		return errors.New("score: empty candidate_id or model_version")
	}
	return nil
}

func scoreToNative(s Score) map[string]any {
	return map[string]any{
		"candidate_id": s.CandidateID, "request_id": s.RequestID, "problem_id": s.ProblemID,
		"energy": s.Energy, "model_version": s.ModelVersion, "scored_at_ms": s.ScoredAtMs,
	}
}

func scoreFromNative(m map[string]any) (Score, error) {
	f := fields{m: m}
	s := Score{
		CandidateID: f.str("candidate_id"), RequestID: f.str("request_id"), ProblemID: f.str("problem_id"),
		Energy: f.f64("energy"), ModelVersion: f.str("model_version"), ScoredAtMs: f.i64("scored_at_ms"),
	}
	return s, f.err
}

// Selection is a request's min-energy candidate. Partial: chosen among fewer than Expected
// candidates because the rest did not arrive within the reranker's bound.
type Selection struct {
	RequestID    string
	ProblemID    string
	CandidateID  string
	Energy       float64
	Candidates   int32
	Expected     int32
	Partial      bool
	ModelVersion string
	SelectedAtMs int64
}

// Validate reports why a selection is not worth writing.
func (s Selection) Validate() error {
	if s.RequestID == "" || s.CandidateID == "" || s.ModelVersion == "" {
		return errors.New("selection: empty request_id, candidate_id or model_version")
	}
	return nil
}

func selectionToNative(s Selection) map[string]any {
	return map[string]any{
		"request_id": s.RequestID, "problem_id": s.ProblemID, "candidate_id": s.CandidateID, "energy": s.Energy,
		"candidates": s.Candidates, "expected": s.Expected, "partial": s.Partial, "model_version": s.ModelVersion,
		"selected_at_ms": s.SelectedAtMs,
	}
}

func selectionFromNative(m map[string]any) (Selection, error) {
	f := fields{m: m}
	s := Selection{
		RequestID: f.str("request_id"), ProblemID: f.str("problem_id"), CandidateID: f.str("candidate_id"),
		Energy: f.f64("energy"), Candidates: f.i32("candidates"), Expected: f.i32("expected"),
		Partial: f.boolean("partial"), ModelVersion: f.str("model_version"), SelectedAtMs: f.i64("selected_at_ms"),
	}
	return s, f.err
}

// RerankCodecs are the codecs of the reranker's events (scores, selections).
type RerankCodecs struct {
	Score     *Codec[Score]
	Selection *Codec[Selection]
}

// NewRerankCodecs builds the codecs of the embedded score and selection schemas.
func NewRerankCodecs() (*RerankCodecs, error) {
	var c RerankCodecs
	var err error
	if c.Score, err = NewCodec(SchemaText("score"), scoreToNative, scoreFromNative); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if c.Selection, err = NewCodec(SchemaText("selection"), selectionToNative, selectionFromNative); err != nil {
		return nil, fmt.Errorf("selection: %w", err)
	}
	return &c, nil
}
