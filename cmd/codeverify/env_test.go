package main

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
	"github.com/codeverify/codeverify/trainer"
)

// The commands' tests run over the embedded broker (kafkatest), a real ClickHouse server (chtest)
// and a real python3 sandbox.

// brokerEnv is an app on a fresh embedded broker holding the topic catalog, logging warnings to
// stderr; no ClickHouse.
func brokerEnv(t *testing.T) (*app, *schemas.Codecs) {
	t.Helper()
	_, cluster := kafkatest.Start(t)
	a := &app{Env: &config.Env{Config: config.Default(), Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}}
	a.Config.Brokers = cluster.Brokers
	if err := streams.EnsureTopics(context.Background(), a.Cluster(), streams.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	return a, codecs
}

// env is a brokerEnv with a fresh ClickHouse database, which the app's config names and sink
// writes to.
type env struct {
	app    *app
	codecs *schemas.Codecs
	sink   *clickhouse.Sink
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sink, cfg := chtest.Open(t)
	a, codecs := brokerEnv(t)
	a.Config.ClickHouse.Addr, a.Config.ClickHouse.Database = cfg.Addr, cfg.Database
	a.Config.Sink.MaxWait = 200 * time.Millisecond
	return &env{app: a, codecs: codecs, sink: sink}
}

// rerankTestModel is a small untrained reranker model (see testkit.TinyModel).
func rerankTestModel(t *testing.T) serving.Model {
	t.Helper()
	return testkit.TinyModel(t, trainer.TinyModel{MaxLen: 128, DModel: 32, Layers: 1})
}
