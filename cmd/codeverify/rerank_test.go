package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/pipeline"
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
	dir, err := trainer.BuildTinyModel(context.Background(), t.TempDir(), trainer.TinyModel{MaxLen: 128, DModel: 32, Layers: 1})
	if errors.Is(err, trainer.ErrNoTorch) && os.Getenv("CODEVERIFY_REQUIRE_ORT") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := serving.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRerankRunServesItsMetrics: rerank run, as the CLI wires it over the embedded broker, serves
// /metrics and /readyz on --metrics-addr once its consumers run, and stops cleanly. What it does with
// the events is pipeline's end-to-end tests'.
func TestRerankRunServesItsMetrics(t *testing.T) {
	m := rerankTestModel(t)
	a, _ := genEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.Config.MetricsAddr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.rerankRun(ctx, pipeline.RerankConfig{Model: m.Dir, Runtime: serving.Runtime{Provider: "cpu", Threads: 1},
			Bound: time.Second, FlushEvery: 20 * time.Millisecond, MaxBatch: 4, MaxInFlight: 8}, ready)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	get := func(path string) string {
		resp, err := http.Get("http://" + a.Config.MetricsAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	metrics := get("/metrics")
	for _, want := range []string{`codeverify_reranker_model_info{version="` + m.Manifest.Version + `"} 1`,
		`codeverify_runner_processed_total{processor="reranker"} 0`, "codeverify_reranker_open_requests 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	if body := get("/readyz"); !strings.HasPrefix(body, "ready") {
		t.Errorf("/readyz: %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestRerankNeedsModel: both rerank commands refuse to start without --model, naming themselves.
func TestRerankNeedsModel(t *testing.T) {
	for _, sub := range []string{"serve", "run"} {
		root := newRoot()
		root.SetArgs([]string{"rerank", sub})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		if err := root.Execute(); err == nil || err.Error() != "rerank "+sub+": --model is required" {
			t.Errorf("rerank %s without --model: %v", sub, err)
		}
	}
}
