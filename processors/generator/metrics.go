package generator

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// MetricsPrefix is the prefix of every generator metric.
const MetricsPrefix = "codeverify_generator_"

// Request outcomes (the status label of requests_total, the kind label of errors_total).
const (
	StatusOK          = "ok"
	StatusRateLimited = "rate_limited"
	StatusServerError = "server_error"
	StatusTimeout     = "timeout"
	StatusMalformed   = "malformed"
	StatusRejected    = "rejected"
	StatusUnreachable = "unreachable"
	StatusOther       = "other"
)

// Recorder receives the generator's measurements; Metrics is the Prometheus implementation.
type Recorder interface {
	Request(status string, seconds float64)
	InFlight(requests, sequences int) // deltas
	Completions(finishReason string, n int)
	Tokens(prompt, completion int)
	PromptFailed(reason string)
}

// Metrics records into Prometheus collectors registered on the Registerer given to NewMetrics.
// Tokens per second is rate(codeverify_generator_completion_tokens_total[1m]).
type Metrics struct {
	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	completions *prometheus.CounterVec
	failed      *prometheus.CounterVec
	promptTok   prometheus.Counter
	complTok    prometheus.Counter
	reqInFlight prometheus.Gauge
	seqInFlight prometheus.Gauge
	duration    prometheus.Histogram
}

// NewMetrics creates the generator's collectors and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricsPrefix + "requests_total",
			Help: "Requests to the model server, by outcome."}, []string{"status"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricsPrefix + "errors_total",
			Help: "Failed requests to the model server, by kind."}, []string{"kind"}),
		completions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricsPrefix + "completions_total",
			Help: "Completions received, by finish_reason."}, []string{"finish_reason"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricsPrefix + "prompts_failed_total",
			Help: "Prompts that can never succeed (dead-lettered), by reason."}, []string{"reason"}),
		promptTok: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricsPrefix + "prompt_tokens_total",
			Help: "Prompt tokens reported by the server (usage)."}),
		complTok: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricsPrefix + "completion_tokens_total",
			Help: "Completion tokens reported by the server (usage)."}),
		reqInFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricsPrefix + "requests_in_flight",
			Help: "Requests sent and not yet answered."}),
		seqInFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricsPrefix + "sequences_in_flight",
			Help: "Samples being generated (n summed over requests in flight)."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricsPrefix + "request_duration_seconds",
			Help: "Time from sending a request to its last token.", Buckets: []float64{0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.errors, m.completions, m.failed, m.promptTok, m.complTok, m.reqInFlight, m.seqInFlight, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *Metrics) Request(status string, seconds float64) {
	m.requests.WithLabelValues(status).Inc()
	if status != StatusOK {
		m.errors.WithLabelValues(status).Inc()
	}
	m.duration.Observe(seconds)
}

func (m *Metrics) InFlight(requests, sequences int) {
	m.reqInFlight.Add(float64(requests))
	m.seqInFlight.Add(float64(sequences))
}

func (m *Metrics) Completions(finishReason string, n int) {
	if finishReason == "" {
		finishReason = "unknown"
	}
	m.completions.WithLabelValues(finishReason).Add(float64(n))
}

func (m *Metrics) Tokens(prompt, completion int) {
	m.promptTok.Add(float64(prompt))
	m.complTok.Add(float64(completion))
}

func (m *Metrics) PromptFailed(reason string) { m.failed.WithLabelValues(reason).Inc() }

// Value reads one series, for tests and reports: name without the prefix, label value or "".
func (m *Metrics) Value(name, label string) float64 {
	var c prometheus.Metric
	switch name {
	case "requests_total":
		c = m.requests.WithLabelValues(label)
	case "errors_total":
		c = m.errors.WithLabelValues(label)
	case "completions_total":
		c = m.completions.WithLabelValues(label)
	case "prompts_failed_total":
		c = m.failed.WithLabelValues(label)
	case "prompt_tokens_total":
		c = m.promptTok
	case "completion_tokens_total":
		c = m.complTok
	case "requests_in_flight":
		c = m.reqInFlight
	case "sequences_in_flight":
		c = m.seqInFlight
	default:
		return math.NaN()
	}
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return math.NaN()
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return math.NaN()
}

type nopRecorder struct{}

func (nopRecorder) Request(string, float64) {}
func (nopRecorder) InFlight(int, int)       {}
func (nopRecorder) Completions(string, int) {}
func (nopRecorder) Tokens(int, int)         {}
func (nopRecorder) PromptFailed(string)     {}
