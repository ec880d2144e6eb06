package model

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

func TestDecodeEventAndMatches(t *testing.T) {
	codec, err := schemas.NewModelEventCodec()
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 27, 11, 24, 14, 123456789, time.UTC)
	m := Manifest{Version: NewVersion(created, "35cc8c83aa"), CreatedAt: created, ModelSHA256: strings.Repeat("ab", 32),
		Metrics: Metrics{ValProblems: 2, PairwiseAccuracy: Float(math.NaN()), AUROC: 0.5, K: 16}}
	good := NewEvent("/models/"+m.Version, m)
	b, err := codec.Encode(good)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := DecodeEvent(codec, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := Matches(ev, m); err != nil {
		t.Errorf("the announced manifest does not match its own event: %v", err)
	}
	if !EventTime(ev).Equal(created) || ev.Path != good.Path || !math.IsNaN(ev.Metrics.PairwiseAccuracy) || ev.Metrics.AUROC != 0.5 {
		t.Errorf("decoded %+v", ev)
	}

	for name, mutate := range map[string]func(*schemas.ModelEvent){
		"path traversal": func(e *schemas.ModelEvent) { e.Version = "../etc" },
		"no version":     func(e *schemas.ModelEvent) { e.Version = "" },
		"no time":        func(e *schemas.ModelEvent) { e.CreatedAtNs = 0 },
		"short sha":      func(e *schemas.ModelEvent) { e.ModelSHA256 = "abab" },
	} {
		bad := good
		mutate(&bad)
		b, err := codec.Encode(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeEvent(codec, b); err == nil {
			t.Errorf("%s: decoded %+v", name, bad)
		}
	}
	for _, junk := range []string{"{not json", "", "\xc3\x01junk"} {
		if _, err := DecodeEvent(codec, []byte(junk)); err == nil {
			t.Errorf("decoded junk %q", junk)
		}
	}

	for name, mutate := range map[string]func(*Manifest){
		"other version": func(m *Manifest) { m.Version += "x" },
		"other model":   func(m *Manifest) { m.ModelSHA256 = strings.Repeat("cd", 32) },
		"no checksum":   func(m *Manifest) { m.ModelSHA256 = "" },
		"other time":    func(m *Manifest) { m.CreatedAt = m.CreatedAt.Add(time.Nanosecond) },
		"no time":       func(m *Manifest) { m.CreatedAt = time.Time{} },
	} {
		other := m
		mutate(&other)
		if err := Matches(ev, other); !errors.Is(err, ErrModelMismatch) {
			t.Errorf("%s: Matches = %v, want ErrModelMismatch", name, err)
		}
	}
}

// TestDecodeLegacyJSONEvent: a version announced before the Avro schema keeps its JSON event on the
// compacted models topic; a reranker must still read it as the same event.
func TestDecodeLegacyJSONEvent(t *testing.T) {
	codec, err := schemas.NewModelEventCodec()
	if err != nil {
		t.Fatal(err)
	}
	// Written by the JSON announcer (trainer.ModelEvent) before the schema: metrics NaN as null.
	const legacy = `{"version":"20261127T112414Z-35cc8c83","created_at":"2026-11-27T11:24:14.123456789Z","path":"/models/20261127T112414Z-35cc8c83",` +
		`"model_sha256":"` + "abababababababababababababababababababababababababababababababab" + `","dataset_hash":"35cc8c83aa","tokenizer":"bytes-v1",` +
		`"max_len":512,"code_revision":"abc","metrics":{"val_problems":3,"val_examples":40,"pairwise_accuracy":null,"auroc":0.75,` +
		`"reranked_pass1":0.5,"random_pass1":0.25,"oracle_pass":1,"k":16,"verifier_pass1_at_k":0.5,"oracle_pass_at_k":1}}`
	ev, err := DecodeEvent(codec, []byte(legacy))
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 27, 11, 24, 14, 123456789, time.UTC)
	want := schemas.ModelEvent{Version: "20261127T112414Z-35cc8c83", CreatedAtNs: created.UnixNano(), Path: "/models/20261127T112414Z-35cc8c83",
		ModelSHA256: strings.Repeat("ab", 32), DatasetHash: "35cc8c83aa", Tokenizer: "bytes-v1", MaxLen: 512, CodeRevision: "abc",
		Metrics: schemas.ModelMetrics{ValProblems: 3, ValExamples: 40, AUROC: 0.75, RerankedPass1: 0.5, RandomPass1: 0.25,
			OraclePass: 1, K: 16, VerifierPass1AtK: 0.5, OraclePassAtK: 1}}
	if !math.IsNaN(ev.Metrics.PairwiseAccuracy) {
		t.Errorf("null pairwise accuracy read as %v, want NaN", ev.Metrics.PairwiseAccuracy)
	}
	ev.Metrics.PairwiseAccuracy = 0
	if ev != want {
		t.Fatalf("legacy event:\n got %+v\nwant %+v", ev, want)
	}
	// The legacy event and the Avro one of the same manifest are the same announcement.
	m := Manifest{Version: want.Version, CreatedAt: created, ModelSHA256: want.ModelSHA256}
	if err := Matches(ev, m); err != nil {
		t.Error(err)
	}
	var bad map[string]any
	if err := json.Unmarshal([]byte(legacy), &bad); err != nil {
		t.Fatal(err)
	}
	bad["version"] = "../etc"
	b, _ := json.Marshal(bad)
	if _, err := DecodeEvent(codec, b); err == nil {
		t.Error("a legacy event with a path-traversing version decoded")
	}
}
