package reranker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// Join holds back the events a stream consumer must not commit before their request's selection is
// out: a candidate (it gets its Score then) and a behaviour. A waiting event is a callback kept in a
// map by request id, not a blocked goroutine; it is called, and forgotten, once the request's
// selection was published (Published) or, for behaviours, once the request was dropped at the
// bound with no candidate to select among. A request is scored by its bound at the latest, so an
// event waits no longer than the bound plus the time its scoring and publishing take, also when its
// consumer gave the wait up (the callback must then not block). Safe for concurrent use.
type Join struct {
	p *Processor

	mu      sync.Mutex          // taken before the Processor's, never after
	waiting map[string]*pending // candidates, by request id
	held    map[string][]func() // behaviours, by request id

	selected, partial atomic.Int64
}

// pending is what a request's waiting candidates get once it is selected.
type pending struct {
	problemID string
	waiters   map[string][]func(schemas.Score) // by candidate id; a redelivered duplicate waits too
	scores    map[string]schemas.Score
}

// NewJoin returns a Join over a new Processor scoring with m. o.OnDrop, when set, is called after
// the Join released the dropped request's behaviours.
func NewJoin(m Model, o Options) (*Join, error) {
	j := &Join{waiting: map[string]*pending{}, held: map[string][]func(){}}
	onDrop := o.OnDrop
	o.OnDrop = func(requestID string) {
		j.release(requestID)
		if onDrop != nil {
			onDrop(requestID)
		}
	}
	p, err := New(m, o)
	if err != nil {
		return nil, err
	}
	j.p = p
	return j, nil
}

// Processor is the join's request state and model set (for Swap, Current and Open).
func (j *Join) Processor() *Processor { return j.p }

// Expect records how many candidates a request will have (from its prompt).
func (j *Join) Expect(requestID string, n int, now time.Time) error {
	return j.p.Expect(requestID, n, now)
}

// Candidate adds c, a candidate of problem problemID, and calls done with its Score once its
// request's selection is published. Nothing is kept when it returns an error: ErrSelected for a
// candidate whose request is already selected (a late duplicate; its score is out), any other for
// a candidate that can never join.
func (j *Join) Candidate(c Candidate, problemID string, now time.Time, done func(schemas.Score)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	// Added and registered under one lock: the request cannot be published in between.
	if err := j.p.Add(c, now); err != nil {
		return err
	}
	r := j.waiting[c.RequestID]
	if r == nil {
		r = &pending{problemID: problemID, waiters: map[string][]func(schemas.Score){}, scores: map[string]schemas.Score{}}
		j.waiting[c.RequestID] = r
	}
	r.waiters[c.CandidateID] = append(r.waiters[c.CandidateID], done)
	return nil
}

// Behavior adds a candidate's behaviour and calls done once its request's selection is published
// or the request is dropped. Errors as for Candidate: ErrSelected when its request was selected
// without it.
func (j *Join) Behavior(b schemas.Behavior, now time.Time, done func()) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.p.AddBehavior(b, now); err != nil {
		return err
	}
	j.held[b.RequestID] = append(j.held[b.RequestID], done)
	return nil
}

// Flush scores what is ready (see Processor.Flush) and returns the selections to publish, stamped
// with now; their candidates' Scores are kept for Published. A scoring error is returned with the
// selections of the versions that did score; the rest stay queued for the next Flush.
func (j *Join) Flush(ctx context.Context, now time.Time) ([]schemas.Selection, error) {
	scores, sels, err := j.p.Flush(ctx, now)
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, sc := range scores {
		if r := j.waiting[sc.RequestID]; r != nil {
			r.scores[sc.CandidateID] = schemas.Score{CandidateID: sc.CandidateID, RequestID: sc.RequestID, ProblemID: r.problemID,
				Energy: float64(sc.Energy), ModelVersion: sc.ModelVersion, ScoredAtMs: now.UnixMilli()}
		}
	}
	out := make([]schemas.Selection, len(sels))
	for i, sel := range sels {
		var pid string
		if r := j.waiting[sel.RequestID]; r != nil {
			pid = r.problemID
		}
		out[i] = schemas.Selection{RequestID: sel.RequestID, ProblemID: pid, CandidateID: sel.CandidateID, Energy: float64(sel.Energy),
			Candidates: int32(sel.Candidates), Expected: int32(sel.Expected), Partial: sel.Partial, ModelVersion: sel.ModelVersion,
			SelectedAtMs: now.UnixMilli()}
	}
	return out, err
}

// Published releases what waited for sels, selections Flush returned that are now acknowledged:
// each candidate's callback gets its Score, each behaviour's is called.
func (j *Join) Published(sels []schemas.Selection) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, sel := range sels {
		j.selected.Add(1)
		if sel.Partial {
			j.partial.Add(1)
		}
		j.releaseLocked(sel.RequestID)
		r := j.waiting[sel.RequestID]
		delete(j.waiting, sel.RequestID)
		if r == nil {
			continue
		}
		for cid, dones := range r.waiters {
			sc, ok := r.scores[cid]
			if !ok {
				continue // cannot happen: a request is selected only when all its candidates are scored
			}
			for _, done := range dones {
				done(sc)
			}
		}
	}
}

// release lets the behaviours held for a request go: it was dropped with no candidate.
func (j *Join) release(requestID string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.releaseLocked(requestID)
}

func (j *Join) releaseLocked(requestID string) {
	for _, done := range j.held[requestID] {
		done()
	}
	delete(j.held, requestID)
}

// Open is the number of requests not yet selected.
func (j *Join) Open() int { return j.p.Open() }

// Selected and Partial count the published selections, and those of them that were partial.
func (j *Join) Selected() int64 { return j.selected.Load() }

// Partial counts the published selections that were partial.
func (j *Join) Partial() int64 { return j.partial.Load() }

// Waiting is the number of events held: candidates and behaviours whose callbacks are pending.
func (j *Join) Waiting() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, r := range j.waiting {
		for _, dones := range r.waiters {
			n += len(dones)
		}
	}
	for _, dones := range j.held {
		n += len(dones)
	}
	return n
}
