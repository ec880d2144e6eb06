package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
)

// syncBuffer is a log sink the test can read while the reranker writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rerankRunEnv is `rerank run` over the embedded broker with four HumanEval problems published;
// logs holds its JSON log.
type rerankRunEnv struct {
	a        *app
	rc       *schemas.RerankCodecs
	logs     *syncBuffer
	problems []schemas.Problem
	prompts  *streams.Producer[schemas.Prompt]
	cands    *streams.Producer[schemas.Candidate]
}

// startRerankRun starts rerankRun with o and returns once its consumers run; cleanup stops it and
// fails the test on its error.
func startRerankRun(t *testing.T, o rerankRunOptions) *rerankRunEnv {
	t.Helper()
	ctx := context.Background()
	a, codecs := genEnv(t)
	e := &rerankRunEnv{a: a, logs: &syncBuffer{}}
	a.Log = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var err error
	if e.rc, err = schemas.NewRerankCodecs(); err != nil {
		t.Fatal(err)
	}
	problemsPath, _ := humanEvalSubset(t, 4)
	if e.problems, err = producers.LoadProblems(problemsPath); err != nil {
		t.Fatal(err)
	}
	if err := a.publishProblems(ctx, codecs, e.problems); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.Config.MetricsAddr = ln.Addr().String()
	ln.Close()

	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- a.rerankRun(runCtx, o, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	e.prompts = streams.NewProducer(a.Cluster(), streams.TopicPrompts, codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	t.Cleanup(func() { e.prompts.Close() })
	e.cands = streams.NewProducer(a.Cluster(), streams.TopicCandidates, codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	t.Cleanup(func() { e.cands.Close() })
	return e
}

// testRequest is n candidates of problem p for request req (sample i returns i).
func testRequest(req string, p schemas.Problem, n int) []schemas.Candidate {
	var cs []schemas.Candidate
	for i := range n {
		cs = append(cs, schemas.Candidate{CandidateID: schemas.CandidateID(req, i), RequestID: req, ProblemID: p.ProblemID,
			Benchmark: p.Benchmark, Split: p.Split, SampleIndex: int32(i), Code: p.Prompt + fmt.Sprintf("    return %d\n", i), Model: "m"})
	}
	return cs
}

// waitLog waits until the log has at least n lines containing s.
func (e *rerankRunEnv) waitLog(t *testing.T, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(e.logs.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log has %d lines with %q, want %d:\n%s", strings.Count(e.logs.String(), s), s, n, e.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metrics is the reranker's /metrics page.
func (e *rerankRunEnv) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + e.a.Config.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestRerankRunEndToEnd: prompts + candidates topics → rerank run → scores + selections topics over
// the embedded broker, with a real ONNX model. A complete request, a partial one (the prompt asks
// for more than arrive), one without a prompt, a redelivered candidate, then a new registry version
// swapped in while running: later requests carry it.
func TestRerankRunEndToEnd(t *testing.T) {
	m1 := rerankTestModel(t) // skips without ONNX Runtime or torch unless CODEVERIFY_REQUIRE_ORT=1
	registry := filepath.Dir(m1.Dir)
	ctx := context.Background()
	// Registry polling only: this test is about the registry source.
	e := startRerankRun(t, rerankRunOptions{scorer: scorerFlags{model: registry, provider: "cpu", threads: 1},
		bound: 3 * time.Second, flushEvery: 20 * time.Millisecond, reloadEvery: 100 * time.Millisecond,
		maxBatch: 4, maxInFlight: 64})
	a, rc, problems, prompts, cands := e.a, e.rc, e.problems, e.prompts, e.cands
	// A: prompt says 3, 3 arrive (one of them twice). B: prompt says 4, 2 arrive. C: no prompt.
	a3, b2, c1 := testRequest("A", problems[0], 3), testRequest("B", problems[1], 2), testRequest("C", problems[2], 1)
	if err := prompts.Publish(ctx, schemas.Prompt{RequestID: "A", ProblemID: problems[0].ProblemID, N: 3, Purpose: "eval"},
		schemas.Prompt{RequestID: "B", ProblemID: problems[1].ProblemID, N: 4, Purpose: "eval"}); err != nil {
		t.Fatal(err)
	}
	if err := cands.Publish(ctx, append(append(append(a3, a3[1]), b2...), c1...)...); err != nil {
		t.Fatal(err)
	}
	sels := waitSelections(t, a, rc, 3, 30*time.Second)
	want := map[string]struct {
		n, expected int32
		partial     bool
	}{"A": {3, 3, false}, "B": {2, 4, true}, "C": {1, 0, true}}
	scores := waitScores(t, a, rc, 6, 10*time.Second)
	for _, s := range sels {
		w := want[s.RequestID]
		if s.Candidates != w.n || s.Expected != w.expected || s.Partial != w.partial || s.ModelVersion != m1.Manifest.Version {
			t.Errorf("selection %+v, want %d candidates of %d, partial %v, model %s", s, w.n, w.expected, w.partial, m1.Manifest.Version)
		}
		// The selected candidate is the request's min energy among its scores.
		best, bestE := minEnergy(scores, s.RequestID)
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
	m2, err := buildTinyModel(ctx, registry, trainer.TinyModel{MaxLen: 128, DModel: 32, Layers: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, `"msg":"reranker model swapped in","model":"`+m2.Manifest.Version, 1, 30*time.Second)
	d2 := testRequest("D", problems[3], 2)
	if err := prompts.Publish(ctx, schemas.Prompt{RequestID: "D", ProblemID: problems[3].ProblemID, N: 2, Purpose: "eval"}); err != nil {
		t.Fatal(err)
	}
	if err := cands.Publish(ctx, d2...); err != nil {
		t.Fatal(err)
	}
	for _, s := range waitSelections(t, a, rc, 4, 30*time.Second) {
		if s.RequestID == "D" && (s.ModelVersion != m2.Manifest.Version || s.Partial || s.Candidates != 2) {
			t.Errorf("selection after reload %+v, want model %s, complete, 2 candidates", s, m2.Manifest.Version)
		}
	}
	for _, sc := range waitScores(t, a, rc, 8, 10*time.Second) {
		if sc.RequestID == "D" && sc.ModelVersion != m2.Manifest.Version {
			t.Errorf("score after reload %+v, want model %s", sc, m2.Manifest.Version)
		}
	}
	// Past the bound, the late duplicate of A has still not made a second (partial) selection.
	time.Sleep(3500 * time.Millisecond)
	waitSelections(t, a, rc, 4, 0)

	body := e.metrics(t)
	for _, want := range []string{
		`codeverify_reranker_model_info{version="` + m2.Manifest.Version + `"} 1`,
		`codeverify_reranker_provider{provider="cpu"} 1`,
		"codeverify_reranker_model_swaps_total 1", "codeverify_reranker_selections_total 4",
		"codeverify_reranker_partial_selections_total 2",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// minEnergy is a request's min-energy candidate among scores (ties to the smaller id).
func minEnergy(scores []schemas.Score, requestID string) (best string, bestE float64) {
	for _, sc := range scores {
		if sc.RequestID == requestID && (best == "" || sc.Energy < bestE || (sc.Energy == bestE && sc.CandidateID < best)) {
			best, bestE = sc.CandidateID, sc.Energy
		}
	}
	return best, bestE
}

// waitSelections polls the selections topic until want distinct requests are selected; a request
// selected twice is an error.
func waitSelections(t *testing.T, a *app, rc *schemas.RerankCodecs, want int, timeout time.Duration) []schemas.Selection {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sels, bad, err := streams.ReadAll(context.Background(), a.Cluster(), streams.TopicSelections, rc.Selection)
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
func waitScores(t *testing.T, a *app, rc *schemas.RerankCodecs, want int, timeout time.Duration) []schemas.Score {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scores, bad, err := streams.ReadAll(context.Background(), a.Cluster(), streams.TopicScores, rc.Score)
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
