package main

import (
	"cmp"
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
	promptSampling{&f.problems, &f.splits, &f.opt.Temperature, &f.opt.TopP, &f.opt.MaxTokens}.bind(fs, "max-tokens")
	genModelFlag(fs, &f.opt.Model, defaultModel, genModelHelp)
	fs.StringVar(&f.opt.Run, "run", "", "run name: the same run republished yields the same request and candidate ids")
	fs.Int32Var(&f.opt.N, "n", 0, "samples per problem (0: the split's plan, train 100 / others 16)")
	fs.Int64Var(&f.opt.Seed, "seed", 1, "sampling seed (0: unseeded)")
	limits(fs, map[string][2]string{"n": {"0", "10000"}, "seed": {"0", "9223372036854775807"}})
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
	cmd := command("produce-prompts --problems FILE [--split train] [--model NAME] [--tests]",
		"Publish problems and one generation Prompt per problem (train: n=100 @ T=1.0, others: n=16) to the topics", "",
		func(cmd *cobra.Command) error {
			all, _, prompts, err := f.load()
			if err != nil {
				return err
			}
			return pipeline.ProducePrompts(cmd.Context(), a.Env, all, prompts, f.opt.Model, f.tests, os.Stdout)
		})
	f.bind(cmd, defaultGenModel)
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
	var baseURL string
	cmd := command("generate [--models FILE] [--base-url URL]",
		"Run the LLM generator processor: prompts → candidates through an OpenAI-compatible server (consumer group "+streams.GroupGenerator+")",
		`Samples every Prompt's n completions from an OpenAI-compatible server (vLLM, llama.cpp
server, OpenAI) and publishes one Candidate per sample. Rate limits, 5xx, timeouts and malformed
responses are retried with jittered backoff up to --max-attempts, then the prompt goes to
prompts.dlq with the reason. The API key is read from OPENAI_API_KEY or OPENAI_API_KEY_FILE (or
the config file's generator.api_key / api_key_file).`,
		func(cmd *cobra.Command) error {
			o.BaseURL, o.APIKey = cmp.Or(baseURL, a.Config.Generator.BaseURL), a.Config.Generator.APIKey
			return pipeline.RunGenerator(cmd.Context(), a.Env, modelsPath, o, tests)
		})
	fs := cmd.Flags()
	fs.StringVar(&modelsPath, "models", config.DefaultPath("deploy/vllm/models.yaml"), "models YAML (how each model is prompted; default CHECKOUT/deploy/vllm/models.yaml)")
	fs.StringVar(&baseURL, "base-url", "", "OpenAI-compatible server (default: env OPENAI_BASE_URL, else the config's generator.base_url, else http://127.0.0.1:8000/v1)")
	inFlightFlags(fs, &o.MaxRequests, &o.MaxSequences, "requests in flight", "samples in flight (n summed over requests)")
	fs.IntVar(&o.MaxAttempts, "max-attempts", 6, "attempts per request before the prompt is dead-lettered")
	fs.DurationVar(&o.Timeout, "request-timeout", 10*time.Minute, "one attempt's limit, to the last token")
	limits(fs, map[string][2]string{"max-attempts": {"1", "1000"}, "request-timeout": {"1s", "24h"}})
	fs.BoolVar(&tests, "tests", false, "run the test generator instead: prompts for tests → generated test sets on the tests topic (consumer group "+streams.GroupTestGenerator+")")
	return cmd
}

func (a *app) synthesizeCmd() *cobra.Command {
	var f promptFlags
	cmd := command("synthesize --problems FILE [--split train] [--n 100] [--seed 1]",
		"Publish problems and SYNTHETIC candidates (mutations of the reference solutions, model "+synthetic.ModelName+") — load without a GPU", "",
		func(cmd *cobra.Command) error {
			all, chosen, prompts, err := f.load()
			if err != nil {
				return err
			}
			return pipeline.Synthesize(cmd.Context(), a.Env, all, chosen, prompts, os.Stdout)
		})
	f.bind(cmd, synthetic.ModelName)
	return cmd
}
