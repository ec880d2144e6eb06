package pipeline

import (
	"context"
	"strings"

	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
)

// Observe exports the reranker's metrics on svc (which provider and model version serve new
// requests, open requests, swaps and model events, selections, the candidates runner's counters)
// and polls its consumer groups' lag.
func (r *Reranker) Observe(ctx context.Context, svc *ops.Service) error {
	r.register(svc.Registry)
	if err := svc.Runner("reranker", r.Stats); err != nil {
		return err
	}
	svc.WatchLag(ctx, ops.Consumed{Group: streams.GroupRerankerCandidates, Topic: streams.TopicCandidates},
		ops.Consumed{Group: streams.GroupRerankerBehaviors, Topic: streams.TopicBehaviors},
		ops.Consumed{Group: streams.GroupRerankerPrompts, Topic: streams.TopicPrompts})
	return nil
}

func (r *Reranker) register(reg prometheus.Registerer) {
	provider := prometheus.NewDesc("codeverify_reranker_provider",
		"1 for the ONNX Runtime execution provider serving new requests (cuda or cpu).", []string{"provider"}, nil)
	version := prometheus.NewDesc("codeverify_reranker_model_info", "1 for the model version serving new requests.", []string{"version"}, nil)
	open := prometheus.NewDesc("codeverify_reranker_open_requests", "Requests seen and not yet selected.", nil, nil)
	reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		m := r.join.Processor().Current()
		ch <- prometheus.MustNewConstMetric(provider, prometheus.GaugeValue, 1, m.Provider())
		ch <- prometheus.MustNewConstMetric(version, prometheus.GaugeValue, 1, m.Version)
		ch <- prometheus.MustNewConstMetric(open, prometheus.GaugeValue, float64(r.join.Open()))
	}))
	for name, count := range map[string]func() int64{"model_swaps_total": r.versions.Swaps, "model_swap_failures_total": r.versions.Failures,
		"model_events_total": r.modelEvents.Load, "model_events_rejected_total": r.modelEventsRejected.Load,
		"selections_total": r.join.Selected, "partial_selections_total": r.join.Partial} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_reranker_" + name,
			Help: strings.ReplaceAll(strings.TrimSuffix(name, "_total"), "_", " ")}, func() float64 { return float64(count()) }))
	}
}
