package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/producers/synthetic"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// Request sizes: bounded, still few round trips. A test set carries its 100 raw generations, so
// its requests stay moderate.
const (
	candidateChunk = 2000
	testSetChunk   = 20
)

func candidateKey(c schemas.Candidate) string { return c.ProblemID }

// publishChunked publishes items in requests of at most chunk records.
func publishChunked[T any](ctx context.Context, p *streams.Producer[T], items []T, chunk int) error {
	for i := 0; i < len(items); i += chunk {
		if err := p.Publish(ctx, items[i:min(i+chunk, len(items))]...); err != nil {
			return err
		}
	}
	return nil
}

// PublishProblems sends problems to the problems topic, keyed by problem id.
func PublishProblems(ctx context.Context, env *config.Env, codecs *schemas.Codecs, problems []schemas.Problem) error {
	pp := streams.NewProducer(env.Cluster(), streams.TopicProblems, codecs.Problem, func(p schemas.Problem) string { return p.ProblemID })
	defer pp.Close()
	if err := pp.Publish(ctx, problems...); err != nil {
		return fmt.Errorf("publish problems: %w", err)
	}
	return nil
}

// SetUpProblems creates the topic catalog and publishes every problem to the problems table.
func SetUpProblems(ctx context.Context, env *config.Env, all []schemas.Problem) (*schemas.Codecs, error) {
	codecs, err := codecsAndTopics(ctx, env)
	if err != nil {
		return nil, err
	}
	return codecs, PublishProblems(ctx, env, codecs, all)
}

// codecsAndTopics builds the codecs and creates the topic catalog (within the connect timeout).
func codecsAndTopics(ctx context.Context, env *config.Env) (*schemas.Codecs, error) {
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return nil, err
	}
	return codecs, env.EnsureTopics(ctx, streams.DefaultCatalog())
}

// Publish sends the problems of problemsPath, then the candidates of the samples file (none when
// samplesPath is empty); it returns how many problems it sent and the candidates.
func Publish(ctx context.Context, env *config.Env, codecs *schemas.Codecs, problemsPath, samplesPath string, opt producers.SampleOptions) (int, []schemas.Candidate, error) {
	problems, err := producers.LoadProblems(problemsPath)
	if err != nil {
		return 0, nil, err
	}
	if err := PublishProblems(ctx, env, codecs, problems); err != nil {
		return 0, nil, err
	}
	if samplesPath == "" {
		return len(problems), nil, nil
	}
	cands, unmatched, err := producers.LoadSamples(samplesPath, problems, opt)
	if err != nil {
		return 0, nil, err
	}
	if len(unmatched) > 0 {
		return 0, nil, fmt.Errorf("%s: %d sample lines match no problem (first: line %d: %s)", samplesPath, len(unmatched), unmatched[0].Line, unmatched[0].Reason)
	}
	cp := streams.NewProducer(env.Cluster(), streams.TopicCandidates, codecs.Candidate, candidateKey)
	defer cp.Close()
	if err := publishChunked(ctx, cp, cands, candidateChunk); err != nil {
		return 0, nil, fmt.Errorf("publish candidates: %w", err)
	}
	return len(problems), cands, nil
}

// PublishTests replays a CodeT test-case file onto the tests topic, with CodeT's extraction. Test
// set ids come from the content, so replaying the same file again yields the same ids.
func PublishTests(ctx context.Context, env *config.Env, codecs *schemas.Codecs, problemsPath, testsPath, model string) ([]schemas.TestCase, error) {
	problems, err := producers.LoadProblems(problemsPath)
	if err != nil {
		return nil, err
	}
	tcs, err := producers.LoadCodeTTests(ctx, testsPath, problems, model, testgen.Python{})
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()
	for i := range tcs {
		tcs[i].CreatedAtMs = now
	}
	tp := streams.NewProducer(env.Cluster(), streams.TopicTests, codecs.TestCase, schemas.TestCaseKey)
	defer tp.Close()
	if err := publishChunked(ctx, tp, tcs, testSetChunk); err != nil {
		return nil, fmt.Errorf("publish tests: %w", err)
	}
	return tcs, nil
}

// ProduceOptions name what Produce publishes.
type ProduceOptions struct {
	Problems string // problems file (required)
	Samples  string // pre-generated samples; empty: none
	Tests    string // generated test cases (CodeT format); empty: none
	Sample   producers.SampleOptions
}

// Produce creates the topic catalog and publishes the generated tests (first: the executor runs a
// candidate against the tests its problem has then), the problems and the samples, saying what it
// published on w.
func Produce(ctx context.Context, env *config.Env, o ProduceOptions, w io.Writer) error {
	if o.Problems == "" {
		return fmt.Errorf("--problems is required")
	}
	codecs, err := codecsAndTopics(ctx, env)
	if err != nil {
		return err
	}
	if o.Tests != "" {
		tcs, err := PublishTests(ctx, env, codecs, o.Problems, o.Tests, o.Sample.Model)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "published %d test sets (%d distinct asserts) from %s\n", len(tcs), countAsserts(tcs), o.Sample.Model)
	}
	np, nc, err := Publish(ctx, env, codecs, o.Problems, o.Samples, o.Sample)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "published %d problems, %d candidates\n", np, len(nc))
	return nil
}

func countAsserts(tcs []schemas.TestCase) int {
	n := 0
	for _, tc := range tcs {
		n += len(tc.Asserts)
	}
	return n
}

// ProducePrompts publishes every problem of all (the generator needs the few-shot examples too)
// and the prompts of model, saying what it published on w; tests says the prompts ask for tests.
func ProducePrompts(ctx context.Context, env *config.Env, all []schemas.Problem, prompts []schemas.Prompt, model string, tests bool, w io.Writer) error {
	codecs, err := SetUpProblems(ctx, env, all)
	if err != nil {
		return err
	}
	pp := streams.NewProducer(env.Cluster(), streams.TopicPrompts, codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	defer pp.Close()
	if err := pp.Publish(ctx, prompts...); err != nil {
		return err
	}
	n := 0
	for _, p := range prompts {
		n += int(p.N)
	}
	what := "samples"
	if tests {
		what = "test generations; 0: the model's tests settings"
	}
	fmt.Fprintf(w, "published %d problems, %d prompts (%d %s) for model %s\n", len(all), len(prompts), n, what, model)
	return nil
}

// Synthesize publishes every problem of all and, for each chosen problem with a reference
// solution, the synthetic candidates of its prompt (prompts[i] belongs to chosen[i]), saying what
// it published on w.
func Synthesize(ctx context.Context, env *config.Env, all, chosen []schemas.Problem, prompts []schemas.Prompt, w io.Writer) error {
	codecs, err := SetUpProblems(ctx, env, all)
	if err != nil {
		return err
	}
	cp := streams.NewProducer(env.Cluster(), streams.TopicCandidates, codecs.Candidate, candidateKey)
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
	fmt.Fprintf(w, "published %d problems, %d SYNTHETIC candidates (model %s) for %d problems; %d without a reference skipped\n",
		len(all), total, synthetic.ModelName, len(prompts)-skipped, skipped)
	return nil
}

// LoadPrompts reads the problems of problemsPath and builds opt's prompts for the problems of the
// chosen splits (all splits when none is given); it returns every problem, the chosen ones and
// their prompts, in the same order.
func LoadPrompts(problemsPath string, splits []string, opt producers.PromptOptions) (all, chosen []schemas.Problem, prompts []schemas.Prompt, err error) {
	if problemsPath == "" {
		return nil, nil, nil, fmt.Errorf("--problems is required")
	}
	if all, err = producers.LoadProblems(problemsPath); err != nil {
		return nil, nil, nil, err
	}
	chosen = producers.FilterSplit(all, splits...)
	if len(chosen) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: no problems in splits %v", problemsPath, splits)
	}
	opt.CreatedAtMs = time.Now().UnixMilli()
	return all, chosen, producers.BuildPrompts(chosen, opt), nil
}
