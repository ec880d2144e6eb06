package main

import (
	"os"
	"time"

	"github.com/codeverify/codeverify/bench"
	"github.com/codeverify/codeverify/serving"
	"github.com/spf13/cobra"
)

// benchCmd groups the benchmarks that print a figure and the machine (not timed tests).
func (a *app) benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks: each prints its figures, the machine, and a baseline measured in the same run",
	}
	cmd.AddCommand(a.benchExecutorCmd(), a.benchGeneratorCmd(), a.benchRerankerCmd())
	return cmd
}

func (a *app) benchExecutorCmd() *cobra.Command {
	var o bench.ExecutorOptions
	cmd := command("executor", "Executor throughput: zygote backend without and with 2% infinite loops, vs a fresh python3 per candidate",
		bench.ExecutorHelp, func(cmd *cobra.Command) error { return bench.Executor(cmd.Context(), a.Env, o, cmd.OutOrStdout()) })
	f := cmd.Flags()
	f.IntVar(&o.N, "n", 6000, "candidates per zygote run")
	f.IntVar(&o.NaiveN, "naive-n", 400, "candidates for the naive baseline")
	f.Float64Var(&o.Loops, "loops", 0.02, "share of infinite loops in the second run")
	f.DurationVar(&o.Soak, "soak", 0, "run mixed load this long and check for leaks instead")
	f.BoolVar(&o.Dual, "dual", false, "measure dual execution (hidden + generated tests) on the real samples instead")
	f.IntVar(&o.DualN, "dual-n", 0, "candidates for --dual (default: all 10,000)")
	f.IntVar(&o.DualTests, "dual-tests", 100, "generated asserts per problem for --dual")
	f.DurationVar(&o.GenTestLimit, "gen-test-limit", 100*time.Millisecond, "--dual: CPU limit of one generated test")
	f.DurationVar(&o.GenTotalLimit, "gen-total-limit", 500*time.Millisecond, "--dual: CPU limit of all of a candidate's generated tests")
	limits(f, map[string][2]string{
		"n": {"1", "1000000"}, "naive-n": {"1", "1000000"}, "loops": {"0", "1"}, "soak": {"0s", "168h"},
		"dual-n": {"0", "1000000"}, "dual-tests": {"1", "10000"}, "gen-test-limit": {"1ms", "1h"}, "gen-total-limit": {"1ms", "1h"},
	})
	return cmd
}

func (a *app) benchGeneratorCmd() *cobra.Command {
	var o bench.GeneratorOptions
	cmd := command("generator", "Generator throughput against a zero-latency fake OpenAI server, through the embedded broker",
		bench.GeneratorHelp, func(cmd *cobra.Command) error { return bench.Generator(cmd.Context(), a.Env, o, os.Stdout) })
	f := cmd.Flags()
	f.IntVar(&o.Prompts, "prompts", 1000, "prompts to generate for")
	f.IntVar(&o.N, "n", 100, "samples per prompt")
	f.IntVar(&o.MaxN, "max-n", 25, "the model's n cap per request (requests of this size)")
	inFlightFlags(f, &o.MaxRequests, &o.MaxSequences, "generator requests in flight", "generator samples in flight")
	f.DurationVar(&o.Latency, "latency", 0, "latency the fake adds to every request")
	f.DurationVar(&o.CeilingFor, "ceiling-for", 3*time.Second, "how long to measure the fake's own ceiling")
	limits(f, map[string][2]string{
		"prompts": {"1", "1000000"}, "n": {"1", "10000"}, "max-n": {"1", "10000"}, "latency": {"0s", "1h"}, "ceiling-for": {"0s", "1h"},
	})
	return cmd
}

func (a *app) benchRerankerCmd() *cobra.Command {
	o := bench.RerankerOptions{}
	s := scorerFlags{Runtime: serving.Runtime{Threads: 2}}
	cmd := command("reranker", "Verifier scoring latency through ONNX Runtime: --batch candidates × --len tokens per batch",
		bench.RerankerHelp, func(cmd *cobra.Command) error {
			o.Model, o.Runtime = s.model, s.Runtime
			return bench.Reranker(cmd.Context(), a.Log, o, os.Stdout)
		})
	f := cmd.Flags()
	s.add(f)
	f.IntVar(&o.Batch, "batch", 16, "candidates per batch")
	f.IntVar(&o.Len, "len", 256, "tokens per candidate")
	f.IntVar(&o.Iters, "iters", 100, "timed batches")
	limits(f, map[string][2]string{"batch": {"1", "4096"}, "len": {"3", "8192"}, "iters": {"1", "1000000"}})
	f.StringVar(&o.TorchPython, "torch-python", "", "interpreter with torch and onnx for the default model (default /usr/bin/python3)")
	return cmd
}
