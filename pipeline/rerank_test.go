package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// rerankTinyModel is a code-only model small enough for the tests.
var rerankTinyModel = trainer.TinyModel{MaxLen: 128, DModel: 32, Layers: 1}

// rerankBuildModel registers a tiny untrained model in registryDir and loads it.
func rerankBuildModel(ctx context.Context, registryDir string, tm trainer.TinyModel) (serving.Model, error) {
	dir, err := trainer.BuildTinyModel(ctx, registryDir, tm)
	if err != nil {
		return serving.Model{}, err
	}
	return serving.LoadModel(dir)
}

// rerankEnv is the embedded broker with the topic catalog and four HumanEval problems published;
// logs holds the JSON log of everything run on env.
type rerankEnv struct {
	env      *config.Env
	codecs   *schemas.Codecs
	rc       *schemas.RerankCodecs
	logs     *testkit.SyncBuffer
	problems []schemas.Problem
	prompts  *streams.Producer[schemas.Prompt]
	cands    *streams.Producer[schemas.Candidate]
	svc      *ops.Service
}

func newRerankEnv(t *testing.T) *rerankEnv {
	t.Helper()
	e := &rerankEnv{}
	e.env, e.codecs, e.logs = brokerEnv(t)
	// The tests wait for what the reranker logs at info level (swaps, rejected versions).
	e.env.Log = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	all, err := producers.LoadProblems(filepath.Join(testkit.DataDir(t), "samples", "codet_humaneval_codegen16b", "HumanEval_for_code_generation.jsonl"))
	if err != nil {
		t.Fatalf("HumanEval problems (set CODEVERIFY_DATA_DIR): %v", err)
	}
	e.problems = all[:4]
	if err := PublishProblems(context.Background(), e.env, e.codecs, e.problems); err != nil {
		t.Fatal(err)
	}
	if e.rc, err = schemas.NewRerankCodecs(); err != nil {
		t.Fatal(err)
	}
	e.prompts = streams.NewProducer(e.env.Cluster(), streams.TopicPrompts, e.codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	t.Cleanup(func() { e.prompts.Close() })
	e.cands = streams.NewProducer(e.env.Cluster(), streams.TopicCandidates, e.codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	t.Cleanup(func() { e.cands.Close() })
	return e
}

// startRerank runs the reranker on e as rerank run does (its metrics on e.svc) and returns once
// its consumers run; cleanup stops it and fails the test on its error.
func startRerank(t *testing.T, cfg RerankConfig) *rerankEnv {
	t.Helper()
	e := newRerankEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	if e.svc, err = ops.StartService(ctx, e.env, ops.CheckStarted); err != nil {
		t.Fatal(err)
	}
	cfg.Metrics = e.svc.Metrics
	r, err := NewReranker(ctx, e.env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Observe(ctx, e.svc); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func() { close(started) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		r.Close()
		e.svc.Close()
	})
	select {
	case <-started:
	case err := <-done:
		t.Fatal(err)
	}
	return e
}

// rerankRequest is n candidates of problem p for request req (sample i returns i).
func rerankRequest(req string, p schemas.Problem, n int) []schemas.Candidate {
	var cs []schemas.Candidate
	for i := range n {
		cs = append(cs, schemas.Candidate{CandidateID: schemas.CandidateID(req, i), RequestID: req, ProblemID: p.ProblemID,
			Benchmark: p.Benchmark, Split: p.Split, SampleIndex: int32(i), Code: p.Prompt + fmt.Sprintf("    return %d\n", i), Model: "m"})
	}
	return cs
}

// waitLog waits until the log has at least n lines containing s.
func (e *rerankEnv) waitLog(t *testing.T, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(e.logs.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log has %d lines with %q, want %d:\n%s", strings.Count(e.logs.String(), s), s, n, e.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metrics is what /metrics shows of the reranker's registry.
func (e *rerankEnv) metrics(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(e.svc.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestRerankRunEndToEnd: prompts + candidates topics → the reranker → scores + selections topics over
// the embedded broker, with a real ONNX model. A complete request, a partial one (the prompt asks
// for more than arrive), one without a prompt, a redelivered candidate, then a new registry version
// swapped in while running: later requests carry it.
func TestRerankRunEndToEnd(t *testing.T) {
	m1 := testkit.TinyModel(t, rerankTinyModel) // skips without ONNX Runtime or torch unless CODEVERIFY_REQUIRE_ORT=1
	registry := filepath.Dir(m1.Dir)
	ctx := context.Background()
	// Registry polling only: this test is about the registry source.
	e := startRerank(t, RerankConfig{Model: registry, Runtime: serving.Runtime{Provider: "cpu", Threads: 1},
		Bound: 3 * time.Second, FlushEvery: 20 * time.Millisecond, ReloadEvery: 100 * time.Millisecond,
		MaxBatch: 4, MaxInFlight: 64})
	problems, prompts, cands := e.problems, e.prompts, e.cands
	// A: prompt says 3, 3 arrive (one of them twice). B: prompt says 4, 2 arrive. C: no prompt.
	a3, b2, c1 := rerankRequest("A", problems[0], 3), rerankRequest("B", problems[1], 2), rerankRequest("C", problems[2], 1)
	if err := prompts.Publish(ctx, schemas.Prompt{RequestID: "A", ProblemID: problems[0].ProblemID, N: 3, Purpose: "eval"},
		schemas.Prompt{RequestID: "B", ProblemID: problems[1].ProblemID, N: 4, Purpose: "eval"}); err != nil {
		t.Fatal(err)
	}
	if err := cands.Publish(ctx, append(append(append(a3, a3[1]), b2...), c1...)...); err != nil {
		t.Fatal(err)
	}
	sels := e.waitSelections(t, 3, 30*time.Second)
	want := map[string]struct {
		n, expected int32
		partial     bool
	}{"A": {3, 3, false}, "B": {2, 4, true}, "C": {1, 0, true}}
	scores := e.waitScores(t, 6, 10*time.Second)
	for _, s := range sels {
		w := want[s.RequestID]
		if s.Candidates != w.n || s.Expected != w.expected || s.Partial != w.partial || s.ModelVersion != m1.Manifest.Version {
			t.Errorf("selection %+v, want %d candidates of %d, partial %v, model %s", s, w.n, w.expected, w.partial, m1.Manifest.Version)
		}
		// The selected candidate is the request's min energy among its scores.
		best, bestE := rerankMinEnergy(scores, s.RequestID)
		if s.CandidateID != best || s.Energy != bestE || s.ProblemID == "" {
			t.Errorf("selection %s picked %s (%g), min energy is %s (%g)", s.RequestID, s.CandidateID, s.Energy, best, bestE)
		}
	}
	for _, sc := range scores {
		if sc.ModelVersion != m1.Manifest.Version || sc.ProblemID == "" {
			t.Errorf("score %+v: want model %s and a problem", sc, m1.Manifest.Version)
		}
	}

	// A late redelivery of a selected request's candidate is committed without a second selection.
	if err := cands.Publish(ctx, a3[0]); err != nil {
		t.Fatal(err)
	}

	// Hot reload: a new version in the registry is picked up; requests after it are scored by it.
	tm2 := rerankTinyModel
	tm2.Seed = 2
	m2, err := rerankBuildModel(ctx, registry, tm2)
	if err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, `"msg":"reranker model swapped in","model":"`+m2.Manifest.Version, 1, 30*time.Second)
	d2 := rerankRequest("D", problems[3], 2)
	if err := prompts.Publish(ctx, schemas.Prompt{RequestID: "D", ProblemID: problems[3].ProblemID, N: 2, Purpose: "eval"}); err != nil {
		t.Fatal(err)
	}
	if err := cands.Publish(ctx, d2...); err != nil {
		t.Fatal(err)
	}
	for _, s := range e.waitSelections(t, 4, 30*time.Second) {
		if s.RequestID == "D" && (s.ModelVersion != m2.Manifest.Version || s.Partial || s.Candidates != 2) {
			t.Errorf("selection after reload %+v, want model %s, complete, 2 candidates", s, m2.Manifest.Version)
		}
	}
	for _, sc := range e.waitScores(t, 8, 10*time.Second) {
		if sc.RequestID == "D" && sc.ModelVersion != m2.Manifest.Version {
			t.Errorf("score after reload %+v, want model %s", sc, m2.Manifest.Version)
		}
	}
	// Past the bound, the late duplicate of A has still not made a second (partial) selection.
	time.Sleep(3500 * time.Millisecond)
	e.waitSelections(t, 4, 0)

	body := e.metrics(t)
	for _, want := range []string{
		`codeverify_reranker_model_info{version="` + m2.Manifest.Version + `"} 1`,
		`codeverify_reranker_provider{provider="cpu"} 1`,
		"codeverify_reranker_model_swaps_total 1", "codeverify_reranker_selections_total 4",
		"codeverify_reranker_partial_selections_total 2", `codeverify_runner_processed_total{processor="reranker"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// rerankMinEnergy is a request's min-energy candidate among scores (ties to the smaller id).
func rerankMinEnergy(scores []schemas.Score, requestID string) (best string, bestE float64) {
	for _, sc := range scores {
		if sc.RequestID == requestID && (best == "" || sc.Energy < bestE || (sc.Energy == bestE && sc.CandidateID < best)) {
			best, bestE = sc.CandidateID, sc.Energy
		}
	}
	return best, bestE
}

// waitSelections polls the selections topic until want distinct requests are selected; a request
// selected twice is an error.
func (e *rerankEnv) waitSelections(t *testing.T, want int, timeout time.Duration) []schemas.Selection {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sels, bad, err := streams.ReadAll(context.Background(), e.env.Cluster(), streams.TopicSelections, e.rc.Selection)
		if err != nil || bad > 0 {
			t.Fatalf("read selections: %v (undecodable %d)", err, bad)
		}
		if len(sels) >= want || time.Now().After(deadline) {
			seen := map[string]bool{}
			for _, s := range sels {
				if seen[s.RequestID] {
					t.Errorf("request %s selected twice", s.RequestID)
				}
				seen[s.RequestID] = true
			}
			if len(sels) != want {
				t.Fatalf("%d selections, want %d: %+v", len(sels), want, sels)
			}
			return sels
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitScores polls the scores topic until want distinct candidates are scored; a redelivered
// candidate may be scored twice, but with the same energy and version.
func (e *rerankEnv) waitScores(t *testing.T, want int, timeout time.Duration) []schemas.Score {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scores, bad, err := streams.ReadAll(context.Background(), e.env.Cluster(), streams.TopicScores, e.rc.Score)
		if err != nil || bad > 0 {
			t.Fatalf("read scores: %v (undecodable %d)", err, bad)
		}
		byID := map[string]schemas.Score{}
		for _, s := range scores {
			if old, ok := byID[s.CandidateID]; ok && (old.Energy != s.Energy || old.ModelVersion != s.ModelVersion) {
				t.Errorf("candidate %s scored twice differently: %+v, %+v", s.CandidateID, old, s)
			}
			byID[s.CandidateID] = s
		}
		if len(byID) >= want || time.Now().After(deadline) {
			if len(byID) != want {
				t.Fatalf("%d scored candidates, want %d", len(byID), want)
			}
			out := make([]schemas.Score, 0, len(byID))
			for _, s := range byID {
				out = append(out, s)
			}
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}
