package evaluation

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

func manyCandidates(n int) []schemas.Candidate {
	cands := make([]schemas.Candidate, n)
	for i := range cands {
		cands[i] = schemas.Candidate{ProblemID: "p", SampleIndex: int32(i)}
	}
	return cands
}

// Once the context ends, no more runs start: at most the 256 already running finish.
func TestEachCandidateStopsStartingWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cands := manyCandidates(2000)
	var ran atomic.Int64
	err := eachCandidate(ctx, nil, cands, "test", io.Discard, func(i int, _ schemas.Problem, _ schemas.Candidate) error {
		ran.Add(1)
		if i == 0 {
			cancel()
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the context's", err)
	}
	if n := ran.Load(); n > 256 {
		t.Errorf("%d of %d runs started after the cancel, want at most 256", n, len(cands))
	}
}

// Once a run failed, no more runs start, and its error is returned.
func TestEachCandidateStopsStartingAfterAFailure(t *testing.T) {
	cands := manyCandidates(2000)
	broken := errors.New("sandbox broken")
	var ran atomic.Int64
	err := eachCandidate(context.Background(), nil, cands, "test", io.Discard, func(i int, _ schemas.Problem, _ schemas.Candidate) error {
		ran.Add(1)
		if i == 0 {
			return broken
		}
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	if !errors.Is(err, broken) {
		t.Errorf("err = %v, want the failed run's", err)
	}
	if n := ran.Load(); n > 512 {
		t.Errorf("%d of %d runs started after a failure, want at most 512", n, len(cands))
	}
}
