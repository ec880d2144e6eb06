package ops

import (
	"sync"
	"time"

	"github.com/codeverify/codeverify/processors/executor"
	"github.com/prometheus/client_golang/prometheus"
)

// StageMetrics are the metrics the stages share, registered on the registerer given to
// NewStageMetrics. A nil *StageMetrics records nothing, so code paths without metrics (tests,
// demo) need no checks.
type StageMetrics struct {
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

// NewStageMetrics registers the stage metrics on reg.
func NewStageMetrics(reg prometheus.Registerer) (*StageMetrics, error) {
	m := &StageMetrics{
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

// Executed records one candidate's outputs and how long it took.
func (m *StageMetrics) Executed(outs []executor.Output, d time.Duration, err error) {
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

// Sandbox registers the counters the executor keeps itself, read at scrape time.
func (m *StageMetrics) Sandbox(ex *executor.Executor) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_sandbox_recycles_total",
		Help: "Sandbox workers retired and replaced: killed or wedged by a candidate, unclean /tmp, abandoned job, or age."},
		func() float64 { return float64(ex.Recycles()) }))
}

// DeadLettered returns the OnDeadLettered hook of a consumer of topic (nil when m is).
func (m *StageMetrics) DeadLettered(topic string) func(stage string, n int) {
	if m == nil {
		return nil
	}
	return func(stage string, n int) { m.deadLetters.WithLabelValues(topic, stage).Add(float64(n)) }
}

// Inserted records one ClickHouse insert.
func (m *StageMetrics) Inserted(table string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.insert.WithLabelValues(table).Observe(d.Seconds())
	if err != nil {
		m.insertErrs.WithLabelValues(table).Inc()
	}
}

// LagOf is group's lag over all partitions as last polled; false before the first poll (or when
// m is nil).
func (m *StageMetrics) LagOf(group string) (int64, bool) {
	if m == nil {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.groupLag[group]
	return l, ok
}
