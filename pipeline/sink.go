package pipeline

import (
	"context"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
)

// The ClickHouse sink: one consumer group per topic, each writing its table in batches.

// sinkStage is one topic consumed into one table.
type sinkStage[T any] struct {
	table string // the ClickHouse table, for logs and metrics
	topic string
	group string
	codec *schemas.Codec[T]
	key   func(T) string // the topic's message key, given to dead letters too
	// check says why an event can never be written; such events are dead-lettered, not retried.
	check func(T) error
	write func(context.Context, []T) error
	// Optional: what each batch became.
	onWritten      func([]T)
	onDeadLettered func(stage string, n int)
}

func verdictStage(codecs *schemas.Codecs, sink *clickhouse.Sink) sinkStage[schemas.Verdict] {
	return sinkStage[schemas.Verdict]{
		table: "verdicts", topic: streams.TopicVerdicts, group: streams.GroupSinkVerdicts, codec: codecs.Verdict,
		key: func(v schemas.Verdict) string { return v.CandidateID }, check: clickhouse.CheckVerdict,
		write: sink.WriteVerdicts,
	}
}

func behaviorStage(codecs *schemas.Codecs, sink *clickhouse.Sink) sinkStage[schemas.Behavior] {
	return sinkStage[schemas.Behavior]{
		table: "behaviors", topic: streams.TopicBehaviors, group: streams.GroupSinkBehaviors, codec: codecs.Behavior,
		key: schemas.BehaviorKey, check: clickhouse.CheckBehavior, write: sink.WriteBehaviors,
	}
}

// RunVerdictSink consumes verdicts into ClickHouse until ctx ends; onWritten (optional) sees every
// batch after the insert.
func RunVerdictSink(ctx context.Context, env *config.Env, codecs *schemas.Codecs, sink *clickhouse.Sink, onWritten func([]schemas.Verdict)) error {
	st := verdictStage(codecs, sink)
	st.onWritten = onWritten
	return runSinkStage(ctx, env, st)
}

// RunBehaviorSink consumes behaviours into ClickHouse until ctx ends.
func RunBehaviorSink(ctx context.Context, env *config.Env, codecs *schemas.Codecs, sink *clickhouse.Sink) error {
	return runSinkStage(ctx, env, behaviorStage(codecs, sink))
}

// runSinkStage runs one stage with the streams batch consumer until ctx ends. Events that fail
// check are dead-lettered by the consumer (stage "validate", with the reason) before the batch's
// other events are written, and only then are the batch's offsets committed. A failed write is
// retried by the consumer with the same events; the batch's dead letters are not sent again.
func runSinkStage[T any](ctx context.Context, env *config.Env, st sinkStage[T]) error {
	g := env.Config.Group
	return streams.RunBatches(ctx, streams.BatchConfig[T]{
		Cluster: env.Cluster(), Group: st.group, Topic: st.topic, Codec: st.codec, Validate: st.check,
		MaxBatch: env.Config.Sink.MaxBatch, MaxWait: env.Config.Sink.MaxWait, MaxMessageBytes: env.Config.MaxMessageBytes,
		SessionTimeout: g.SessionTimeout, HeartbeatInterval: g.HeartbeatInterval, RebalanceTimeout: g.RebalanceTimeout,
		OnDeadLettered: st.onDeadLettered,
		Log:            env.Log.With("table", st.table),
	}, func(ctx context.Context, batch []T) error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.write(ctx, batch); err != nil {
			return err // permanent when a row is refused for its content (clickhouse.ErrInvalidRow)
		}
		if st.onWritten != nil {
			st.onWritten(batch)
		}
		return nil
	})
}

// SinkMetrics counts what the sink stages did, per table; both funcs are required. Stage
// (optional) gets insert latencies, insert errors and dead letters by stage.
type SinkMetrics struct {
	Written  func(table string, rows int)
	Rejected func(table string, rows int)
	Stage    *ops.StageMetrics
}

// RunSinks runs every sink stage until ctx ends or one fails; it returns the first failure.
func RunSinks(ctx context.Context, env *config.Env, codecs *schemas.Codecs, sink *clickhouse.Sink, m SinkMetrics) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vs, bs := verdictStage(codecs, sink), behaviorStage(codecs, sink)
	vlog, blog := instrument(env, &vs, m), instrument(env, &bs, m)
	defer vlog.Flush()
	defer blog.Flush()
	errc := make(chan error, 2)
	go func() { errc <- runSinkStage(ctx, env, vs) }()
	go func() { errc <- runSinkStage(ctx, env, bs) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// instrument makes st report what it writes and dead-letters to m and to a sink log, which it
// returns for flushing at stop.
func instrument[T any](env *config.Env, st *sinkStage[T], m SinkMetrics) *ops.SinkLog {
	table, group := st.table, st.group
	log := ops.NewSinkLog(env.Log, table, func() (int64, bool) { return m.Stage.LagOf(group) })
	st.onWritten = func(b []T) { m.Written(table, len(b)); log.Written(len(b)) }
	dl := m.Stage.DeadLettered(st.topic)
	st.onDeadLettered = func(stage string, n int) {
		m.Rejected(table, n)
		log.DeadLettered(n)
		if dl != nil {
			dl(stage, n)
		}
	}
	st.write = timedWrite(table, st.write, m.Stage)
	return log
}

// timedWrite reports every insert's latency and failure to m.
func timedWrite[T any](table string, write func(context.Context, []T) error, m *ops.StageMetrics) func(context.Context, []T) error {
	if m == nil {
		return write
	}
	return func(ctx context.Context, batch []T) error {
		start := time.Now()
		err := write(ctx, batch)
		m.Inserted(table, time.Since(start), err)
		return err
	}
}
