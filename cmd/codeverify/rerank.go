package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/serving"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// scorerFlags are the ONNX Runtime settings shared by rerank serve, bench reranker and eval.
type scorerFlags struct {
	model    string
	lib      string
	provider string
	threads  int
	device   int
}

func (s *scorerFlags) add(f *pflag.FlagSet) {
	f.StringVar(&s.model, "model", s.model, "model version directory (manifest.json + model.onnx) or registry directory (its newest version)")
	f.StringVar(&s.lib, "ort-lib", "", "ONNX Runtime ≥ 1.24 shared library (default $"+serving.LibraryEnv+", else ./"+serving.LibraryFile+" from deploy/ort/setup-ort.sh)")
	f.StringVar(&s.provider, "provider", serving.ProviderAuto, "execution provider: auto (CUDA, else CPU), cuda, cpu")
	if s.threads == 0 {
		s.threads = 2
	}
	f.IntVar(&s.threads, "threads", s.threads, "ONNX Runtime intra-op threads (CPU provider)")
	f.IntVar(&s.device, "cuda-device", 0, "CUDA device id")
}

// open loads the model and opens a session; the session logs which provider is in force and why.
func (s *scorerFlags) open(log *slog.Logger) (*serving.Session, serving.Model, error) {
	m, err := serving.LoadModel(s.model)
	if err != nil {
		return nil, m, err
	}
	o := m.Options()
	o.Library, o.Provider, o.IntraOpThreads, o.CUDADevice, o.Log = s.lib, s.provider, s.threads, s.device, log
	sess, err := serving.Open(o)
	return sess, m, err
}

func (a *app) rerankCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rerank", Short: "Score candidate programs with the verifier (ONNX Runtime, CUDA first, CPU fallback)"}
	cmd.AddCommand(a.rerankServeCmd())
	return cmd
}

type rerankServeOptions struct {
	scorer        scorerFlags
	addr          string
	maxBody       int64
	maxCandidates int
	maxBatch      int
}

func (a *app) rerankServeCmd() *cobra.Command {
	var o rerankServeOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve POST /v1/rerank (prompt + candidate codes → energies and the min-energy index), /metrics, /healthz, /readyz",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.scorer.model == "" {
				return errors.New("rerank serve: --model is required")
			}
			ln, err := net.Listen("tcp", o.addr)
			if err != nil {
				return err
			}
			return a.rerankServe(cmd.Context(), o, ln)
		},
	}
	f := cmd.Flags()
	o.scorer.add(f)
	f.StringVar(&o.addr, "addr", "127.0.0.1:8088", "listen address")
	f.Int64Var(&o.maxBody, "max-body-bytes", 1<<20, "largest request body")
	f.IntVar(&o.maxCandidates, "max-candidates", 64, "most candidates per request")
	f.IntVar(&o.maxBatch, "max-batch", 16, "candidates per ONNX Runtime run")
	return cmd
}

// rerankServe serves until ctx is cancelled. The model opens before the listener answers, so a bad
// model or library is a startup error.
func (a *app) rerankServe(ctx context.Context, o rerankServeOptions, ln net.Listener) error {
	defer ln.Close()
	sess, m, err := o.scorer.open(a.log)
	if err != nil {
		return err
	}
	defer sess.Close()
	model := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess, MaxBatch: o.maxBatch}
	if err := model.Validate(); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	provider := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codeverify_reranker_provider",
		Help: "1 for the ONNX Runtime execution provider in force (cuda or cpu)."}, []string{"provider"})
	provider.WithLabelValues(sess.Provider()).Set(1)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codeverify_reranker_model_info",
		Help: "1 for the model version being served."}, []string{"version"})
	info.WithLabelValues(model.Version).Set(1)
	reg.MustRegister(provider, info)

	mux := http.NewServeMux()
	mux.Handle("/v1/rerank", reranker.Handler(func() reranker.Model { return model },
		reranker.HandlerOptions{MaxBodyBytes: o.maxBody, MaxCandidates: o.maxCandidates}))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	a.log.Info("rerank serving", "addr", ln.Addr().String(), "model", model.Version, "provider", sess.Provider())
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
