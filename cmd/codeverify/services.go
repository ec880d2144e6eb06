package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

// The long-running services: the executor processor and the ClickHouse sink. Each serves
// /metrics, /healthz and /readyz on --metrics-addr when it is set.

func (a *app) executeCmd() *cobra.Command {
	var opt executorOptions
	cmd := &cobra.Command{
		Use:   "execute",
		Short: "Run the sandboxed executor processor: candidates → verdicts (consumer group " + streams.GroupExecutor + ")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := prometheus.NewRegistry()
			var ready atomic.Bool
			stop := a.serveObservability(cmd.Context(), reg, &ready)
			defer stop()
			codecs, err := schemas.NewCodecs()
			if err != nil {
				return err
			}
			r, closeExecutor, err := a.newExecutorRunner(cmd.Context(), codecs, opt)
			if err != nil {
				return err
			}
			defer closeExecutor() // after Run has returned: no Execute is in flight any more
			labels := prometheus.Labels{"processor": "executor"}
			counter := func(name, help string, f func() float64) {
				reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_runner_" + name, Help: help, ConstLabels: labels}, f))
			}
			counter("processed_total", "inputs processed and committed", func() float64 { return float64(r.Stats().Processed) })
			counter("outputs_total", "output records produced", func() float64 { return float64(r.Stats().Outputs) })
			counter("dead_lettered_total", "inputs sent to the dead-letter topic", func() float64 { return float64(r.Stats().DeadLettered) })
			counter("errors_total", "transient processing errors (retried)", func() float64 { return float64(r.Stats().Errors) })
			ready.Store(true)
			return r.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&opt.LookupClickHouse, "lookup-clickhouse", false,
		"answer candidates whose program already has a (non-timeout) verdict in ClickHouse from there; the hit rate is logged")
	return cmd
}

func (a *app) sinkCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sink",
		Short: "Run the ClickHouse sink: verdicts and behaviors → ClickHouse (consumer groups " + streams.GroupSinkVerdicts + ", " + streams.GroupSinkBehaviors + ")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			reg := prometheus.NewRegistry()
			var ready atomic.Bool
			stop := a.serveObservability(ctx, reg, &ready)
			defer stop()
			rows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_sink_rows_total", Help: "rows inserted into ClickHouse"}, []string{"table"})
			refused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_sink_dead_lettered_total", Help: "events refused as invalid and sent to their topic's dead-letter topic"}, []string{"table"})
			batches := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "codeverify_sink_batch_rows", Help: "rows per insert", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"table"})
			reg.MustRegister(rows, refused, batches)
			codecs, err := schemas.NewCodecs()
			if err != nil {
				return err
			}
			// Not ready until ClickHouse answers; until then the sink waits instead of exiting.
			sink, err := a.openClickHouseWhenUp(ctx, 500*time.Millisecond, 30*time.Second)
			if err != nil || sink == nil {
				return err
			}
			defer sink.Close()
			ready.Store(true)
			return a.runSinks(ctx, codecs, sink, sinkMetrics{
				written: func(table string, n int) {
					rows.WithLabelValues(table).Add(float64(n))
					batches.WithLabelValues(table).Observe(float64(n))
				},
				rejected: func(table string, n int) { refused.WithLabelValues(table).Add(float64(n)) },
			})
		},
	}
}

// serveObservability serves /metrics, /healthz and /readyz (503 until ready) when --metrics-addr is
// set; the returned func shuts the server down.
func (a *app) serveObservability(ctx context.Context, reg *prometheus.Registry, ready *atomic.Bool) func() {
	if a.cfg.MetricsAddr == "" {
		return func() {}
	}
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	srv := &http.Server{Addr: a.cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server", "addr", a.cfg.MetricsAddr, "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
}
