package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
			ctx := cmd.Context()
			reg := prometheus.NewRegistry()
			ready := newReadiness(checkKafka, checkTables, checkStarted)
			stop, err := a.serveObservability(ctx, reg, ready)
			if err != nil {
				return err
			}
			defer stop()
			a.watchKafka(ctx, ready)
			m, err := newStageMetrics(reg)
			if err != nil {
				return err
			}
			opt.metrics = m
			codecs, err := schemas.NewCodecs()
			if err != nil {
				return err
			}
			// Returns once the problems and tests tables caught up with their topics.
			r, closeExecutor, err := a.newExecutorRunner(ctx, codecs, opt)
			if err != nil {
				return err
			}
			defer closeExecutor() // after Run has returned: no Execute is in flight any more
			registerRunnerStats(reg, "executor", r.Stats)
			ready.set(checkTables, nil)
			a.watchLag(ctx, m, lagEvery, consumed{streams.GroupExecutor, streams.TopicCandidates})
			ready.set(checkStarted, nil)
			return r.Run(ctx)
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
			ready := newReadiness(checkKafka, checkClickHouse, checkStarted)
			stop, err := a.serveObservability(ctx, reg, ready)
			if err != nil {
				return err
			}
			defer stop()
			a.watchKafka(ctx, ready)
			m, err := newStageMetrics(reg)
			if err != nil {
				return err
			}
			rows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_sink_rows_total", Help: "rows inserted into ClickHouse"}, []string{"table"})
			refused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_sink_dead_lettered_total", Help: "events refused as invalid and sent to their topic's dead-letter topic"}, []string{"table"})
			batches := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "codeverify_sink_batch_rows", Help: "rows per insert", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"table"})
			reg.MustRegister(rows, refused, batches)
			codecs, err := schemas.NewCodecs()
			if err != nil {
				return err
			}
			// Not ready until ClickHouse answers; until then the sink waits instead of exiting.
			sink, err := a.OpenClickHouseWhenUp(ctx, 500*time.Millisecond, 30*time.Second)
			if err != nil || sink == nil {
				return err
			}
			defer sink.Close()
			// Re-checked while running: a ClickHouse that goes away makes the sink not ready.
			ready.watch(ctx, checkClickHouse, sink.Ping)
			a.watchLag(ctx, m, lagEvery, consumed{streams.GroupSinkVerdicts, streams.TopicVerdicts},
				consumed{streams.GroupSinkBehaviors, streams.TopicBehaviors})
			ready.set(checkStarted, nil)
			return a.runSinks(ctx, codecs, sink, sinkMetrics{
				stage: m,
				written: func(table string, n int) {
					rows.WithLabelValues(table).Add(float64(n))
					batches.WithLabelValues(table).Observe(float64(n))
				},
				rejected: func(table string, n int) { refused.WithLabelValues(table).Add(float64(n)) },
			})
		},
	}
}

// serveObservability serves /metrics, /healthz and /readyz when --metrics-addr is set; the
// returned func shuts the server down. /readyz is 503 while any of ready's checks fails, and its
// body names each check and why it fails. The address is bound before it returns: one that
// cannot be bound (taken, malformed) is an error, so a service never runs on without its metrics.
func (a *app) serveObservability(ctx context.Context, reg *prometheus.Registry, ready *readiness) (func(), error) {
	if a.Config.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", a.Config.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics server: %w (--metrics-addr)", err)
	}
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, body := ready.report()
		if !ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n" + body))
			return
		}
		w.Write([]byte("ready\n" + body))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("metrics server", "addr", a.Config.MetricsAddr, "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
