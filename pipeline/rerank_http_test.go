package pipeline

import (
	"context"
	"encoding/json"
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
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/serving"
)

// rerankHTTPEnv is an environment without a broker: the HTTP reranker needs none.
func rerankHTTPEnv(t *testing.T) *config.Env {
	t.Helper()
	env := &config.Env{Config: config.Default(), Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	env.Config.MetricsAddr = testkit.FreeAddr(t) // served there too, as by every service
	return env
}

// TestRerankServe: POST /v1/rerank scores the candidates with a real ONNX model and names the
// min-energy one; a request without candidates is a 400; /metrics on the API's address and on the
// metrics address count both, with the provider and model version.
func TestRerankServe(t *testing.T) {
	m := testkit.TinyModel(t, rerankTinyModel)
	env := rerankHTTPEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := OpenRerankHTTP(env, RerankHTTPConfig{Model: m.Dir, Runtime: serving.Runtime{Provider: "auto", Threads: 1},
		MaxBodyBytes: 1 << 16, MaxCandidates: 8, MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()
	var resp *http.Response
	body := `{"prompt": "def add(a, b):\n", "candidates": ["    return a + b\n", "    return a - b\n", "    pass\n"]}`
	for i := 0; ; i++ { // the metrics server starts before Serve answers
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
	if b := testkit.Get(t, ln.Addr().String(), "/metrics"); !regexp.MustCompile(`codeverify_reranker_provider\{provider="(cpu|cuda)"\} 1`).MatchString(b) {
		t.Errorf("metrics lack the provider:\n%s", b)
	}
	onMetricsPort := testkit.Get(t, env.Config.MetricsAddr, "/metrics")
	for _, want := range []string{`codeverify_http_requests_total{code="200"} 1`, `codeverify_http_requests_total{code="400"} 1`,
		`codeverify_http_request_seconds_count{code="200"} 1`, `codeverify_reranker_model_info{version="` + m.Manifest.Version + `"} 1`} {
		if !strings.Contains(onMetricsPort, want) {
			t.Errorf("--metrics-addr /metrics lacks %s", want)
		}
	}
	if body := testkit.Get(t, env.Config.MetricsAddr, "/readyz"); !strings.HasPrefix(body, "ready") {
		t.Errorf("--metrics-addr /readyz: %q", body)
	}
}

// TestRerankServeBadModelIsStartupError: a model file that is not the manifest's fails at open,
// before anything listens; so does a model that reads behaviour features, which the API lacks.
func TestRerankServeBadModelIsStartupError(t *testing.T) {
	m := testkit.TinyModel(t, rerankTinyModel)
	os.WriteFile(m.Path, []byte("garbage"), 0o644)
	cfg := RerankHTTPConfig{Model: m.Dir, Runtime: serving.Runtime{Provider: "auto", Threads: 1}}
	if _, err := OpenRerankHTTP(rerankHTTPEnv(t), cfg); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("garbage model: %v", err)
	}
	f := testkit.TinyModel(t, rerankFeatureModel)
	cfg.Model = f.Dir
	if _, err := OpenRerankHTTP(rerankHTTPEnv(t), cfg); err == nil || !strings.Contains(err.Error(), "behaviour features, which the HTTP API does not carry") {
		t.Fatalf("feature model: %v", err)
	}
}
