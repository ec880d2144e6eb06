package evaluation

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/codeverify/codeverify/internal/progress"
	"github.com/codeverify/codeverify/schemas"
)

// eachCandidate calls run for every candidate with its problem, concurrently (at most 256
// goroutines; the executor bounds the processes), reporting progress. run writes only to its own
// index. Once ctx ends or a run failed it starts no more runs; it returns the first error, or the
// context's when interrupted.
func eachCandidate(ctx context.Context, problems []schemas.Problem, cands []schemas.Candidate, desc string, progressOut io.Writer,
	run func(i int, p schemas.Problem, c schemas.Candidate) error) error {
	byID := make(map[string]schemas.Problem, len(problems))
	for _, p := range problems {
		byID[p.ProblemID] = p
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	var firstErr error
	bar := progress.New(progressOut, desc, int64(len(cands)))
	defer bar.Finish()
	sem := make(chan struct{}, 256)
	for i, c := range cands {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := run(i, byID[c.ProblemID], c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s sample %d: %w", c.ProblemID, c.SampleIndex, err)
			}
			done++
			bar.Set(int64(done))
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return firstErr
}

// dualExecutor runs a candidate against its problem's hidden tests (the verdict) and against the
// generated asserts (the behaviour).
type dualExecutor interface {
	Dual(ctx context.Context, p schemas.Problem, asserts []schemas.GeneratedAssert, c schemas.Candidate) (schemas.Verdict, schemas.Behavior, error)
}

// dualAll runs every candidate in dual execution, concurrently (the executor bounds the processes).
func dualAll(ctx context.Context, ex dualExecutor, problems []schemas.Problem, cands []schemas.Candidate,
	tests map[string][]schemas.GeneratedAssert, progressOut io.Writer) ([]schemas.Verdict, []schemas.Behavior, error) {
	verdicts := make([]schemas.Verdict, len(cands))
	behaviors := make([]schemas.Behavior, len(cands))
	err := eachCandidate(ctx, problems, cands, "executed in dual execution", progressOut, func(i int, p schemas.Problem, c schemas.Candidate) (err error) {
		verdicts[i], behaviors[i], err = ex.Dual(ctx, p, tests[c.ProblemID], c)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return verdicts, behaviors, nil
}
