package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/streams"
)

// The execute command, run as a service, exports verdicts by label, execution latency, dead
// letters by stage and consumer lag, and is ready once its tables caught up.
func TestExecuteServiceMetrics(t *testing.T) {
	e := newEnv(t)
	a := e.app
	a.Config.MetricsAddr = testkit.FreeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	problemsPath, recs := testkit.HumanEvalSubset(t, 1)
	id, prompt := recs[0]["task_id"].(string), recs[0]["prompt"].(string)
	samples := []map[string]string{
		{"task_id": id, "solution": prompt + recs[0]["canonical_solution"].(string)},
		{"task_id": id, "solution": prompt + "    return None\n"},
	}
	if _, _, err := pipeline.Publish(ctx, a.Env, e.codecs, problemsPath, testkit.WriteSamples(t, samples), producers.SampleOptions{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := streams.PublishRaw(ctx, a.Cluster(), streams.TopicCandidates, []byte(id), []byte("not avro")); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		cmd := a.executeCmd()
		cmd.SetArgs([]string{})
		done <- cmd.ExecuteContext(runCtx)
	}()
	defer func() { stop(); <-done }()
	var metrics string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get("http://" + a.Config.MetricsAddr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(b)
			if strings.Contains(metrics, "codeverify_execution_seconds_count 2") && strings.Contains(metrics, `stage="decode"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed 2 executions and a dead letter:\n%s", metrics)
		}
	}
	for _, want := range []string{
		`label="PASS"} 1`,
		`codeverify_dead_letters_total{stage="decode",topic="` + streams.TopicCandidates + `"} 1`,
		`codeverify_consumer_lag{group="` + streams.GroupExecutor + `"`,
		`codeverify_runner_processed_total{processor="executor"}`,
		"codeverify_sandbox_recycles_total ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", metrics)
	}
	if !strings.Contains(metrics, `codeverify_verdicts_total{failure_kind="`) || !strings.Contains(metrics, `label="FAIL"} 1`) {
		t.Errorf("/metrics lacks the FAIL verdict:\n%s", metrics)
	}
	if body := testkit.Get(t, a.Config.MetricsAddr, "/readyz"); !strings.HasPrefix(body, "ready") || !strings.Contains(body, "tables: ok") {
		t.Errorf("/readyz: %q", body)
	}
}
