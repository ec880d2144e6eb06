// Package model is what a verifier model is, for the trainer that makes one and the reranker that
// serves it: the manifest, the registry of versions on disk, the tokenizer, the behaviour features
// (the one path from behaviours to feature rows) and the models-topic event. It knows nothing of
// Kafka, ClickHouse or ONNX Runtime, so serving and the processors can import it.
package model

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// Architecture is the model's shape as train.py builds it.
type Architecture struct {
	Kind    string  `json:"kind"`
	Vocab   int     `json:"vocab"`
	MaxLen  int     `json:"max_len"`
	DModel  int     `json:"d_model"`
	Layers  int     `json:"layers"`
	Heads   int     `json:"heads"`
	FF      int     `json:"ff"`
	Dropout float64 `json:"dropout"`
	Pooling string  `json:"pooling"`
	Opset   int     `json:"opset"`
	Inputs  string  `json:"inputs"`
	Output  string  `json:"output"`
	// The behaviour-feature branch: an MLP of FeatureHidden units (0: linear, b + w·x) on the standardised
	// features, summed with the token branch's energy scaled by TextWeight (0: 1). NoText builds no
	// token branch (a features-only model). During training TextDropout drops the whole token term of
	// a row with that probability, so the features must rank on their own.
	Features      int     `json:"features,omitempty"`
	FeatureHidden int     `json:"feature_hidden,omitempty"`
	TextWeight    float64 `json:"text_weight,omitempty"`
	TextDropout   float64 `json:"text_dropout,omitempty"`
	NoText        bool    `json:"no_text,omitempty"`
}

// Validate reports why train.py could not build the architecture.
func (a Architecture) Validate() error {
	switch {
	case a.DModel < 8 || a.Layers < 1 || a.Heads < 1 || a.FF < 1:
		return fmt.Errorf("architecture: d_model %d, layers %d, heads %d, ff %d: all must be positive (d_model ≥ 8)", a.DModel, a.Layers, a.Heads, a.FF)
	case a.DModel%a.Heads != 0:
		return fmt.Errorf("architecture: d_model %d is not divisible by %d heads", a.DModel, a.Heads)
	case a.Dropout < 0 || a.Dropout >= 1:
		return fmt.Errorf("architecture: dropout %g outside [0, 1)", a.Dropout)
	case a.TextDropout < 0 || a.TextDropout >= 1 || a.TextWeight < 0:
		return fmt.Errorf("architecture: text dropout %g outside [0, 1) or text weight %g < 0", a.TextDropout, a.TextWeight)
	case a.FeatureHidden < 0:
		return fmt.Errorf("architecture: feature hidden width %d", a.FeatureHidden)
	}
	return nil
}

// InputNames is the graph's input names for a model of architecture a.
func (a Architecture) InputNames() []string {
	var in []string
	if !a.NoText {
		in = append(in, InputIDs, InputMask)
	}
	if a.Features > 0 {
		in = append(in, InputFeatures)
	}
	return in
}

// TrainingInfo is how a version was trained, as train.py reported it.
type TrainingInfo struct {
	Epochs           int              `json:"epochs"`
	BatchSize        int              `json:"batch_size"`
	LR               float64          `json:"lr"`
	Margin           float64          `json:"margin"`
	PointwiseWeight  float64          `json:"pointwise_weight"`
	Patience         int              `json:"patience"`
	MaxSteps         int              `json:"max_steps,omitempty"`
	Objective        string           `json:"objective,omitempty"` // pairs | request (absent: pairs)
	L2               float64          `json:"l2,omitempty"`        // the request objective's L2 on the feature weights
	Seed             int64            `json:"seed"`
	ValFold          int              `json:"val_fold"`
	Folds            int              `json:"folds"`
	BestEpoch        int              `json:"best_epoch"`
	Steps            int              `json:"steps"`
	Device           string           `json:"device"`
	CUDADevice       string           `json:"cuda_device,omitempty"`
	AMP              string           `json:"amp"`
	Torch            string           `json:"torch"`
	Params           int64            `json:"params"`
	TrainSeconds     float64          `json:"train_seconds"`
	TotalSeconds     float64          `json:"total_seconds"`
	TrainPairs       int              `json:"train_pairs"`
	ValPairs         int              `json:"val_pairs"`
	ParityMaxAbsDiff float64          `json:"parity_max_abs_diff"`
	ParityRuntime    string           `json:"parity_runtime"`
	History          []map[string]any `json:"history"`
}

// DatasetInfo names exactly the data a version was trained on.
type DatasetInfo struct {
	Hash        string                  `json:"hash"`
	Stats       Stats                   `json:"stats"`
	K           int                     `json:"k"`
	DrawSize    int                     `json:"draw_size,omitempty"` // requests were trained as Draws draws of DrawSize candidates
	Draws       int                     `json:"draws,omitempty"`
	Splits      []string                `json:"splits,omitempty"`
	Benchmarks  []string                `json:"benchmarks,omitempty"`
	Models      []string                `json:"models,omitempty"`
	Consumed    []schemas.ConsumedRange `json:"consumed"`
	Undecodable map[string]int          `json:"undecodable,omitempty"`
	LabelsFrom  string                  `json:"labels_from,omitempty"` // set when the labels did not come from the verdicts topic
}

// Manifest describes one registered model version (models/<version>/manifest.json).
type Manifest struct {
	Version      string        `json:"version"`
	CreatedAt    time.Time     `json:"created_at"`
	CodeRevision string        `json:"code_revision"`
	ModelFile    string        `json:"model_file"`
	ModelSHA256  string        `json:"model_sha256"`
	Tokenizer    TokenizerSpec `json:"tokenizer"`
	MaxLen       int           `json:"max_len"`
	Architecture Architecture  `json:"architecture"`
	// Inputs names the ONNX graph's inputs: input_ids and attention_mask (int64 [batch, sequence])
	// and/or features (float32 [batch, len(Features.Names)]). Absent in a version from before
	// behaviour features: the two token inputs.
	Inputs []string `json:"inputs,omitempty"`
	// Features is the behaviour features the model reads; nil for a code-only model.
	Features *FeatureSpec `json:"features,omitempty"`
	Dataset  DatasetInfo  `json:"dataset"`
	Training TrainingInfo `json:"training"`
	Metrics  Metrics      `json:"metrics"`
}

// ONNX input names of the verifier's graph.
const (
	InputIDs      = "input_ids"
	InputMask     = "attention_mask"
	InputFeatures = "features"
)

// ModelInputs is the graph's inputs as the manifest records them (the token pair for a version that
// predates the field).
func (m Manifest) ModelInputs() []string {
	if len(m.Inputs) == 0 {
		return []string{InputIDs, InputMask}
	}
	return m.Inputs
}

// FeatureNames is the behaviour features the model reads, in column order (none: code only).
func (m Manifest) FeatureNames() []string {
	if m.Features == nil {
		return nil
	}
	return m.Features.Names
}

// Stats counts what building kept and dropped.
type Stats struct {
	Problems                  int `json:"problems"` // problems with at least one example
	Examples                  int `json:"examples"`
	Pass                      int `json:"pass"`
	Fail                      int `json:"fail"`
	Pairs                     int `json:"pairs"`
	ProblemsWithoutPass       int `json:"problems_without_pass"`
	ProblemsWithoutFail       int `json:"problems_without_fail"`
	DuplicatesDropped         int `json:"duplicates_dropped"` // same (problem, code) seen again
	FilteredOut               int `json:"filtered_out"`       // labeled, but not of the chosen splits/benchmarks/models
	CandidatesWithoutVerdict  int `json:"candidates_without_verdict"`
	VerdictsWithoutCandidate  int `json:"verdicts_without_candidate"`
	CandidatesWithoutProblem  int `json:"candidates_without_problem"`
	Requests                  int `json:"requests"`
	RequestsWithoutPairs      int `json:"requests_without_pairs"` // no PASS or no FAIL: pointwise examples only
	ExamplesWithBehavior      int `json:"examples_with_behavior"`
	ExamplesWithoutBehavior   int `json:"examples_without_behavior"` // their features are those of "no tests"
	BehaviorsWithoutCandidate int `json:"behaviors_without_candidate"`
	// With draws (BuildOptions.Draws): the draw size and count, the requests drawn from (more than
	// DrawSize candidates) and those used whole, and the groups (draws) the examples are ranked in.
	DrawSize      int `json:"draw_size,omitempty"`
	Draws         int `json:"draws,omitempty"`
	RequestsDrawn int `json:"requests_drawn,omitempty"`
	RequestsWhole int `json:"requests_whole,omitempty"`
	Groups        int `json:"groups,omitempty"`
}

// Float is a float64 whose JSON form is null when it is NaN (a metric with nothing to measure,
// e.g. pairwise accuracy when no validation problem has both a PASS and a FAIL).
type Float float64

// MarshalJSON writes null for NaN and ±Inf.
func (f Float) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// UnmarshalJSON reads null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	err := json.Unmarshal(b, &v)
	*f = Float(v)
	return err
}

// Metrics are the end-of-training figures on the validation problems.
type Metrics struct {
	ValProblems int `json:"val_problems"`
	ValExamples int `json:"val_examples"` // generated samples: a deduplicated code counts its copies
	// PairwiseAccuracy: over every (PASS, FAIL) pair of the same problem, how often E(pass) < E(fail)
	// (ties count half).
	PairwiseAccuracy Float `json:"pairwise_accuracy"`
	// AUROC of -energy as a PASS score, pooled over all validation examples.
	AUROC Float `json:"auroc"`
	// Reranking all of a problem's candidates: pass@1 of the lowest-energy one, a random one, and
	// the oracle (any candidate passes), averaged over problems.
	RerankedPass1 Float `json:"reranked_pass1"`
	RandomPass1   Float `json:"random_pass1"`
	OraclePass    Float `json:"oracle_pass"`
	// The evaluation protocol: K random candidates per problem (K = 16, or n when fewer), exactly in
	// expectation: the verifier's pick among them, and the oracle pass@K.
	K                int   `json:"k"`
	VerifierPass1AtK Float `json:"verifier_pass1_at_k"`
	OraclePassAtK    Float `json:"oracle_pass_at_k"`
}

// Event is m as the models topic and the training_runs table carry it.
func (m Metrics) Event() schemas.ModelMetrics {
	return schemas.ModelMetrics{ValProblems: int32(m.ValProblems), ValExamples: int32(m.ValExamples),
		PairwiseAccuracy: float64(m.PairwiseAccuracy), AUROC: float64(m.AUROC), RerankedPass1: float64(m.RerankedPass1),
		RandomPass1: float64(m.RandomPass1), OraclePass: float64(m.OraclePass), K: int32(m.K),
		VerifierPass1AtK: float64(m.VerifierPass1AtK), OraclePassAtK: float64(m.OraclePassAtK)}
}
