package generator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/schemas"
)

// TaskTests is a request for generated tests: CodeT's test prompt for a function problem.
const TaskTests = "tests"

// ErrNotAFunction: generated tests need a problem given as a signature and docstring.
var ErrNotAFunction = fmt.Errorf("%w: tests need a function problem (signature + docstring)", ErrPermanent)

// BuildTestRequest renders CodeT's test prompt of problem p for model m: the prompt itself for a
// base model, an instruction around it for a chat model. No stop sequences are sent: CodeT samples
// tests without them and cuts each assert itself, and a stop at "\n#" would lose every assert after
// a comment.
func BuildTestRequest(m Model, p schemas.Problem) Request {
	r := Request{API: m.API, Task: TaskTests, EntryPoint: p.EntryPoint}
	if m.API == APIChat {
		r.Messages = chatMessages(m, testgen.ChatInstruction(p.Prompt, p.EntryPoint))
	} else {
		r.Prompt = testgen.Prompt(p.Prompt, p.EntryPoint)
	}
	return r
}

// TestProcessor is the processor prompts → generated test sets. It answers the prompts whose
// Purpose is schemas.PurposeTests (and ignores the rest, which the Generator answers): it samples
// the model with CodeT's test prompt, extracts the asserts with CodeT's rules and returns one
// TestCase. It shares the Generator's limits, retries and errors, and is safe for concurrent use.
type TestProcessor struct {
	g     *Generator
	check testgen.Checker
}

// NewTestProcessor validates cfg; check decides which asserts compile (testgen.Python{}).
func NewTestProcessor(cfg Config, check testgen.Checker) (*TestProcessor, error) {
	if check == nil {
		return nil, errors.New("generator: tests need a compile checker")
	}
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &TestProcessor{g: g, check: check}, nil
}

// MaxRequests is the request concurrency after defaults (a runner sizes its workers from it).
func (t *TestProcessor) MaxRequests() int { return t.g.MaxRequests() }

// WithTestSettings fills the sampling parameters a tests prompt leaves at zero from the model's
// tests settings.
func WithTestSettings(p schemas.Prompt, m Model) schemas.Prompt {
	if p.N == 0 {
		p.N = m.Tests.N
	}
	if p.Temperature == 0 {
		p.Temperature = m.Tests.Temperature
	}
	if p.TopP == 0 {
		p.TopP = m.Tests.TopP
	}
	if p.MaxTokens == 0 {
		p.MaxTokens = m.Tests.MaxTokens
	}
	return p
}

// Process returns the problem's generated test set for a tests prompt, nothing for any other
// prompt. The test set id derives from (problem, model, raw generations). Errors wrapping
// ErrPermanent never succeed; a failing compile checker is transient.
func (t *TestProcessor) Process(ctx context.Context, p schemas.Prompt) ([]schemas.TestCase, error) {
	if p.Purpose != schemas.PurposeTests {
		return nil, nil
	}
	g := t.g
	m, prob, err := g.resolve(p)
	if err != nil {
		return nil, err
	}
	if TaskOf(prob) != TaskFunction || prob.EntryPoint == "" {
		g.rec.PromptFailed("invalid")
		return nil, fmt.Errorf("%w: %s (prompt %s)", ErrNotAFunction, p.ProblemID, p.RequestID)
	}
	p = WithTestSettings(p, m)
	req := BuildTestRequest(m, prob)
	samples, err := g.samples(ctx, m, p, req)
	if err != nil {
		return nil, err
	}
	raw := make([]string, len(samples))
	for i, s := range samples {
		raw[i] = s.text
		if m.API == APIChat {
			raw[i] = testgen.ChatReply(s.text)
		}
	}
	asserts, err := testgen.Extract(ctx, t.check, prob.EntryPoint, raw)
	if err != nil {
		return nil, err
	}
	return []schemas.TestCase{{
		TestSetID: schemas.TestSetID(p.ProblemID, p.Model, raw), ProblemID: p.ProblemID, Benchmark: prob.Benchmark,
		Model: p.Model, Source: g.cfg.Source, RequestID: p.RequestID, Raw: raw, Asserts: asserts,
		CreatedAtMs: time.Now().UnixMilli(),
	}}, nil
}
