package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/processors/generator"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
)

// The long-running services: the executor, the ClickHouse sink and the generators. Each serves
// /metrics, /healthz and /readyz on the configured metrics address, and runs until ctx ends.

// RunExecutor runs the executor processor: candidates → verdicts and behaviours. It is ready once
// its tables caught up with their topics.
func RunExecutor(ctx context.Context, env *config.Env, opt ExecutorOptions) error {
	svc, err := ops.StartService(ctx, env, ops.CheckTables, ops.CheckStarted)
	if err != nil {
		return err
	}
	defer svc.Close()
	opt.Metrics = svc.Metrics
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	// Returns once the problems and tests tables caught up with their topics.
	r, closeExecutor, err := NewExecutorRunner(ctx, env, codecs, opt)
	if err != nil {
		return err
	}
	defer closeExecutor() // after Run has returned: no Execute is in flight any more
	if err := svc.Runner("executor", r.Stats); err != nil {
		return err
	}
	svc.Ready.Set(ops.CheckTables, nil)
	svc.WatchLag(ctx, ops.Consumed{Group: streams.GroupExecutor, Topic: streams.TopicCandidates})
	svc.Ready.Set(ops.CheckStarted, nil)
	return r.Run(ctx)
}

// RunSink runs the ClickHouse sink: verdicts and behaviours → ClickHouse. It waits for ClickHouse
// rather than exiting, and is not ready while ClickHouse does not answer.
func RunSink(ctx context.Context, env *config.Env) error {
	svc, err := ops.StartService(ctx, env, ops.CheckClickHouse, ops.CheckStarted)
	if err != nil {
		return err
	}
	defer svc.Close()
	rows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_sink_rows_total", Help: "rows inserted into ClickHouse"}, []string{"table"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_sink_dead_lettered_total", Help: "events refused as invalid and sent to their topic's dead-letter topic"}, []string{"table"})
	batches := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "codeverify_sink_batch_rows", Help: "rows per insert", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"table"})
	svc.Registry.MustRegister(rows, refused, batches)
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	// Not ready until ClickHouse answers; until then the sink waits instead of exiting.
	sink, err := env.OpenClickHouseWhenUp(ctx, 500*time.Millisecond, 30*time.Second)
	if err != nil || sink == nil {
		return err
	}
	defer sink.Close()
	// Re-checked while running: a ClickHouse that goes away makes the sink not ready.
	svc.Ready.Watch(ctx, ops.CheckClickHouse, sink.Ping)
	svc.WatchLag(ctx, ops.Consumed{Group: streams.GroupSinkVerdicts, Topic: streams.TopicVerdicts},
		ops.Consumed{Group: streams.GroupSinkBehaviors, Topic: streams.TopicBehaviors})
	svc.Ready.Set(ops.CheckStarted, nil)
	return RunSinks(ctx, env, codecs, sink, SinkMetrics{
		Stage: svc.Metrics,
		Written: func(table string, n int) {
			rows.WithLabelValues(table).Add(float64(n))
			batches.WithLabelValues(table).Observe(float64(n))
		},
		Rejected: func(table string, n int) { refused.WithLabelValues(table).Add(float64(n)) },
	})
}

// RunGenerator runs the LLM generator (prompts → candidates) with the models of modelsPath or,
// with tests, the test generator (prompts for tests → generated test sets).
func RunGenerator(ctx context.Context, env *config.Env, modelsPath string, o GeneratorOptions, tests bool) error {
	if _, err := os.Stat(modelsPath); err != nil {
		return fmt.Errorf("models file: %w (set it with --models)", err)
	}
	models, err := generator.LoadModels(modelsPath)
	if err != nil {
		return err
	}
	svc, err := ops.StartService(ctx, env, ops.CheckStarted)
	if err != nil {
		return err
	}
	defer svc.Close()
	o.Metrics = svc.Metrics
	group, name := streams.GroupGenerator, "generator"
	if tests {
		group, name = streams.GroupTestGenerator, "test-generator"
	}
	svc.WatchLag(ctx, ops.Consumed{Group: group, Topic: streams.TopicPrompts})
	rec, err := generator.NewMetrics(svc.Registry)
	if err != nil {
		return err
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	var run func(context.Context) error
	var stats func() streams.Stats
	if tests {
		r, err := NewTestGeneratorRunner(ctx, env, codecs, models, o, rec)
		if err != nil {
			return err
		}
		run, stats = r.Run, r.Stats
	} else {
		r, _, err := NewGeneratorRunner(ctx, env, codecs, models, o, rec)
		if err != nil {
			return err
		}
		run, stats = r.Run, r.Stats
	}
	if err := svc.Runner(name, stats); err != nil {
		return err
	}
	svc.Ready.Set(ops.CheckStarted, nil)
	return run(ctx)
}

// RunReranker runs the streaming reranker with its /metrics, /healthz and /readyz until ctx is
// cancelled; ready (optional) is closed once every consumer runs.
func RunReranker(ctx context.Context, env *config.Env, c RerankConfig, ready chan<- struct{}) error {
	svc, err := ops.StartService(ctx, env, ops.CheckStarted)
	if err != nil {
		return err
	}
	defer svc.Close()
	c.Metrics = svc.Metrics
	r, err := NewReranker(ctx, env, c)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Observe(ctx, svc); err != nil {
		return err
	}
	return r.Run(ctx, func() {
		svc.Ready.Set(ops.CheckStarted, nil)
		if ready != nil {
			close(ready)
		}
	})
}

// RunBroker runs the embedded broker on the configured port with its data under VAR_DIR/kafka and
// the declared topics created, until ctx is cancelled.
func RunBroker(ctx context.Context, env *config.Env) error {
	dir := filepath.Join(env.Config.VarDir, "kafka")
	b, err := streams.StartBroker(dir, env.Config.EmbeddedPort, env.Log)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := streams.EnsureTopics(ctx, streams.Cluster{Brokers: []string{b.Addr()}}, streams.DefaultCatalog()); err != nil {
		return err
	}
	env.Log.Info("broker ready", "addr", b.Addr(), "data_dir", dir)
	<-ctx.Done()
	return nil
}

// Topics creates the declared topics on the configured brokers (idempotent) and lists them on w.
func Topics(ctx context.Context, env *config.Env, w io.Writer) error {
	cat := streams.DefaultCatalog()
	if err := env.EnsureTopics(ctx, cat); err != nil {
		return err
	}
	for _, t := range cat {
		fmt.Fprintf(w, "%-16s partitions=%d compacted=%v key=%s\n", t.Name, t.Partitions, t.Compacted, t.Key)
	}
	return nil
}
