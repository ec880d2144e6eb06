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

// scoreFields lists a Score's Avro fields.
func scoreFields(s *Score) []field {
	return []field{
		{"candidate_id", &s.CandidateID}, {"request_id", &s.RequestID}, {"problem_id", &s.ProblemID},
		{"energy", &s.Energy}, {"model_version", &s.ModelVersion}, {"scored_at_ms", &s.ScoredAtMs},
	}
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

// selectionFields lists a Selection's Avro fields.
func selectionFields(s *Selection) []field {
	return []field{
		{"request_id", &s.RequestID}, {"problem_id", &s.ProblemID}, {"candidate_id", &s.CandidateID}, {"energy", &s.Energy},
		{"candidates", &s.Candidates}, {"expected", &s.Expected}, {"partial", &s.Partial}, {"model_version", &s.ModelVersion},
		{"selected_at_ms", &s.SelectedAtMs},
	}
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
	if c.Score, err = newRecordCodec(SchemaText("score"), scoreFields); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if c.Selection, err = newRecordCodec(SchemaText("selection"), selectionFields); err != nil {
		return nil, fmt.Errorf("selection: %w", err)
	}
	return &c, nil
}
