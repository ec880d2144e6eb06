package ops

import (
	"context"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
)

// Service is the observability of one long-running stage: its registry, its readiness (the broker
// watched under CheckKafka, the stage's own checks failing until set) and the shared stage
// metrics, served on the configured metrics address.
type Service struct {
	Registry *prometheus.Registry
	Ready    *Readiness
	Metrics  *StageMetrics
	env      *config.Env
	stop     func()
}

// StartService serves a new registry and readiness (CheckKafka, then checks) on the configured
// metrics address, watches the brokers and registers the stage metrics. Close stops the server.
func StartService(ctx context.Context, env *config.Env, checks ...string) (*Service, error) {
	s := &Service{Registry: prometheus.NewRegistry(), Ready: NewReadiness(append([]string{CheckKafka}, checks...)...), env: env}
	stop, err := Serve(ctx, env.Config.MetricsAddr, env.Log, s.Registry, s.Ready)
	if err != nil {
		return nil, err
	}
	s.stop = stop
	s.Ready.WatchKafka(ctx, env.Cluster())
	if s.Metrics, err = NewStageMetrics(s.Registry); err != nil {
		stop()
		return nil, err
	}
	return s, nil
}

// WatchLag polls the lag of each group on its topic every LagEvery until ctx ends.
func (s *Service) WatchLag(ctx context.Context, groups ...Consumed) {
	s.Metrics.WatchLag(ctx, s.env.Cluster(), s.env.Log, LagEvery, groups...)
}

// Runner exports a runner's counters under processor; a processor exported already is an error.
func (s *Service) Runner(processor string, stats func() streams.Stats) error {
	return RegisterRunnerStats(s.Registry, processor, stats)
}

// Close stops serving.
func (s *Service) Close() { s.stop() }
