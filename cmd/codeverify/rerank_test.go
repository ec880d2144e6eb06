package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/trainer"
)

// rerankTestModel builds a small untrained model, skipping without ONNX Runtime or torch unless
// CODEVERIFY_REQUIRE_ORT=1 (make test).
func rerankTestModel(t *testing.T) serving.Model {
	t.Helper()
	if _, err := serving.ResolveLibrary("", os.Getenv); err != nil {
		if os.Getenv("CODEVERIFY_REQUIRE_ORT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	m, err := buildTinyModel(context.Background(), t.TempDir(), trainer.TinyModel{MaxLen: 128, DModel: 32, Layers: 1})
	if errors.Is(err, trainer.ErrNoTorch) && os.Getenv("CODEVERIFY_REQUIRE_ORT") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// buildTinyModel registers a tiny untrained model in registryDir and loads it.
func buildTinyModel(ctx context.Context, registryDir string, tm trainer.TinyModel) (serving.Model, error) {
	dir, err := trainer.BuildTinyModel(ctx, registryDir, tm)
	if err != nil {
		return serving.Model{}, err
	}
	return serving.LoadModel(dir)
}

func TestRerankServe(t *testing.T) {
	m := rerankTestModel(t)
	a := &app{Env: &config.Env{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}}
	a.Config.MetricsAddr = "127.0.0.1:" + freePort(t) // served there too, as by every service
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- a.rerankServe(ctx, rerankServeOptions{scorer: scorerFlags{model: m.Dir, provider: "auto", threads: 1},
			maxBody: 1 << 16, maxCandidates: 8, maxBatch: 2}, ln)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()
	var resp *http.Response
	body := `{"prompt": "def add(a, b):\n", "candidates": ["    return a + b\n", "    return a - b\n", "    pass\n"]}`
	for i := 0; ; i++ { // the model opens before Serve answers
		resp, err = http.Post(base+"/v1/rerank", "application/json", strings.NewReader(body))
		if err == nil || i > 100 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ModelVersion string    `json:"model_version"`
		Energies     []float32 `json:"energies"`
		BestIndex    int       `json:"best_index"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(out.Energies) != 3 || out.ModelVersion != m.Manifest.Version {
		t.Fatalf("%d %+v", resp.StatusCode, out)
	}
	for i, e := range out.Energies {
		if e < out.Energies[out.BestIndex] {
			t.Errorf("best %d (%v) but %d has %v", out.BestIndex, out.Energies[out.BestIndex], i, e)
		}
	}
	resp, _ = http.Post(base+"/v1/rerank", "application/json", strings.NewReader(`{"prompt": "p", "candidates": []}`))
	if resp.StatusCode != 400 {
		t.Errorf("no candidates: %d", resp.StatusCode)
	}
	resp.Body.Close()
	resp, _ = http.Get(base + "/metrics")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`codeverify_reranker_provider\{provider="(cpu|cuda)"\} 1`).Match(b) {
		t.Errorf("metrics lack the provider:\n%s", b)
	}
	onMetricsPort := scrape(t, a.Config.MetricsAddr)
	for _, want := range []string{`codeverify_http_requests_total{code="200"} 1`, `codeverify_http_requests_total{code="400"} 1`,
		`codeverify_http_request_seconds_count{code="200"} 1`, `codeverify_reranker_model_info{version="` + m.Manifest.Version + `"} 1`} {
		if !strings.Contains(onMetricsPort, want) {
			t.Errorf("--metrics-addr /metrics lacks %s", want)
		}
	}
	if body := get(t, a.Config.MetricsAddr, "/readyz"); !strings.HasPrefix(body, "ready") {
		t.Errorf("--metrics-addr /readyz: %q", body)
	}
}

func TestRerankServeBadModelIsStartupError(t *testing.T) {
	m := rerankTestModel(t)
	os.WriteFile(m.Path, []byte("garbage"), 0o644)
	a := &app{Env: &config.Env{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	err := a.rerankServe(context.Background(), rerankServeOptions{scorer: scorerFlags{model: m.Dir, provider: "auto", threads: 1}}, ln)
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("garbage model: %v", err)
	}
}

func TestBenchRerankerLastLine(t *testing.T) {
	m := rerankTestModel(t)
	a := &app{Env: &config.Env{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}}
	var out bytes.Buffer
	o := benchRerankerOptions{scorer: scorerFlags{model: m.Dir, provider: "auto", threads: 2}, batch: 4, len: 100, iters: 3}
	if err := a.benchReranker(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !regexp.MustCompile(`^ms/batch: [0-9.]+  provider: (cuda|cpu)$`).MatchString(last) {
		t.Errorf("last line %q\n%s", last, out.String())
	}
	o.len = 1000
	if err := a.benchReranker(context.Background(), o, io.Discard); err == nil {
		t.Error("--len over the model's max length accepted")
	}
}
