package pipeline

import (
	"context"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/processors/generator"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// GeneratorOptions configure the generator and test-generator processors.
type GeneratorOptions struct {
	BaseURL      string // the OpenAI-compatible server
	APIKey       string
	MaxRequests  int           // requests in flight
	MaxSequences int           // samples in flight (n summed over requests)
	MaxAttempts  int           // attempts per request before the prompt is dead-lettered
	Timeout      time.Duration // one attempt's limit, to the last token
	BackoffBase  time.Duration // 0: the generator's default (tests shorten it)
	BackoffMax   time.Duration
	Metrics      *ops.StageMetrics // nil: none (dead letters by stage)
}

func (o GeneratorOptions) config(models generator.Models, problems Problems, rec generator.Recorder) generator.Config {
	return generator.Config{
		BaseURL: o.BaseURL, APIKey: o.APIKey, Models: models, Problems: problems,
		MaxRequests: o.MaxRequests, MaxSequences: o.MaxSequences, MaxAttempts: o.MaxAttempts,
		RequestTimeout: o.Timeout, BackoffBase: o.BackoffBase, BackoffMax: o.BackoffMax, Recorder: rec,
	}
}

// promptStage runs a prompt processor once the prompt's problem is known (or a real miss); the
// processor marks its own never-succeeding errors permanent.
type promptStage[Out any] struct {
	process  func(context.Context, schemas.Prompt) ([]Out, error)
	problems Problems
}

func (s promptStage[Out]) Process(ctx context.Context, p schemas.Prompt) ([]Out, error) {
	if err := s.problems.Ensure(ctx, p.ProblemID); err != nil {
		return nil, err
	}
	return s.process(ctx, p)
}

// promptRunner consumes the prompts topic into output with one worker per request slot: that keeps
// the server saturated when every prompt is one request, while prompts split into several requests
// share the processor's request and sequence limits. The window (and so memory: at most
// MaxInFlight prompts' outputs) stays small.
func promptRunner[Out any](env *config.Env, codecs *schemas.Codecs, group, output string, codec *schemas.Codec[Out], key func(Out) string,
	maxRequests int, o GeneratorOptions, stage promptStage[Out]) (*streams.Runner[schemas.Prompt, Out], error) {
	return streams.NewRunner(streams.RunnerConfig[schemas.Prompt, Out]{
		Cluster: env.Cluster(), Group: group, Input: streams.TopicPrompts, Output: output,
		InCodec: codecs.Prompt, OutCodec: codec, OutKey: key,
		Validate: generator.ValidatePrompt,
		Workers:  maxRequests, MaxInFlight: 2 * maxRequests,
		MaxMessageBytes: env.Config.MaxMessageBytes, Log: env.Log,
		OnDeadLettered: o.Metrics.DeadLettered(streams.TopicPrompts),
	}, stage)
}

// NewGeneratorRunner wires the generator between the prompts and candidates topics; it returns
// once the problems table caught up.
func NewGeneratorRunner(ctx context.Context, env *config.Env, codecs *schemas.Codecs, models generator.Models, o GeneratorOptions, rec generator.Recorder) (*streams.Runner[schemas.Prompt, schemas.Candidate], *generator.Generator, error) {
	table, err := StartProblems(ctx, env, codecs)
	if err != nil {
		return nil, nil, err
	}
	g, err := generator.New(o.config(models, table, rec))
	if err != nil {
		return nil, nil, err
	}
	env.Log.Info("generator ready", "base_url", o.BaseURL, "models", len(models), "problems", table.Len(),
		"max_requests", g.MaxRequests(), "max_sequences", g.MaxSequences())
	r, err := promptRunner(env, codecs, streams.GroupGenerator, streams.TopicCandidates, codecs.Candidate, candidateKey,
		g.MaxRequests(), o, promptStage[schemas.Candidate]{g.Process, table})
	return r, g, err
}

// NewTestGeneratorRunner wires the test processor between the prompts and tests topics: it answers
// the prompts for tests, and commits every other prompt without output.
func NewTestGeneratorRunner(ctx context.Context, env *config.Env, codecs *schemas.Codecs, models generator.Models, o GeneratorOptions, rec generator.Recorder) (*streams.Runner[schemas.Prompt, schemas.TestCase], error) {
	table, err := StartProblems(ctx, env, codecs)
	if err != nil {
		return nil, err
	}
	tp, err := generator.NewTestProcessor(o.config(models, table, rec), testgen.Python{})
	if err != nil {
		return nil, err
	}
	env.Log.Info("test generator ready", "base_url", o.BaseURL, "models", len(models), "problems", table.Len(),
		"max_requests", tp.MaxRequests())
	return promptRunner(env, codecs, streams.GroupTestGenerator, streams.TopicTests, codecs.TestCase, schemas.TestCaseKey,
		tp.MaxRequests(), o, promptStage[schemas.TestCase]{tp.Process, table})
}
