package main

import (
	"os"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/producers/synthetic"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

// Generation: prompts from problems (produce-prompts), the LLM processor prompts → candidates
// (generate) or, for prompts asking for tests, prompts → generated test sets (generate --tests), and
// the GPU-free synthetic candidate source (synthesize).

// generatorCmds are the generation commands, added to the root in one go.
func (a *app) generatorCmds() []*cobra.Command {
	return []*cobra.Command{a.producePromptsCmd(), a.generateCmd(), a.synthesizeCmd()}
}

// promptFlags are the flags shared by the commands that build prompts.
type promptFlags struct {
	problems string
	splits   []string
	tests    bool
	opt      producers.PromptOptions
}

func (f *promptFlags) bind(cmd *cobra.Command, defaultModel string) {
	fs := cmd.Flags()
	fs.StringVar(&f.problems, "problems", "", "problems file (MBPP .jsonl/.json, HumanEval .jsonl)")
	fs.StringSliceVar(&f.splits, "split", []string{"train"}, "splits to prompt (empty: all)")
	genModelFlag(fs, &f.opt.Model, defaultModel, "name of the generating model (must be in the generator's models file)")
	fs.StringVar(&f.opt.Run, "run", "", "run name: the same run republished yields the same request and candidate ids")
	fs.Int32Var(&f.opt.N, "n", 0, "samples per problem (0: the split's plan, train 100 / others 16)")
	fs.Float64Var(&f.opt.Temperature, "temperature", 0, "sampling temperature (0: the split's plan, train 1.0 / others 0.8)")
	fs.Float64Var(&f.opt.TopP, "top-p", 0.95, "top_p")
	fs.Int32Var(&f.opt.MaxTokens, "max-tokens", 512, "max tokens per sample")
	fs.Int64Var(&f.opt.Seed, "seed", 1, "sampling seed (0: unseeded)")
	limits(fs, map[string][2]string{
		"n": {"0", "10000"}, "temperature": {"0", "2"}, "top-p": {"0.01", "1"}, "max-tokens": {"1", "32768"},
		"seed": {"0", "9223372036854775807"},
	})
}

// load reads the problems and builds the prompts of the chosen splits.
func (f *promptFlags) load() ([]schemas.Problem, []schemas.Problem, []schemas.Prompt, error) {
	if f.tests {
		f.opt.Purpose = schemas.PurposeTests
	}
	return pipeline.LoadPrompts(f.problems, f.splits, f.opt)
}

func (a *app) producePromptsCmd() *cobra.Command {
	var f promptFlags
	cmd := &cobra.Command{
		Use:   "produce-prompts --problems FILE [--split train] [--model NAME] [--tests]",
		Short: "Publish problems and one generation Prompt per problem (train: n=100 @ T=1.0, others: n=16) to the topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, _, prompts, err := f.load()
			if err != nil {
				return err
			}
			return pipeline.ProducePrompts(cmd.Context(), a.Env, all, prompts, f.opt.Model, f.tests, os.Stdout)
		},
	}
	f.bind(cmd, "deepseek-ai/deepseek-coder-1.3b-instruct")
	cmd.Flags().BoolVar(&f.tests, "tests", false, "prompts for generated tests (CodeT) instead of candidates; unset --n, --temperature and --max-tokens take the model's tests settings")
	cmd.PreRun = func(cmd *cobra.Command, _ []string) {
		if f.tests && !cmd.Flags().Changed("max-tokens") {
			f.opt.MaxTokens = 0
		}
	}
	return cmd
}

func (a *app) generateCmd() *cobra.Command {
	var o pipeline.GeneratorOptions
	var modelsPath string
	var tests bool
	cmd := &cobra.Command{
		Use:   "generate [--models FILE] [--base-url URL]",
		Short: "Run the LLM generator processor: prompts → candidates through an OpenAI-compatible server (consumer group " + streams.GroupGenerator + ")",
		Long: `Samples every Prompt's n completions from an OpenAI-compatible server (vLLM, llama.cpp
server, OpenAI) and publishes one Candidate per sample. Rate limits, 5xx, timeouts and malformed
responses are retried with jittered backoff up to --max-attempts, then the prompt goes to
prompts.dlq with the reason. The API key is read from OPENAI_API_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return pipeline.RunGenerator(cmd.Context(), a.Env, modelsPath, o, tests)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&modelsPath, "models", config.DefaultPath("deploy/vllm/models.yaml"), "models YAML (how each model is prompted; default CHECKOUT/deploy/vllm/models.yaml)")
	o.BaseURL, o.APIKey = "http://127.0.0.1:8000/v1", os.Getenv("OPENAI_API_KEY") // the key is never a flag: it would show in ps
	if v := os.Getenv("OPENAI_BASE_URL"); v != "" {
		o.BaseURL = v
	}
	fs.StringVar(&o.BaseURL, "base-url", o.BaseURL, "OpenAI-compatible server (env OPENAI_BASE_URL)")
	fs.IntVar(&o.MaxRequests, "max-requests", 64, "requests in flight")
	fs.IntVar(&o.MaxSequences, "max-sequences", 512, "samples in flight (n summed over requests)")
	fs.IntVar(&o.MaxAttempts, "max-attempts", 6, "attempts per request before the prompt is dead-lettered")
	fs.DurationVar(&o.Timeout, "request-timeout", 10*time.Minute, "one attempt's limit, to the last token")
	limits(fs, map[string][2]string{
		"max-requests": {"1", "100000"}, "max-sequences": {"1", "1000000"}, "max-attempts": {"1", "1000"}, "request-timeout": {"1s", "24h"},
	})
	fs.BoolVar(&tests, "tests", false, "run the test generator instead: prompts for tests → generated test sets on the tests topic (consumer group "+streams.GroupTestGenerator+")")
	return cmd
}

func (a *app) synthesizeCmd() *cobra.Command {
	var f promptFlags
	cmd := &cobra.Command{
		Use:   "synthesize --problems FILE [--split train] [--n 100] [--seed 1]",
		Short: "Publish problems and SYNTHETIC candidates (mutations of the reference solutions, model " + synthetic.ModelName + ") — load without a GPU",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, chosen, prompts, err := f.load()
			if err != nil {
				return err
			}
			return pipeline.Synthesize(cmd.Context(), a.Env, all, chosen, prompts, os.Stdout)
		},
	}
	f.bind(cmd, synthetic.ModelName)
	return cmd
}
