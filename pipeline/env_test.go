package pipeline

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
)

// brokerEnv is an Env on a fresh embedded broker holding the topic catalog, logging warnings as
// JSON to the returned buffer, with a short sink wait.
func brokerEnv(t *testing.T) (*config.Env, *schemas.Codecs, *testkit.SyncBuffer) {
	t.Helper()
	_, cluster := kafkatest.Start(t)
	logs := &testkit.SyncBuffer{}
	env := &config.Env{Config: config.Default(), Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	env.Config.Brokers = cluster.Brokers
	env.Config.Sink.MaxWait = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := streams.EnsureTopics(ctx, env.Cluster(), streams.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	return env, codecs, logs
}

// e2eEnv is a brokerEnv with a fresh ClickHouse database, which env's config names and sink writes
// to: the stages run end to end over the embedded broker, a real ClickHouse server and a real
// python3 sandbox.
type e2eEnv struct {
	env    *config.Env
	codecs *schemas.Codecs
	logs   *testkit.SyncBuffer
	sink   *clickhouse.Sink
}

func newE2EEnv(t *testing.T) *e2eEnv {
	t.Helper()
	sink, cfg := chtest.Open(t)
	e := &e2eEnv{sink: sink}
	e.env, e.codecs, e.logs = brokerEnv(t)
	e.env.Config.ClickHouse.Addr, e.env.Config.ClickHouse.Database = cfg.Addr, cfg.Database
	return e
}

// waitVerdicts polls ClickHouse until want distinct candidates are stored.
func waitVerdicts(t *testing.T, e *e2eEnv, want uint64, timeout time.Duration) (rows, distinct uint64) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rows, distinct, err := e.sink.VerdictCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if distinct >= want || time.Now().After(deadline) {
			return rows, distinct
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startPipeline runs the executor; it is stopped (gracefully) and waited for before the broker closes.
func (e *e2eEnv) startPipeline(t *testing.T, ctx context.Context) (*streams.Runner[schemas.Candidate, executor.Output], chan error) {
	t.Helper()
	r, closeExecutor, err := NewExecutorRunner(ctx, e.env, e.codecs, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeExecutor) // registered first, so it runs after background's cleanup stopped Run
	return r, e.background(t, ctx, r.Run)
}

// startSink runs the ClickHouse sink until the test ends.
func (e *e2eEnv) startSink(t *testing.T, ctx context.Context) {
	e.background(t, ctx, func(ctx context.Context) error { return RunVerdictSink(ctx, e.env, e.codecs, e.sink, nil) })
}

// background runs run until the test ends, then cancels it and waits for it to return.
func (e *e2eEnv) background(t *testing.T, ctx context.Context, run func(context.Context) error) chan error {
	ctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() { errc <- run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("a pipeline stage did not stop within 15s of cancel")
		}
	})
	return errc
}
