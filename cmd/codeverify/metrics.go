package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
)

// stageMetrics are the metrics the stages share, registered on the registerer given to
// newStageMetrics. A nil *stageMetrics records nothing, so code paths without metrics (tests,
// demo) need no checks.
type stageMetrics struct {
	lag         *prometheus.GaugeVec   // group, topic, partition
	verdicts    *prometheus.CounterVec // label, failure_kind
	execution   prometheus.Histogram
	deadLetters *prometheus.CounterVec   // topic, stage
	insert      *prometheus.HistogramVec // table
	insertErrs  *prometheus.CounterVec   // table
	reg         prometheus.Registerer    // for the counters read from a component at scrape time

	mu       sync.Mutex
	groupLag map[string]int64 // group → records behind over all partitions, as last polled
}

func newStageMetrics(reg prometheus.Registerer) (*stageMetrics, error) {
	m := &stageMetrics{
		reg: reg, groupLag: map[string]int64{},
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codeverify_consumer_lag",
			Help: "Records a consumer group is behind on a partition: high-water mark less committed offset (polled)."},
			[]string{"group", "topic", "partition"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_verdicts_total",
			Help: "Verdicts produced by the executor, by label (PASS, FAIL) and failure kind (empty for PASS)."},
			[]string{"label", "failure_kind"}),
		execution: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "codeverify_execution_seconds",
			Help:    "Time to turn one candidate into its verdict (a sandbox run, or a cache hit).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_dead_letters_total",
			Help: "Inputs stored in their topic's dead-letter topic, by input topic and stage (decode, validate, process, write)."},
			[]string{"topic", "stage"}),
		insert: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "codeverify_clickhouse_insert_seconds",
			Help: "ClickHouse batch insert latency, failed inserts included.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)},
			[]string{"table"}),
		insertErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_clickhouse_insert_errors_total",
			Help: "ClickHouse batch inserts that failed (retried, or split down to the rows at fault)."}, []string{"table"}),
	}
	for _, c := range []prometheus.Collector{m.lag, m.verdicts, m.execution, m.deadLetters, m.insert, m.insertErrs} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// executed records one candidate's outputs and how long it took.
func (m *stageMetrics) executed(outs []executor.Output, d time.Duration, err error) {
	if m == nil || err != nil {
		return
	}
	m.execution.Observe(d.Seconds())
	for _, o := range outs {
		if o.Verdict != nil {
			m.verdicts.WithLabelValues(o.Verdict.Label, o.Verdict.FailureKind).Inc()
		}
	}
}

// sandbox registers the counters the executor keeps itself, read at scrape time.
func (m *stageMetrics) sandbox(ex *executor.Executor) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_sandbox_recycles_total",
		Help: "Sandbox workers retired and replaced: killed or wedged by a candidate, unclean /tmp, abandoned job, or age."},
		func() float64 { return float64(ex.Recycles()) }))
}

// deadLettered returns the OnDeadLettered hook of a consumer of topic (nil when m is).
func (m *stageMetrics) deadLettered(topic string) func(stage string, n int) {
	if m == nil {
		return nil
	}
	return func(stage string, n int) { m.deadLetters.WithLabelValues(topic, stage).Add(float64(n)) }
}

// inserted records one ClickHouse insert.
func (m *stageMetrics) inserted(table string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.insert.WithLabelValues(table).Observe(d.Seconds())
	if err != nil {
		m.insertErrs.WithLabelValues(table).Inc()
	}
}

// lagOf is group's lag over all partitions as last polled; false before the first poll (or when
// m is nil).
func (m *stageMetrics) lagOf(group string) (int64, bool) {
	if m == nil {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.groupLag[group]
	return l, ok
}

// lagEvery is how often consumer lag is polled.
const lagEvery = 15 * time.Second

// consumed names one consumer group's input topic, for the lag metric.
type consumed struct{ group, topic string }

// watchLag polls the lag of each group on its topic until ctx ends. A failed poll keeps the last
// values and logs at debug level: /readyz already says when the broker is away.
func (a *app) watchLag(ctx context.Context, m *stageMetrics, every time.Duration, groups ...consumed) {
	if m == nil {
		return
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			for _, g := range groups {
				pctx, cancel := context.WithTimeout(ctx, every)
				lags, err := streams.GroupLag(pctx, a.Cluster(), g.group, g.topic)
				cancel()
				if err != nil {
					a.Log.Debug("consumer lag", "group", g.group, "topic", g.topic, "err", err)
					continue
				}
				var total int64
				for _, l := range lags {
					m.lag.WithLabelValues(g.group, g.topic, strconv.Itoa(l.Partition)).Set(float64(l.Lag))
					total += l.Lag
				}
				m.mu.Lock()
				m.groupLag[g.group] = total
				m.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// registerRunnerStats exports a runner's counters as codeverify_runner_*{processor=…}, read at scrape time.
func registerRunnerStats(reg prometheus.Registerer, processor string, stats func() streams.Stats) {
	labels := prometheus.Labels{"processor": processor}
	for _, c := range []struct {
		name, help string
		value      func(streams.Stats) int64
	}{
		{"processed_total", "inputs processed and committed", func(s streams.Stats) int64 { return s.Processed }},
		{"outputs_total", "output records produced", func(s streams.Stats) int64 { return s.Outputs }},
		{"dead_lettered_total", "inputs sent to the dead-letter topic", func(s streams.Stats) int64 { return s.DeadLettered }},
		{"errors_total", "transient processing errors (retried)", func(s streams.Stats) int64 { return s.Errors }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_runner_" + c.name, Help: c.help, ConstLabels: labels},
			func() float64 { return float64(c.value(stats())) }))
	}
}
