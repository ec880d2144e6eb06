package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// scorerFlags bind --model and the ONNX Runtime settings shared by rerank, bench reranker and eval.
type scorerFlags struct {
	model string
	serving.Runtime
}

func (s *scorerFlags) add(f *pflag.FlagSet) {
	f.StringVar(&s.model, "model", s.model, "model version directory (manifest.json + model.onnx) or registry directory (its newest version)")
	f.StringVar(&s.Library, "ort-lib", "", "ONNX Runtime ≥ 1.24 shared library (default $"+serving.LibraryEnv+", else ./"+serving.LibraryFile+" from deploy/ort/setup-ort.sh)")
	f.StringVar(&s.Provider, "provider", serving.ProviderAuto, "execution provider: auto (CUDA, else CPU), cuda, cpu")
	if s.Threads == 0 {
		s.Threads = 2
	}
	f.IntVar(&s.Threads, "threads", s.Threads, "ONNX Runtime intra-op threads (CPU provider)")
	f.IntVar(&s.Device, "cuda-device", 0, "CUDA device id")
	limits(f, map[string][2]string{"threads": {"1", "1024"}, "cuda-device": {"0", "63"}})
}

func (a *app) rerankCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rerank", Short: "Score candidate programs with the verifier (ONNX Runtime, CUDA first, CPU fallback)"}
	cmd.AddCommand(a.rerankServeCmd(), a.rerankRunCmd())
	return cmd
}

// rerankCommand is a rerank subcommand without arguments that needs --model, bound to s with the
// ONNX Runtime flags; run gets the command's context.
func rerankCommand(use, short, long string, s *scorerFlags, run func(context.Context) error) *cobra.Command {
	name, _, _ := strings.Cut(use, " ")
	cmd := command(use, short, long, func(cmd *cobra.Command) error {
		if s.model == "" {
			return fmt.Errorf("rerank %s: --model is required", name)
		}
		return run(cmd.Context())
	})
	s.add(cmd.Flags())
	return cmd
}

func (a *app) rerankServeCmd() *cobra.Command {
	var s scorerFlags
	var c pipeline.RerankHTTPConfig
	var addr string
	long := `Serves the API and /metrics, /healthz, /readyz on --addr. With --metrics-addr, /metrics,
/healthz and /readyz are served there as well (as by every other service), so a scrape config that
targets the metrics port works for this command too.`
	cmd := rerankCommand("serve", "Serve POST /v1/rerank (prompt + candidate codes → energies and the min-energy index), /metrics, /healthz, /readyz",
		long, &s, func(ctx context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			defer ln.Close()
			c.Model, c.Runtime = s.model, s.Runtime
			srv, err := pipeline.OpenRerankHTTP(a.Env, c) // before the listener answers: a bad model is a startup error
			if err != nil {
				return err
			}
			defer srv.Close()
			return srv.Serve(ctx, ln)
		})
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8088", "listen address")
	f.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body")
	f.IntVar(&c.MaxCandidates, "max-candidates", 64, "most candidates per request")
	f.IntVar(&c.MaxBatch, "max-batch", 16, "candidates per ONNX Runtime run")
	limits(f, map[string][2]string{"max-body-bytes": {"1024", "1073741824"}, "max-candidates": {"1", "10000"}, "max-batch": {"1", "4096"}})
	return cmd
}

func (a *app) rerankRunCmd() *cobra.Command {
	var s scorerFlags
	var c pipeline.RerankConfig
	cmd := rerankCommand("run --model REGISTRY|VERSION_DIR",
		"The streaming reranker: candidates + behaviors (+ prompts for expected counts) → scores and selections topics",
		pipeline.RerankRunHelp, &s, func(ctx context.Context) error {
			c.Model, c.Runtime = s.model, s.Runtime
			return pipeline.RunReranker(ctx, a.Env, c, nil)
		})
	f := cmd.Flags()
	f.DurationVar(&c.Bound, "bound", 30*time.Second, "how long a request waits for all its candidates before a partial selection")
	f.DurationVar(&c.FlushEvery, "flush-every", 50*time.Millisecond, "how often queued candidates are scored (batched across requests)")
	f.DurationVar(&c.ReloadEvery, "reload-every", 10*time.Second, "how often the registry is polled for a new version (0: never)")
	f.BoolVar(&c.ModelsTopic, "models-topic", true, "swap in the versions announced on the "+streams.TopicModels+" topic (from its last announcement on)")
	f.IntVar(&c.MaxBatch, "max-batch", 16, "candidates per ONNX Runtime run")
	f.IntVar(&c.MaxInFlight, "max-in-flight", 2048, "candidates fetched but not yet committed (must exceed the candidates of the requests open at once)")
	limits(f, map[string][2]string{
		"bound": {"1ms", "24h"}, "flush-every": {"1ms", "1m"}, "reload-every": {"0s", "24h"}, "max-batch": {"1", "4096"}, "max-in-flight": {"1", "1000000"},
	})
	return cmd
}
