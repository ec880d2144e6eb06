package main

import (
	"context"
	"errors"
	"time"

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
	onRejected     func(n int)
	onDeadLettered func(stage string, n int)
}

func (a *app) verdictStage(codecs *schemas.Codecs, sink *clickhouse.Sink) sinkStage[schemas.Verdict] {
	return sinkStage[schemas.Verdict]{
		table: "verdicts", topic: streams.TopicVerdicts, group: streams.GroupSinkVerdicts, codec: codecs.Verdict,
		key: func(v schemas.Verdict) string { return v.CandidateID }, check: clickhouse.CheckVerdict,
		write: sink.WriteVerdicts,
	}
}

func (a *app) behaviorStage(codecs *schemas.Codecs, sink *clickhouse.Sink) sinkStage[schemas.Behavior] {
	return sinkStage[schemas.Behavior]{
		table: "behaviors", topic: streams.TopicBehaviors, group: streams.GroupSinkBehaviors, codec: codecs.Behavior,
		key: schemas.BehaviorKey, check: clickhouse.CheckBehavior, write: sink.WriteBehaviors,
	}
}

// runSink consumes verdicts into ClickHouse; onWritten (optional) sees every batch after the insert.
func (a *app) runSink(ctx context.Context, codecs *schemas.Codecs, sink *clickhouse.Sink, onWritten func([]schemas.Verdict)) error {
	st := a.verdictStage(codecs, sink)
	st.onWritten = onWritten
	return runSinkStage(ctx, a, st)
}

// runSinkStage runs one stage with the streams batch consumer until ctx ends. Events that fail
// check are dead-lettered by the consumer (stage "validate", with the reason) before the batch's
// other events are written, and only then are the batch's offsets committed. A failed write is
// retried by the consumer with the same events; the batch's dead letters are not sent again.
func runSinkStage[T any](ctx context.Context, a *app, st sinkStage[T]) error {
	g := a.Config.Group
	return streams.RunBatches(ctx, streams.BatchConfig[T]{
		Cluster: a.Cluster(), Group: st.group, Topic: st.topic, Codec: st.codec, Validate: st.check,
		MaxBatch: a.Config.Sink.MaxBatch, MaxWait: a.Config.Sink.MaxWait, MaxMessageBytes: a.Config.MaxMessageBytes,
		SessionTimeout: g.SessionTimeout, HeartbeatInterval: g.HeartbeatInterval, RebalanceTimeout: g.RebalanceTimeout,
		OnDeadLettered: func(stage string, n int) {
			if st.onRejected != nil {
				st.onRejected(n)
			}
			if st.onDeadLettered != nil {
				st.onDeadLettered(stage, n)
			}
		},
		Log: a.Log.With("table", st.table),
	}, func(ctx context.Context, batch []T) error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.write(ctx, batch); err != nil {
			return sinkWriteError(err)
		}
		if st.onWritten != nil {
			st.onWritten(batch)
		}
		return nil
	})
}

// sinkWriteError translates a table writer's error for RunBatches. An event the writer refuses for
// its content (clickhouse.ErrInvalidRow: the writer checks every row before sending any, and one bad
// row fails the whole batch) can never be written, so the error is marked Permanent: RunBatches
// then halves the batch down to the events at fault and dead-letters them (stage "write") instead
// of retrying the batch for ever. The stage's check normally screens such events out first; this
// covers a writer that refuses something the check let through. Any other error (the server down,
// a timeout) stays transient and is retried.
func sinkWriteError(err error) error {
	if errors.Is(err, clickhouse.ErrInvalidRow) && !streams.IsPermanent(err) {
		return streams.Permanent(err)
	}
	return err
}

// runSinks runs every sink stage until ctx ends or one fails; it returns the first failure.
func (a *app) runSinks(ctx context.Context, codecs *schemas.Codecs, sink *clickhouse.Sink, m sinkMetrics) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vs, bs := a.verdictStage(codecs, sink), a.behaviorStage(codecs, sink)
	vlog := newSinkLog(a.Log, vs.table, func() (int64, bool) { return m.stage.lagOf(vs.group) })
	blog := newSinkLog(a.Log, bs.table, func() (int64, bool) { return m.stage.lagOf(bs.group) })
	defer vlog.flush()
	defer blog.flush()
	vs.onWritten = func(b []schemas.Verdict) { m.written(vs.table, len(b)); vlog.written(len(b)) }
	vs.onRejected = func(n int) { m.rejected(vs.table, n) }
	bs.onWritten = func(b []schemas.Behavior) { m.written(bs.table, len(b)); blog.written(len(b)) }
	bs.onRejected = func(n int) { m.rejected(bs.table, n) }
	vdl, bdl := m.stage.deadLettered(vs.topic), m.stage.deadLettered(bs.topic)
	vs.onDeadLettered = func(stage string, n int) {
		vlog.deadLettered(n)
		if vdl != nil {
			vdl(stage, n)
		}
	}
	bs.onDeadLettered = func(stage string, n int) {
		blog.deadLettered(n)
		if bdl != nil {
			bdl(stage, n)
		}
	}
	vs.write, bs.write = timedWrite(vs.table, vs.write, m.stage), timedWrite(bs.table, bs.write, m.stage)
	errc := make(chan error, 2)
	go func() { errc <- runSinkStage(ctx, a, vs) }()
	go func() { errc <- runSinkStage(ctx, a, bs) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// sinkMetrics counts what the sink stages did, per table; both funcs are required. stage
// (optional) gets insert latencies, insert errors and dead letters by stage.
type sinkMetrics struct {
	written  func(table string, rows int)
	rejected func(table string, rows int)
	stage    *stageMetrics
}

// timedWrite reports every insert's latency and failure to m.
func timedWrite[T any](table string, write func(context.Context, []T) error, m *stageMetrics) func(context.Context, []T) error {
	if m == nil {
		return write
	}
	return func(ctx context.Context, batch []T) error {
		start := time.Now()
		err := write(ctx, batch)
		m.inserted(table, time.Since(start), err)
		return err
	}
}
