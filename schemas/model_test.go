package schemas

import (
	"errors"
	"math"
	"testing"
)

func TestModelEventRoundTrip(t *testing.T) {
	c, err := NewModelEventCodec()
	if err != nil {
		t.Fatal(err)
	}
	e := ModelEvent{Version: "20261127T112414Z-35cc8c83", CreatedAtNs: 1795778654123456789, Path: "/models/v", ModelSHA256: "ab",
		DatasetHash: "35cc8c83aa", Tokenizer: "bytes-v1", MaxLen: 512, CodeRevision: "abc+dirty",
		Metrics: ModelMetrics{ValProblems: 3, ValExamples: 40, PairwiseAccuracy: math.NaN(), AUROC: 0.75, RerankedPass1: 0.5,
			RandomPass1: 0.25, OraclePass: 1, K: 16, VerifierPass1AtK: 0.5, OraclePassAtK: 1}}
	b, err := c.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	// NaN (nothing to measure) survives the wire; compare it apart, since NaN != NaN.
	if !math.IsNaN(got.Metrics.PairwiseAccuracy) {
		t.Errorf("pairwise accuracy %v, want NaN", got.Metrics.PairwiseAccuracy)
	}
	got.Metrics.PairwiseAccuracy, e.Metrics.PairwiseAccuracy = 0, 0
	if got != e {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
	if _, err := c.Decode([]byte(`{"version":"v"}`)); !errors.Is(err, ErrDecode) {
		t.Errorf("JSON decoded as Avro: %v", err)
	}
	if _, err := c.Decode(b[:len(b)-4]); !errors.Is(err, ErrDecode) {
		t.Errorf("truncated event: %v", err)
	}
	if (ModelEvent{Version: "v"}).Validate() == nil || ModelEventKey(e) != e.Version {
		t.Error("an event without a checksum is valid, or the key is not the version")
	}
}
