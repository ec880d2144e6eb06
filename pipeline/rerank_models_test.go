package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
)

// TestRerankRunModelsTopic: with registry polling off, versions come only from the models topic.
// Bad announcements (junk, missing files, a checksum that is not the file's) are rejected and the
// old version keeps serving; a good one, whose trainer path is not on this host, is found in the
// registry and swapped in while requests stream: a request under way finishes on the old version,
// later ones get the new, no candidate is scored twice or lost, and each score is the energy of
// the version it names. Older and equal re-announcements change nothing.
func TestRerankRunModelsTopic(t *testing.T) {
	m1 := testkit.TinyModel(t, rerankTinyModel) // skips without ONNX Runtime or torch unless CODEVERIFY_REQUIRE_ORT=1
	registry := filepath.Dir(m1.Dir)
	ctx := context.Background()
	e := startRerank(t, RerankConfig{Model: registry, Runtime: serving.Runtime{Provider: "cpu", Threads: 1},
		Bound: 3 * time.Minute, FlushEvery: 20 * time.Millisecond, ReloadEvery: 0, ModelsTopic: true, // S spans the whole test: no partials
		MaxBatch: 4, MaxInFlight: 64})
	brokers, problems := e.env.Cluster(), e.problems
	// In the registry from now on, but with polling off only an announcement may bring it in.
	tm2 := rerankTinyModel
	tm2.Seed = 2
	m2, err := rerankBuildModel(ctx, registry, tm2)
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := m1.Manifest.Version, m2.Manifest.Version

	codes := map[string]schemas.Candidate{} // every candidate published, by id
	expected := map[string]int{}            // candidates per request
	send := func(req string, p schemas.Problem, n int, cs []schemas.Candidate) error {
		if n > 0 {
			expected[req] = n
			if err := e.prompts.Publish(ctx, schemas.Prompt{RequestID: req, ProblemID: p.ProblemID, N: int32(n), Purpose: "eval"}); err != nil {
				return err
			}
		}
		for _, c := range cs {
			codes[c.CandidateID] = c
		}
		return e.cands.Publish(ctx, cs...)
	}
	// A is whole; S (same problem, so the same partition, after A) gets 2 of its 3 candidates now
	// and its third after the swap.
	s3 := rerankRequest("S", problems[0], 3)
	if err := send("A", problems[0], 2, rerankRequest("A", problems[0], 2)); err != nil {
		t.Fatal(err)
	}
	if err := send("S", problems[0], 3, s3[:2]); err != nil {
		t.Fatal(err)
	}
	e.waitSelections(t, 1, 30*time.Second)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(e.metrics(t), "\ncodeverify_reranker_open_requests 1\n"); {
		if time.Now().After(deadline) {
			t.Fatal("request S never opened")
		}
		time.Sleep(50 * time.Millisecond)
	} // S is open (on v1) from here on

	// Bad announcements: none swaps, each is logged with its reason.
	if err := streams.PublishRaw(ctx, brokers, streams.TopicModels, []byte("junk"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	missing := m2.Manifest
	missing.Version, missing.CreatedAt = "20990101T000000Z-missing", m2.Manifest.CreatedAt.Add(time.Hour)
	if err := trainer.AnnounceModel(ctx, brokers, "/nonexistent/trainer-host/models/"+missing.Version, missing); err != nil {
		t.Fatal(err)
	}
	tampered := m2.Manifest
	tampered.ModelSHA256 = strings.Repeat("0", 64)
	if err := trainer.AnnounceModel(ctx, brokers, m2.Dir, tampered); err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, `"msg":"announced model version not loaded; still serving the old one"`, 3, 30*time.Second)
	for _, reason := range []string{"model event: neither Avro nor a legacy JSON event", "no manifest.json in /nonexistent/trainer-host/models/" + missing.Version,
		"model sha256 " + m2.Manifest.ModelSHA256 + ", event announced " + tampered.ModelSHA256} {
		if !strings.Contains(e.logs.String(), reason) {
			t.Errorf("no rejection with %q:\n%s", reason, e.logs.String())
		}
	}
	if err := send("B", problems[1], 2, rerankRequest("B", problems[1], 2)); err != nil {
		t.Fatal(err)
	}
	e.waitSelections(t, 2, 30*time.Second)

	// The good announcement lands while requests C0…C5 stream in.
	streamed := make(chan error, 1)
	go func() {
		var err error
		for i := range 6 {
			req := fmt.Sprintf("C%d", i)
			if err = send(req, problems[i%4], 2, rerankRequest(req, problems[i%4], 2)); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		streamed <- err
	}()
	time.Sleep(250 * time.Millisecond)
	if err := trainer.AnnounceModel(ctx, brokers, "/nonexistent/trainer-host/models/"+v2, m2.Manifest); err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, `"msg":"reranker model swapped in","model":"`+v2, 1, 30*time.Second)
	if err := <-streamed; err != nil {
		t.Fatal(err)
	}
	if err := e.cands.Publish(ctx, s3[2]); err != nil {
		t.Fatal(err)
	}
	codes[s3[2].CandidateID] = s3[2]
	if err := send("D", problems[3], 2, rerankRequest("D", problems[3], 2)); err != nil {
		t.Fatal(err)
	}
	e.waitSelections(t, 10, 30*time.Second)

	// Re-announcing the old version and the serving one changes nothing. The old one is announced
	// as a legacy JSON event (written before the model_event schema), which must still decode.
	legacy, err := json.Marshal(map[string]any{"version": v1, "created_at": m1.Manifest.CreatedAt, "path": m1.Dir,
		"model_sha256": m1.Manifest.ModelSHA256, "metrics": map[string]any{"pairwise_accuracy": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if err := streams.PublishRaw(ctx, brokers, streams.TopicModels, []byte(v1), legacy); err != nil {
		t.Fatal(err)
	}
	if err := trainer.AnnounceModel(ctx, brokers, m2.Dir, m2.Manifest); err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, `"msg":"announced model version is not newer than the one serving; ignored"`, 2, 30*time.Second)
	if err := send("E", problems[2], 2, rerankRequest("E", problems[2], 2)); err != nil {
		t.Fatal(err)
	}
	sels := e.waitSelections(t, 11, 30*time.Second)

	// Every candidate scored exactly once, by the version its request's selection names.
	scores, bad, err := streams.ReadAll(ctx, brokers, streams.TopicScores, e.rc.Score)
	if err != nil || bad > 0 {
		t.Fatalf("read scores: %v (undecodable %d)", err, bad)
	}
	byID := map[string]schemas.Score{}
	for _, sc := range scores {
		if _, dup := byID[sc.CandidateID]; dup {
			t.Errorf("candidate %s scored twice", sc.CandidateID)
		}
		byID[sc.CandidateID] = sc
	}
	for id := range codes {
		if _, ok := byID[id]; !ok {
			t.Errorf("candidate %s never scored", id)
		}
	}
	if len(byID) != len(codes) {
		t.Errorf("%d candidates scored, %d published", len(byID), len(codes))
	}
	version := map[string]string{}
	for _, s := range sels {
		version[s.RequestID] = s.ModelVersion
		if s.Partial || int(s.Candidates) != expected[s.RequestID] {
			t.Errorf("selection %+v: want %d candidates, complete", s, expected[s.RequestID])
		}
		if best, bestE := rerankMinEnergy(scores, s.RequestID); s.CandidateID != best || s.Energy != bestE {
			t.Errorf("selection %s picked %s (%g), min energy is %s (%g)", s.RequestID, s.CandidateID, s.Energy, best, bestE)
		}
	}
	for req, want := range map[string]string{"A": v1, "B": v1, "S": v1, "D": v2, "E": v2} {
		if version[req] != want {
			t.Errorf("request %s served by %q, want %s", req, version[req], want)
		}
	}
	for i := range 6 {
		if v := version[fmt.Sprintf("C%d", i)]; v != v1 && v != v2 {
			t.Errorf("request C%d served by %q", i, v)
		}
	}

	// Each energy is what the named version computes: the label is the model that scored.
	energy := map[string]func(schemas.Candidate) float64{v1: rerankReferenceEnergy(t, m1.Dir, problems), v2: rerankReferenceEnergy(t, m2.Dir, problems)}
	for id, sc := range byID {
		if sc.ModelVersion != version[sc.RequestID] {
			t.Errorf("score %+v: its request was served by %s", sc, version[sc.RequestID])
		}
		if f := energy[sc.ModelVersion]; f == nil {
			t.Errorf("score %+v: unknown version", sc)
		} else if want := f(codes[id]); math.Abs(sc.Energy-want) > 1e-4 {
			t.Errorf("score %+v: version %s gives %g", sc, sc.ModelVersion, want)
		}
	}
	if d := codes[schemas.CandidateID("D", 0)]; math.Abs(energy[v1](d)-energy[v2](d)) < 1e-3 {
		t.Errorf("the two versions score alike (%g): the energies cannot tell which one scored", energy[v1](d))
	}

	metrics := e.metrics(t)
	for _, want := range []string{
		`codeverify_reranker_model_info{version="` + v2 + `"} 1`,
		"codeverify_reranker_model_swaps_total 1", "codeverify_reranker_model_swap_failures_total 2",
		"codeverify_reranker_model_events_total 6", "codeverify_reranker_model_events_rejected_total 3",
		"codeverify_reranker_selections_total 11", "codeverify_reranker_partial_selections_total 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

// rerankReferenceEnergy scores a candidate against its problem with the version at dir, outside the
// reranker.
func rerankReferenceEnergy(t *testing.T, dir string, ps []schemas.Problem) func(schemas.Candidate) float64 {
	t.Helper()
	model, _, err := rerankOpener(serving.Runtime{Provider: "cpu", Threads: 1}, 1, nil)(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { model.Close() })
	problems := map[string]string{}
	for _, p := range ps {
		problems[p.ProblemID] = p.Prompt
	}
	return func(c schemas.Candidate) float64 {
		es, err := model.ScorePairs(context.Background(), []reranker.Pair{{Prompt: problems[c.ProblemID], Code: c.Code}})
		if err != nil {
			t.Fatal(err)
		}
		return float64(es[0])
	}
}
