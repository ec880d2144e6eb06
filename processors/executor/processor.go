package executor

import (
	"context"
	"fmt"

	"github.com/codeverify/codeverify/schemas"
)

// Problems looks problems up by id (a table kept current from the problems topic).
type Problems interface {
	Problem(id string) (schemas.Problem, bool)
}

// Processor turns candidates into verdicts. Pure logic: the streams runner does the I/O.
type Processor struct {
	Exec     *Executor
	Problems Problems
}

// Process executes one candidate and returns its verdict. Errors produce no verdict: those
// wrapping ErrUnknownProblem, ErrInvalidProblem or ErrInvalidCandidate can never succeed (dead
// letter); any other error (e.g. the context was cancelled) is worth a retry.
func (p *Processor) Process(ctx context.Context, c schemas.Candidate) ([]schemas.Verdict, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCandidate, err)
	}
	prob, ok := p.Problems.Problem(c.ProblemID)
	if !ok {
		return nil, fmt.Errorf("%w: %s (candidate %s)", ErrUnknownProblem, c.ProblemID, c.CandidateID)
	}
	v, err := p.Exec.Verdict(ctx, prob, c)
	if err != nil {
		return nil, err
	}
	return []schemas.Verdict{v}, nil
}

// Tests looks a problem's generated asserts up by problem id (kept current from the test-case
// topic). ok is false while the problem has no generated tests yet. They are the only behaviour
// tests: a benchmark's own asserts (MBPP shows its evaluation tests in the prompt) are hidden tests
// and must never be returned here.
type Tests interface {
	GeneratedTests(problemID string) ([]schemas.GeneratedAssert, bool)
}

// Output is one event of a DualProcessor: exactly one of the two is set. A route function sends
// Verdicts to the verdicts topic and Behaviors to the behaviors topic.
type Output struct {
	Verdict  *schemas.Verdict
	Behavior *schemas.Behavior
}

// DualProcessor turns a candidate into its verdict and, when its problem has generated tests, its
// behaviour on them, from one sandbox run. Errors as for Processor.
type DualProcessor struct {
	Exec     *Executor
	Problems Problems
	Tests    Tests
}

// Process returns the verdict first, then the behaviour (only when the problem has generated tests).
func (p *DualProcessor) Process(ctx context.Context, c schemas.Candidate) ([]Output, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCandidate, err)
	}
	prob, ok := p.Problems.Problem(c.ProblemID)
	if !ok {
		return nil, fmt.Errorf("%w: %s (candidate %s)", ErrUnknownProblem, c.ProblemID, c.CandidateID)
	}
	var tests []schemas.GeneratedAssert
	if p.Tests != nil {
		tests, _ = p.Tests.GeneratedTests(c.ProblemID)
	}
	v, b, err := p.Exec.Dual(ctx, prob, tests, c)
	if err != nil {
		return nil, err
	}
	out := []Output{{Verdict: &v}}
	if len(tests) > 0 {
		out = append(out, Output{Behavior: &b})
	}
	return out, nil
}
