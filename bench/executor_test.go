package bench

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// No fast problem is a clear error, for the load runs and the soak alike.
func TestNoFastProblemsIsAnError(t *testing.T) {
	if cs, err := benchCandidates(nil, 10, 0.1); !errors.Is(err, errNoFastProblems) {
		t.Errorf("benchCandidates = %d candidates, %v; want errNoFastProblems", len(cs), err)
	}
	if err := runSoak(context.Background(), io.Discard, nil, nil, time.Second); !errors.Is(err, errNoFastProblems) {
		t.Errorf("runSoak = %v, want errNoFastProblems", err)
	}
}

// Candidates cycle through the problems, every 1/loops-th an infinite loop that must not pass.
func TestBenchCandidatesCycleAndLoop(t *testing.T) {
	ps := []schemas.Problem{{ProblemID: "a", ReferenceCode: "x = 1"}, {ProblemID: "b", ReferenceCode: "y = 2"}}
	cs, err := benchCandidates(ps, 10, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	loops := 0
	for i, c := range cs {
		if c.p.ProblemID != ps[i%2].ProblemID {
			t.Errorf("candidate %d is of %s", i, c.p.ProblemID)
		}
		if !c.wantPass {
			loops++
		}
	}
	if loops != 2 {
		t.Errorf("%d loops in 10 candidates at 20%%, want 2", loops)
	}
}
