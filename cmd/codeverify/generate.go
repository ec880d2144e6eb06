package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/processors/generator"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/producers/synthetic"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
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
	if f.problems == "" {
		return nil, nil, nil, fmt.Errorf("--problems is required")
	}
	all, err := producers.LoadProblems(f.problems)
	if err != nil {
		return nil, nil, nil, err
	}
	chosen := producers.FilterSplit(all, f.splits...)
	if len(chosen) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: no problems in splits %v", f.problems, f.splits)
	}
	f.opt.CreatedAtMs = time.Now().UnixMilli()
	if f.tests {
		f.opt.Purpose = schemas.PurposeTests
	}
	return all, chosen, producers.BuildPrompts(chosen, f.opt), nil
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
			ctx := cmd.Context()
			// Every problem goes to the table: the generator needs the few-shot examples too.
			codecs, err := a.setUpProblems(ctx, all)
			if err != nil {
				return err
			}
			pp := streams.NewProducer(a.Cluster(), streams.TopicPrompts, codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
			defer pp.Close()
			if err := pp.Publish(ctx, prompts...); err != nil {
				return err
			}
			n := 0
			for _, p := range prompts {
				n += int(p.N)
			}
			what := "samples"
			if f.tests {
				what = "test generations; 0: the model's tests settings"
			}
			fmt.Printf("published %d problems, %d prompts (%d %s) for model %s\n", len(all), len(prompts), n, what, f.opt.Model)
			return nil
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

func (a *app) publishProblems(ctx context.Context, codecs *schemas.Codecs, problems []schemas.Problem) error {
	pp := streams.NewProducer(a.Cluster(), streams.TopicProblems, codecs.Problem, func(p schemas.Problem) string { return p.ProblemID })
	defer pp.Close()
	if err := pp.Publish(ctx, problems...); err != nil {
		return fmt.Errorf("publish problems: %w", err)
	}
	return nil
}

// generatorOptions configure the generate command (and the benchmark).
type generatorOptions struct {
	modelsPath   string
	baseURL      string
	apiKey       string
	maxRequests  int
	maxSequences int
	maxAttempts  int
	timeout      time.Duration
	backoffBase  time.Duration // 0: the generator's default (tests shorten it)
	backoffMax   time.Duration
	metrics      *stageMetrics // nil: none (dead letters by stage)
}

func (o *generatorOptions) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&o.modelsPath, "models", config.DefaultPath("deploy/vllm/models.yaml"), "models YAML (how each model is prompted; default CHECKOUT/deploy/vllm/models.yaml)")
	fs.StringVar(&o.baseURL, "base-url", envOr("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"), "OpenAI-compatible server (env OPENAI_BASE_URL)")
	fs.IntVar(&o.maxRequests, "max-requests", 64, "requests in flight")
	fs.IntVar(&o.maxSequences, "max-sequences", 512, "samples in flight (n summed over requests)")
	fs.IntVar(&o.maxAttempts, "max-attempts", 6, "attempts per request before the prompt is dead-lettered")
	fs.DurationVar(&o.timeout, "request-timeout", 10*time.Minute, "one attempt's limit, to the last token")
	limits(fs, map[string][2]string{
		"max-requests": {"1", "100000"}, "max-sequences": {"1", "1000000"}, "max-attempts": {"1", "1000"}, "request-timeout": {"1s", "24h"},
	})
	o.apiKey = os.Getenv("OPENAI_API_KEY") // never a flag: it would show in ps
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// generatorStage maps the generator's never-succeeding errors to dead letters.
type generatorStage struct {
	g        *generator.Generator
	problems problemLookup
}

func (s generatorStage) Process(ctx context.Context, p schemas.Prompt) ([]schemas.Candidate, error) {
	if err := s.problems.ensure(ctx, p.ProblemID); err != nil {
		return nil, err
	}
	out, err := s.g.Process(ctx, p)
	if generator.IsPermanent(err) {
		return nil, streams.Permanent(err)
	}
	return out, err
}

// newGeneratorRunner wires the generator between the prompts and candidates topics.
func (a *app) newGeneratorRunner(ctx context.Context, codecs *schemas.Codecs, models generator.Models, o generatorOptions, rec generator.Recorder) (*streams.Runner[schemas.Prompt, schemas.Candidate], *generator.Generator, error) {
	table, err := a.problemsTable(ctx, codecs)
	if err != nil {
		return nil, nil, err
	}
	g, err := generator.New(generator.Config{
		BaseURL: o.baseURL, APIKey: o.apiKey, Models: models, Problems: table,
		MaxRequests: o.maxRequests, MaxSequences: o.maxSequences, MaxAttempts: o.maxAttempts,
		RequestTimeout: o.timeout, BackoffBase: o.backoffBase, BackoffMax: o.backoffMax, Recorder: rec,
	})
	if err != nil {
		return nil, nil, err
	}
	a.Log.Info("generator ready", "base_url", o.baseURL, "models", len(models), "problems", table.t.Len(),
		"max_requests", g.MaxRequests(), "max_sequences", g.MaxSequences())
	r, err := streams.NewRunner(streams.RunnerConfig[schemas.Prompt, schemas.Candidate]{
		Cluster: a.Cluster(), Group: streams.GroupGenerator, Input: streams.TopicPrompts, Output: streams.TopicCandidates,
		InCodec: codecs.Prompt, OutCodec: codecs.Candidate,
		OutKey:   func(c schemas.Candidate) string { return c.ProblemID },
		Validate: generator.ValidatePrompt,
		// One worker per request slot keeps the server saturated when every prompt is one request;
		// prompts split into several requests share the generator's request and sequence limits.
		// The window (and so memory: at most MaxInFlight prompts' candidates) stays small.
		Workers: g.MaxRequests(), MaxInFlight: 2 * g.MaxRequests(),
		MaxMessageBytes: a.Config.MaxMessageBytes, Log: a.Log,
		OnDeadLettered: o.metrics.deadLettered(streams.TopicPrompts),
	}, generatorStage{g, table})
	return r, g, err
}

// testGeneratorStage maps the test processor's never-succeeding errors to dead letters.
type testGeneratorStage struct {
	t        *generator.TestProcessor
	problems problemLookup
}

func (s testGeneratorStage) Process(ctx context.Context, p schemas.Prompt) ([]schemas.TestCase, error) {
	if err := s.problems.ensure(ctx, p.ProblemID); err != nil {
		return nil, err
	}
	out, err := s.t.Process(ctx, p)
	if generator.IsPermanent(err) {
		return nil, streams.Permanent(err)
	}
	return out, err
}

// newTestGeneratorRunner wires the test processor between the prompts and tests topics: it answers
// the prompts for tests, and commits every other prompt without output.
func (a *app) newTestGeneratorRunner(ctx context.Context, codecs *schemas.Codecs, models generator.Models, o generatorOptions, rec generator.Recorder) (*streams.Runner[schemas.Prompt, schemas.TestCase], error) {
	table, err := a.problemsTable(ctx, codecs)
	if err != nil {
		return nil, err
	}
	tp, err := generator.NewTestProcessor(generator.Config{
		BaseURL: o.baseURL, APIKey: o.apiKey, Models: models, Problems: table,
		MaxRequests: o.maxRequests, MaxSequences: o.maxSequences, MaxAttempts: o.maxAttempts,
		RequestTimeout: o.timeout, BackoffBase: o.backoffBase, BackoffMax: o.backoffMax, Recorder: rec,
	}, testgen.Python{})
	if err != nil {
		return nil, err
	}
	a.Log.Info("test generator ready", "base_url", o.baseURL, "models", len(models), "problems", table.t.Len(),
		"max_requests", tp.MaxRequests())
	return streams.NewRunner(streams.RunnerConfig[schemas.Prompt, schemas.TestCase]{
		Cluster: a.Cluster(), Group: streams.GroupTestGenerator, Input: streams.TopicPrompts, Output: streams.TopicTests,
		InCodec: codecs.Prompt, OutCodec: codecs.TestCase,
		OutKey:   schemas.TestCaseKey,
		Validate: generator.ValidatePrompt,
		// As the candidate generator: one worker per request slot, a small window.
		Workers: tp.MaxRequests(), MaxInFlight: 2 * tp.MaxRequests(),
		MaxMessageBytes: a.Config.MaxMessageBytes, Log: a.Log,
		OnDeadLettered: o.metrics.deadLettered(streams.TopicPrompts),
	}, testGeneratorStage{tp, table})
}

func (a *app) generateCmd() *cobra.Command {
	var o generatorOptions
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
			if _, err := os.Stat(o.modelsPath); err != nil {
				return fmt.Errorf("models file: %w (set it with --models)", err)
			}
			models, err := generator.LoadModels(o.modelsPath)
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			ready := newReadiness(checkKafka, checkStarted)
			stop, err := a.serveObservability(cmd.Context(), reg, ready)
			if err != nil {
				return err
			}
			defer stop()
			a.watchKafka(cmd.Context(), ready)
			m, err := newStageMetrics(reg)
			if err != nil {
				return err
			}
			o.metrics = m
			if tests {
				a.watchLag(cmd.Context(), m, lagEvery, consumed{streams.GroupTestGenerator, streams.TopicPrompts})
			} else {
				a.watchLag(cmd.Context(), m, lagEvery, consumed{streams.GroupGenerator, streams.TopicPrompts})
			}
			rec, err := generator.NewMetrics(reg)
			if err != nil {
				return err
			}
			codecs, err := schemas.NewCodecs()
			if err != nil {
				return err
			}
			if tests {
				r, err := a.newTestGeneratorRunner(cmd.Context(), codecs, models, o, rec)
				if err != nil {
					return err
				}
				registerRunnerStats(reg, "test-generator", r.Stats)
				ready.set(checkStarted, nil)
				return r.Run(cmd.Context())
			}
			r, _, err := a.newGeneratorRunner(cmd.Context(), codecs, models, o, rec)
			if err != nil {
				return err
			}
			registerRunnerStats(reg, "generator", r.Stats)
			ready.set(checkStarted, nil)
			return r.Run(cmd.Context())
		},
	}
	o.bind(cmd)
	cmd.Flags().BoolVar(&tests, "tests", false, "run the test generator instead: prompts for tests → generated test sets on the tests topic (consumer group "+streams.GroupTestGenerator+")")
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
			ctx := cmd.Context()
			codecs, err := a.setUpProblems(ctx, all)
			if err != nil {
				return err
			}
			cp := streams.NewProducer(a.Cluster(), streams.TopicCandidates, codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
			defer cp.Close()
			total, skipped := 0, 0
			for i, p := range prompts {
				if strings.TrimSpace(chosen[i].ReferenceCode) == "" {
					skipped++ // nothing to mutate
					continue
				}
				cs := synthetic.Candidates(p, chosen[i])
				if err := cp.Publish(ctx, cs...); err != nil {
					return err
				}
				total += len(cs)
			}
			fmt.Printf("published %d problems, %d SYNTHETIC candidates (model %s) for %d problems; %d without a reference skipped\n",
				len(all), total, synthetic.ModelName, len(prompts)-skipped, skipped)
			return nil
		},
	}
	f.bind(cmd, synthetic.ModelName)
	return cmd
}

// setUpProblems creates the topic catalog and publishes every problem to the problems table.
func (a *app) setUpProblems(ctx context.Context, all []schemas.Problem) (*schemas.Codecs, error) {
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return nil, err
	}
	if err := a.EnsureTopics(ctx, streams.DefaultCatalog()); err != nil {
		return nil, err
	}
	return codecs, a.publishProblems(ctx, codecs, all)
}
