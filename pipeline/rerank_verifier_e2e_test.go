package pipeline

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
)

// TestVerifierEndToEnd: generated tests + candidates → executor (dual execution) → behaviours →
// the reranker with a model that reads behaviour features → scores and selections, over the embedded
// broker with the real sandbox and ONNX Runtime. Every score must be the model's energy on the
// features computed from the behaviours on the topic, and each selection the request's minimum.
func TestVerifierEndToEnd(t *testing.T) {
	m := testkit.TinyModel(t, rerankFeatureModel)
	ctx := context.Background()
	e := startRerank(t, RerankConfig{Model: m.Dir, Runtime: serving.Runtime{Provider: "cpu", Threads: 1},
		Bound: 20 * time.Second, FlushEvery: 20 * time.Millisecond, MaxBatch: 8, MaxInFlight: 64})
	cluster, codecs := e.env.Cluster(), e.codecs
	p := e.problems[0] // has_close_elements(numbers, threshold)
	entry := p.EntryPoint

	tp := streams.NewProducer(cluster, streams.TopicTests, codecs.TestCase, schemas.TestCaseKey)
	defer tp.Close()
	asserts := []schemas.GeneratedAssert{
		{Code: "assert " + entry + "([1.0, 2.0, 3.0], 0.5) == False", Frequency: 3},
		{Code: "assert " + entry + "([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True", Frequency: 2},
		{Code: "assert " + entry + "([1.0], 0.5) == True", Frequency: 1}, // a wrong generated test
		{Code: "assert " + entry + "([1.0, 1.05], 0.1)", Frequency: 1},   // not of the f(x) == y shape
		{Code: "assert " + entry + "([], 1.0) == exit()", Frequency: 1},  // hostile
	}
	if err := tp.Publish(ctx, schemas.TestCase{TestSetID: "ts", ProblemID: p.ProblemID, Model: "m", Asserts: asserts}); err != nil {
		t.Fatal(err)
	}
	bodies := []string{
		"    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n",
		"    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n",
		"    return False\n",
		"    pass\n",
		"    return True\n",
		"    raise ValueError('nope')\n",
	}
	var cands []schemas.Candidate
	for i, b := range bodies {
		cands = append(cands, schemas.Candidate{CandidateID: schemas.CandidateID("R", i), RequestID: "R", ProblemID: p.ProblemID,
			Benchmark: p.Benchmark, Split: p.Split, SampleIndex: int32(i), Code: p.Prompt + b, Model: "m"})
	}
	if err := e.prompts.Publish(ctx, schemas.Prompt{RequestID: "R", ProblemID: p.ProblemID, N: int32(len(cands)), Purpose: "eval"}); err != nil {
		t.Fatal(err)
	}
	if err := e.cands.Publish(ctx, cands...); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	r, closeExecutor, err := NewExecutorRunner(runCtx, e.env, codecs, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done; closeExecutor() })

	sels := e.waitSelections(t, 1, 60*time.Second)
	scores := e.waitScores(t, len(cands), 10*time.Second)
	behaviors, bad, err := streams.ReadAll(ctx, cluster, streams.TopicBehaviors, codecs.Behavior)
	if err != nil || bad > 0 || len(behaviors) != len(cands) {
		t.Fatalf("behaviors topic: %d records, %d undecodable, err %v; want %d", len(behaviors), bad, err, len(cands))
	}
	byID := map[string]schemas.Behavior{}
	for _, b := range behaviors {
		byID[b.CandidateID] = b
		if len(b.Results) != len(asserts) {
			t.Fatalf("behaviour of %s has %d results, want %d", b.CandidateID, len(b.Results), len(asserts))
		}
	}
	// The right programs pass the two right tests and fail the wrong one; the stub returns None.
	for i, want := range map[int][]string{0: {"pass", "pass", "fail"}, 3: {"fail", "fail", "fail"}} {
		res := byID[cands[i].CandidateID].Results
		for j, w := range want {
			if res[j].Status != w {
				t.Errorf("candidate %d test %d: %s, want %s", i, j, res[j].Status, w)
			}
		}
	}
	if r := byID[cands[3].CandidateID].Results[0]; r.Fingerprint != schemas.FingerprintNone || !r.Shaped {
		t.Errorf("stub's first result %+v: want the None fingerprint on a shaped test", r)
	}
	if a, b := byID[cands[0].CandidateID].Results[1].Fingerprint, byID[cands[1].CandidateID].Results[1].Fingerprint; a == "" || a != b {
		t.Errorf("two right programs returned fingerprints %q and %q, want equal", a, b)
	}

	// The served energies are the model's on the features of the behaviours on the topic.
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.CandidateID
	}
	feats := model.RequestFeatures(ids, byID)
	s, err := serving.Open(m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want, err := s.ScoreFeatures(ctx, nil, nil, feats)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sc := range scores {
		got[sc.CandidateID] = sc.Energy
	}
	for i, id := range ids {
		if math.Abs(got[id]-float64(want[i])) > 1e-5 {
			t.Errorf("candidate %d: served energy %g, model on the topic's behaviours %g", i, got[id], want[i])
		}
	}
	best, bestE := rerankMinEnergy(scores, "R")
	if len(sels) != 1 || sels[0].CandidateID != best || sels[0].Energy != bestE || sels[0].Partial {
		t.Errorf("selections %+v, want %s (energy %g), complete", sels, best, bestE)
	}
}

// rerankFeatureModel is a small features-only model (this build's feature names).
var rerankFeatureModel = trainer.TinyModel{Features: true, NoText: true, MaxLen: 64, DModel: 16, Layers: 1}
