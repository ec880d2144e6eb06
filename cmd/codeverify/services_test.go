package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
)

func TestObservabilityEndpoints(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	a := &app{Env: &config.Env{Config: config.Default(), Log: slog.Default()}}
	a.Config.MetricsAddr = addr
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "codeverify_test_things_total", Help: "x"})
	reg.MustRegister(c)
	c.Add(3)
	ready := newReadiness("things")
	stop, err := a.serveObservability(context.Background(), reg, ready)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		var last error
		for i := 0; i < 50; i++ {
			resp, err := http.Get("http://" + addr + path)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			last = err
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("GET %s: %v", path, last)
		return 0, ""
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "things: FAIL: not yet") {
		t.Fatalf("/readyz before ready: %d %q, want 503 naming the check", code, body)
	}
	ready.set("things", nil)
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz after ready: %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "codeverify_test_things_total 3") {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
}

// A metrics address that cannot be bound is an error, not a log line.
func TestObservabilityBindFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a := &app{Env: &config.Env{Config: config.Default(), Log: slog.Default()}}
	a.Config.MetricsAddr = l.Addr().String()
	stop, err := a.serveObservability(context.Background(), prometheus.NewRegistry(), newReadiness())
	if err == nil {
		stop()
		t.Fatal("serving on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), "--metrics-addr") || !strings.Contains(err.Error(), a.Config.MetricsAddr) {
		t.Fatalf("error does not name the flag and address: %v", err)
	}
}

// /readyz follows the broker: ready while it answers, 503 naming kafka once it is gone.
func TestReadyzFollowsBroker(t *testing.T) {
	b, err := streams.StartBroker(t.TempDir(), 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a := &app{Env: &config.Env{Config: config.Default(), Log: slog.Default()}}
	a.Config.Brokers = []string{b.Addr()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd := newReadiness(checkKafka)
	rd.watchEvery(ctx, checkKafka, 100*time.Millisecond, func(ctx context.Context) error { return streams.Reachable(ctx, a.Cluster()) })
	waitReady := func(want bool) string {
		t.Helper()
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var ok bool
			if ok, body = rd.report(); ok == want {
				return body
			}
		}
		t.Fatalf("readiness never became %v: %s", want, body)
		return ""
	}
	waitReady(true)
	b.Close()
	if body := waitReady(false); !strings.Contains(body, "kafka: FAIL") {
		t.Fatalf("body does not name the broker check: %q", body)
	}
}

// The execute command, run as a service, exports verdicts by label, execution latency, dead
// letters by stage and consumer lag, and is ready once its tables caught up.
func TestExecuteServiceMetrics(t *testing.T) {
	e := newEnv(t)
	a := e.app
	a.Config.MetricsAddr = "127.0.0.1:" + freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	problemsPath, recs := humanEvalSubset(t, 1)
	id, prompt := recs[0]["task_id"].(string), recs[0]["prompt"].(string)
	samples := []map[string]string{
		{"task_id": id, "solution": prompt + recs[0]["canonical_solution"].(string)},
		{"task_id": id, "solution": prompt + "    return None\n"},
	}
	if _, _, err := a.publish(ctx, e.codecs, problemsPath, writeSamples(t, samples), producersOpt("m")); err != nil {
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
	if body := get(t, a.Config.MetricsAddr, "/readyz"); !strings.HasPrefix(body, "ready") || !strings.Contains(body, "tables: ok") {
		t.Errorf("/readyz: %q", body)
	}
}
