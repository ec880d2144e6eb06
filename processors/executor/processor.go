package executor

import (
	"context"
	"fmt"

	"github.com/codeverify/codeverify/schemas"
)

// Problems looks problems up by id (the lead's problem table, kept current from the problems topic).
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
