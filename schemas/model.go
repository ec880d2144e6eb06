package schemas

import (
	"errors"
	"fmt"
)

// ModelEvent announces a registered model version on the models topic: where it is and what it
// scored. Checking it against the version's manifest is package model's job.
type ModelEvent struct {
	Version      string
	CreatedAtNs  int64 // the manifest's created_at: nanoseconds, since a reranker compares it exactly
	Path         string
	ModelSHA256  string
	DatasetHash  string
	Tokenizer    string
	MaxLen       int32
	CodeRevision string
	Metrics      ModelMetrics
}

// ModelMetrics are a version's end-of-training figures; NaN where there was nothing to measure.
type ModelMetrics struct {
	ValProblems      int32
	ValExamples      int32
	PairwiseAccuracy float64
	AUROC            float64
	RerankedPass1    float64
	RandomPass1      float64
	OraclePass       float64
	K                int32
	VerifierPass1AtK float64
	OraclePassAtK    float64
}

// ModelEventKey is the message key of a ModelEvent: the version, so compaction keeps one per version.
func ModelEventKey(e ModelEvent) string { return e.Version }

// Validate reports why an event cannot name a version.
func (e ModelEvent) Validate() error {
	if e.Version == "" || e.ModelSHA256 == "" {
		return errors.New("model event: empty version or model_sha256")
	}
	return nil
}

func modelEventToNative(e ModelEvent) map[string]any {
	m := e.Metrics
	return map[string]any{
		"version": e.Version, "created_at_ns": e.CreatedAtNs, "path": e.Path, "model_sha256": e.ModelSHA256,
		"dataset_hash": e.DatasetHash, "tokenizer": e.Tokenizer, "max_len": e.MaxLen, "code_revision": e.CodeRevision,
		"metrics": map[string]any{
			"val_problems": m.ValProblems, "val_examples": m.ValExamples, "pairwise_accuracy": m.PairwiseAccuracy,
			"auroc": m.AUROC, "reranked_pass1": m.RerankedPass1, "random_pass1": m.RandomPass1, "oracle_pass": m.OraclePass,
			"k": m.K, "verifier_pass1_at_k": m.VerifierPass1AtK, "oracle_pass_at_k": m.OraclePassAtK,
		},
	}
}

func modelEventFromNative(m map[string]any) (ModelEvent, error) {
	f := fields{m: m}
	e := ModelEvent{
		Version: f.str("version"), CreatedAtNs: f.i64("created_at_ns"), Path: f.str("path"), ModelSHA256: f.str("model_sha256"),
		DatasetHash: f.str("dataset_hash"), Tokenizer: f.str("tokenizer"), MaxLen: f.i32("max_len"), CodeRevision: f.str("code_revision"),
	}
	r, ok := m["metrics"].(map[string]any)
	if !ok {
		f.fail("metrics", "record", m["metrics"])
		return e, f.err
	}
	mf := fields{m: r}
	e.Metrics = ModelMetrics{
		ValProblems: mf.i32("val_problems"), ValExamples: mf.i32("val_examples"), PairwiseAccuracy: mf.f64("pairwise_accuracy"),
		AUROC: mf.f64("auroc"), RerankedPass1: mf.f64("reranked_pass1"), RandomPass1: mf.f64("random_pass1"),
		OraclePass: mf.f64("oracle_pass"), K: mf.i32("k"), VerifierPass1AtK: mf.f64("verifier_pass1_at_k"),
		OraclePassAtK: mf.f64("oracle_pass_at_k"),
	}
	if f.err == nil {
		f.err = mf.err
	}
	return e, f.err
}

// NewModelEventCodec builds the codec of the embedded model_event schema.
func NewModelEventCodec() (*Codec[ModelEvent], error) {
	c, err := NewCodec(SchemaText("model_event"), modelEventToNative, modelEventFromNative)
	if err != nil {
		return nil, fmt.Errorf("model event: %w", err)
	}
	return c, nil
}
