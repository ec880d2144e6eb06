package pipeline

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/serving"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// RerankHTTPConfig configures the HTTP reranker (rerank serve); the CLI's flags fill it.
type RerankHTTPConfig struct {
	Model         string // version directory, or registry directory (its newest version)
	Runtime       serving.Runtime
	MaxBodyBytes  int64 // largest request body
	MaxCandidates int   // most candidates per request
	MaxBatch      int   // candidates per ONNX Runtime run
}

// RerankHTTP serves POST /v1/rerank (a prompt and candidate codes → their energies and the
// min-energy index) with one code-only model, and /metrics, /healthz, /readyz beside it.
type RerankHTTP struct {
	env   *config.Env
	cfg   RerankHTTPConfig
	model reranker.Model
}

// OpenRerankHTTP opens the model, so that a bad model or library is an error before anything
// listens. A model that reads behaviour features is refused: the API carries none.
func OpenRerankHTTP(env *config.Env, cfg RerankHTTPConfig) (*RerankHTTP, error) {
	codeOnly := func(m model.Manifest) error {
		if names := m.FeatureNames(); len(names) > 0 {
			return fmt.Errorf("rerank serve: model %s reads %d behaviour features, which the HTTP API does not carry: serve a code-only model, or use rerank run (it joins the behaviors topic)", m.Version, len(names))
		}
		return nil
	}
	m, _, err := rerankOpener(cfg.Runtime, cfg.MaxBatch, env.Log)(cfg.Model, codeOnly)
	if err != nil {
		return nil, err
	}
	return &RerankHTTP{env: env, cfg: cfg, model: m}, nil
}

// Close closes the model; call it after Serve returned.
func (s *RerankHTTP) Close() { s.model.Close() }

// Serve answers on ln until ctx is cancelled, then shuts down gracefully. /metrics, /healthz and
// /readyz are served on the configured metrics address as well, as by every other service.
func (s *RerankHTTP) Serve(ctx context.Context, ln net.Listener) error {
	reg := prometheus.NewRegistry()
	provider := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codeverify_reranker_provider",
		Help: "1 for the ONNX Runtime execution provider in force (cuda or cpu)."}, []string{"provider"})
	provider.WithLabelValues(s.model.Provider()).Set(1)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codeverify_reranker_model_info",
		Help: "1 for the model version being served."}, []string{"version"})
	info.WithLabelValues(s.model.Version).Set(1)
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_http_requests_total",
		Help: "Requests to /v1/rerank by HTTP status code."}, []string{"code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "codeverify_http_request_seconds",
		Help: "Time to answer a /v1/rerank request, by HTTP status code.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"code"})
	reg.MustRegister(provider, info, requests, latency)
	ready := ops.NewReadiness("model")
	ready.Set("model", nil) // opened and validated by OpenRerankHTTP
	stopMetrics, err := ops.Serve(ctx, s.env.Config.MetricsAddr, s.env.Log, reg, ready)
	if err != nil {
		return err
	}
	defer stopMetrics()

	mux := http.NewServeMux()
	mux.Handle("/v1/rerank", promhttp.InstrumentHandlerCounter(requests, promhttp.InstrumentHandlerDuration(latency,
		reranker.Handler(func() reranker.Model { return s.model },
			reranker.HandlerOptions{MaxBodyBytes: s.cfg.MaxBodyBytes, MaxCandidates: s.cfg.MaxCandidates}))))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.env.Log.Info("rerank serving", "addr", ln.Addr().String(), "model", s.model.Version, "provider", s.model.Provider())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
