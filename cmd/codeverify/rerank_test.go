package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/serving"
)

// TestRerankRunServesItsMetrics: rerank run, as the CLI wires it over the embedded broker, serves
// /metrics and /readyz on --metrics-addr once its consumers run, and stops cleanly. What it does with
// the events is pipeline's end-to-end tests'.
func TestRerankRunServesItsMetrics(t *testing.T) {
	m := rerankTestModel(t)
	a, _ := brokerEnv(t)
	a.Config.MetricsAddr = testkit.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- pipeline.RunReranker(ctx, a.Env, pipeline.RerankConfig{Model: m.Dir, Runtime: serving.Runtime{Provider: "cpu", Threads: 1},
			Bound: time.Second, FlushEvery: 20 * time.Millisecond, MaxBatch: 4, MaxInFlight: 8}, ready)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	metrics := testkit.Get(t, a.Config.MetricsAddr, "/metrics")
	for _, want := range []string{`codeverify_reranker_model_info{version="` + m.Manifest.Version + `"} 1`,
		`codeverify_runner_processed_total{processor="reranker"} 0`, "codeverify_reranker_open_requests 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	if body := testkit.Get(t, a.Config.MetricsAddr, "/readyz"); !strings.HasPrefix(body, "ready") {
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
