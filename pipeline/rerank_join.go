package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// The reranker's consumers hand their events to the Join, which keeps what waits as callbacks in
// maps; the runners (asynchronous) commit a candidate or behaviour once its callback ran, i.e. once
// its request's selection is published. Until then it is held in memory only, and a crash replays it.

func (r *Reranker) prompt(_ context.Context, p schemas.Prompt) ([]struct{}, error) {
	if p.RequestID == "" || p.N < 1 || p.Purpose == schemas.PurposeTests {
		return nil, nil // nothing to expect (a prompt for tests yields no candidates)
	}
	return nil, r.join.Expect(p.RequestID, int(p.N), time.Now())
}

// behavior records a candidate's behaviour and holds it (uncommitted) until its request's selection
// is out, so a crash before that replays it with the request's candidates.
func (r *Reranker) behavior(_ context.Context, b schemas.Behavior, done func([]struct{}, error)) {
	if b.RequestID == "" {
		done(nil, streams.Permanent(fmt.Errorf("behaviour of %s: no request id to join", b.CandidateID)))
		return
	}
	if err := r.join.Behavior(b, time.Now(), func() { done(nil, nil) }); err != nil {
		done(nil, rerankJoinError(err)) // ErrSelected: its request was selected without it
	}
}

// candidate adds a candidate; its Score is written once its request's selection is out.
func (r *Reranker) candidate(_ context.Context, c schemas.Candidate, done func([]schemas.Score, error)) {
	if c.RequestID == "" {
		done(nil, streams.Permanent(fmt.Errorf("candidate %s: no request id to select within", c.CandidateID)))
		return
	}
	if err := r.problems.Err(); err != nil {
		done(nil, fmt.Errorf("candidate %s: problems table: %w", c.CandidateID, err)) // retried: the miss below would not be real
		return
	}
	prob, ok := r.problems.Problem(c.ProblemID)
	if !ok {
		done(nil, streams.Permanent(fmt.Errorf("candidate %s: unknown problem %s", c.CandidateID, c.ProblemID)))
		return
	}
	err := r.join.Candidate(reranker.Candidate{RequestID: c.RequestID, CandidateID: c.CandidateID, Prompt: prob.Prompt, Code: c.Code},
		c.ProblemID, time.Now(), func(sc schemas.Score) { done([]schemas.Score{sc}, nil) })
	if err != nil {
		done(nil, rerankJoinError(err)) // ErrSelected: a late duplicate, its score and selection are out already
	}
}

// rerankJoinError is what an event the Join refused becomes: nothing to do (committed without
// output) when its request was selected already, else a dead letter.
func rerankJoinError(err error) error {
	if errors.Is(err, reranker.ErrSelected) {
		return nil
	}
	return streams.Permanent(err)
}

// flushLoop scores what is queued, publishes the selections, then releases their candidates and
// behaviours.
func (r *Reranker) flushLoop(ctx context.Context) error {
	t := time.NewTicker(r.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		sels, err := r.join.Flush(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			r.env.Log.Warn("reranker scoring failed; the candidates stay queued", "err", err)
		}
		if len(sels) == 0 {
			continue
		}
		// Until the selections are acknowledged their candidates stay uncommitted; retry until shutdown.
		bo := backoff.New(100*time.Millisecond, 5*time.Second)
		for {
			err := r.selections.Publish(ctx, sels...)
			if err == nil {
				break
			}
			r.env.Log.Warn("publishing selections failed; retrying", "err", err, "selections", len(sels))
			if bo.Wait(ctx) != nil {
				return nil
			}
		}
		r.join.Published(sels)
	}
}
