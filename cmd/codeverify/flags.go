package main

import (
	"github.com/codeverify/codeverify/internal/flagrange"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command constructor and the flag groups that several commands share: each group is bound by
// one function, so a flag's name, default, help and range are written once.

// limits declares the inclusive range of each named flag of fs (flagrange.Limits); the root
// command checks the flags of the command being run against them before anything runs.
func limits(fs *pflag.FlagSet, ranges map[string][2]string) { flagrange.Limits(fs, ranges) }

// command is a command without arguments (long may be empty); the caller adds its flags.
func command(use, short, long string, run func(*cobra.Command) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Long: long, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd) }}
}

// The generating model the commands that publish prompts ask for unless told otherwise, and the
// help texts of flags that several commands share.
const (
	defaultGenModel = "deepseek-ai/deepseek-coder-1.3b-instruct"
	genModelHelp    = "name of the generating model (must be in the generator's models file)"
	problemsHelp    = "problems file (MBPP .jsonl/.json, HumanEval .jsonl)"
)

// genModelFlag registers --gen-model, the name of the model that generated the candidates, with
// --model as a deprecated alias: --model is a model directory in eval and rerank.
func genModelFlag(fs *pflag.FlagSet, p *string, def, usage string) {
	fs.StringVar(p, "gen-model", def, usage)
	fs.StringVar(p, "model", def, usage)
	_ = fs.MarkDeprecated("model", "use --gen-model (--model is a model directory in eval and rerank)")
}

// inputFiles binds --problems, --samples and, unless tests is nil, --tests: the files a command
// reads, each described in the command's own words.
type inputFiles struct{ problems, samples, tests *string }

func (in inputFiles) bind(fs *pflag.FlagSet, problems, samples, tests string) {
	fs.StringVar(in.problems, "problems", "", problems)
	fs.StringVar(in.samples, "samples", "", samples)
	if in.tests != nil {
		fs.StringVar(in.tests, "tests", "", tests)
	}
}

// promptSampling binds what the commands that publish prompts share: the problems and splits to
// prompt and how each sample is drawn; the per-sample token cap's flag is named by the caller.
type promptSampling struct {
	problems          *string
	splits            *[]string
	temperature, topP *float64
	maxTokens         *int32
}

func (p promptSampling) bind(fs *pflag.FlagSet, maxTokensFlag string) {
	fs.StringVar(p.problems, "problems", "", problemsHelp)
	fs.StringSliceVar(p.splits, "split", []string{"train"}, "splits to prompt (empty: all)")
	fs.Float64Var(p.temperature, "temperature", 0, "sampling temperature (0: the split's plan, train 1.0 / others 0.8)")
	fs.Float64Var(p.topP, "top-p", 0.95, "top_p")
	fs.Int32Var(p.maxTokens, maxTokensFlag, 512, "max tokens per sample")
	limits(fs, map[string][2]string{"temperature": {"0", "2"}, "top-p": {"0.01", "1"}, maxTokensFlag: {"1", "32768"}})
}

// inFlightFlags binds the generator's concurrency: --max-requests and --max-sequences (samples, n
// summed over requests) in flight.
func inFlightFlags(fs *pflag.FlagSet, requests, sequences *int, requestsHelp, sequencesHelp string) {
	fs.IntVar(requests, "max-requests", 64, requestsHelp)
	fs.IntVar(sequences, "max-sequences", 512, sequencesHelp)
	limits(fs, map[string][2]string{"max-requests": {"1", "100000"}, "max-sequences": {"1", "1000000"}})
}
