package reranker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Candidate is one generated program for a request (a prompt that asked for several).
type Candidate struct {
	RequestID   string
	CandidateID string
	Prompt      string
	Code        string
}

// Score is the verifier's energy for one candidate, by one model version.
type Score struct {
	RequestID    string
	CandidateID  string
	Energy       float32
	ModelVersion string
}

// Selection is the request's min-energy candidate. Partial: chosen among fewer than Expected
// candidates because the rest did not arrive within the bound.
type Selection struct {
	RequestID    string
	CandidateID  string
	Energy       float32
	Candidates   int
	Expected     int
	Partial      bool
	ModelVersion string
}

// Options configure a Processor.
type Options struct {
	// Bound is how long a request waits, from its first event, for all its candidates before it is
	// selected among those present and marked partial.
	Bound time.Duration
	// OnRetire is called with a model that no request uses any more after a Swap (to close it).
	OnRetire func(Model)
	// Remember is how long a selected request is remembered, so that a late or redelivered
	// candidate of it is refused (ErrSelected) instead of opening a second, partial request
	// (default 10 × Bound).
	Remember time.Duration
}

// ErrSelected: the candidate's request was already selected; its score was emitted then.
var ErrSelected = errors.New("reranker: request already selected")

type request struct {
	expected int // 0 until the prompt event says
	first    time.Time
	version  string // every candidate of a request is scored by one model version
	ids      []string
	energies []float32
	pending  int
}

type queued struct {
	c   Candidate
	req *request
}

// Processor batches candidates across requests, emits a Score per candidate and a Selection per
// request. A new model (Swap) applies to requests that start after it; requests already under way
// finish on the version that scored their first candidate, so nothing is scored twice or by a mix.
// Safe for concurrent use; Flush calls are serialised.
type Processor struct {
	opts Options

	mu       sync.Mutex
	current  Model
	models   map[string]Model
	requests map[string]*request
	selected map[string]time.Time // request id → when it was selected, kept for Remember
	queue    []queued
	seen     map[string]bool // requestID/candidateID: redelivered candidates are not rescored

	flushMu sync.Mutex
}

// New returns a Processor scoring with m.
func New(m Model, o Options) (*Processor, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if o.Bound <= 0 {
		return nil, fmt.Errorf("reranker: bound %v, want > 0", o.Bound)
	}
	if o.Remember <= 0 {
		o.Remember = 10 * o.Bound
	}
	return &Processor{opts: o, current: m, models: map[string]Model{m.Version: m},
		requests: map[string]*request{}, selected: map[string]time.Time{}, seen: map[string]bool{}}, nil
}

// Version is the model version new requests get.
func (p *Processor) Version() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current.Version
}

// Swap makes m the model for requests that start from now on.
func (p *Processor) Swap(m Model) error {
	if err := m.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.models[m.Version]; ok && m.Version != p.current.Version {
		return fmt.Errorf("reranker: version %s is still retiring", m.Version)
	}
	old := p.current
	p.current = m
	p.models[m.Version] = m
	p.retireLocked(old)
	return nil
}

func (p *Processor) retireLocked(m Model) {
	if m.Version == p.current.Version {
		return
	}
	for _, r := range p.requests {
		if r.version == m.Version {
			return
		}
	}
	delete(p.models, m.Version)
	if p.opts.OnRetire != nil {
		p.opts.OnRetire(m)
	}
}

func (p *Processor) requestLocked(id string, now time.Time) *request {
	r := p.requests[id]
	if r == nil {
		r = &request{first: now, version: p.current.Version}
		p.requests[id] = r
	}
	return r
}

// Expect records how many candidates a request will have (from its prompt event).
func (p *Processor) Expect(requestID string, n int, now time.Time) error {
	if requestID == "" || n < 1 {
		return fmt.Errorf("reranker: expect %q × %d", requestID, n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, done := p.selected[requestID]; done {
		return nil // the prompt came after its request was selected (partially): nothing to wait for
	}
	p.requestLocked(requestID, now).expected = n
	return nil
}

// Add queues a candidate for the next Flush. A candidate seen before is ignored (at-least-once input);
// one of a request selected within Remember is refused with ErrSelected.
func (p *Processor) Add(c Candidate, now time.Time) error {
	if c.RequestID == "" || c.CandidateID == "" {
		return errors.New("reranker: candidate without request or candidate id")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, done := p.selected[c.RequestID]; done {
		return ErrSelected
	}
	key := c.RequestID + "\x00" + c.CandidateID
	if p.seen[key] {
		return nil
	}
	p.seen[key] = true
	r := p.requestLocked(c.RequestID, now)
	r.pending++
	p.queue = append(p.queue, queued{c: c, req: r})
	return nil
}

// Flush scores everything queued (batched across requests, per model version) and returns the
// scores and the selections of requests that are complete, or past the bound at now. On a scoring
// error the unscored candidates stay queued for the next Flush.
func (p *Processor) Flush(ctx context.Context, now time.Time) ([]Score, []Selection, error) {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	p.mu.Lock()
	queue := p.queue
	p.queue = nil
	p.mu.Unlock()

	var scores []Score
	byVersion := map[string][]queued{}
	var versions []string
	for _, q := range queue {
		if _, ok := byVersion[q.req.version]; !ok {
			versions = append(versions, q.req.version)
		}
		byVersion[q.req.version] = append(byVersion[q.req.version], q)
	}
	var firstErr error
	for _, v := range versions {
		qs := byVersion[v]
		p.mu.Lock()
		m := p.models[v]
		p.mu.Unlock()
		pairs := make([]Pair, len(qs))
		for i, q := range qs {
			pairs[i] = Pair{Prompt: q.c.Prompt, Code: q.c.Code}
		}
		var energies []float32
		var err error
		if firstErr == nil {
			energies, err = m.ScorePairs(ctx, pairs)
		}
		p.mu.Lock()
		if err != nil || firstErr != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("reranker: model %s: %w", v, err)
			}
			p.queue = append(p.queue, qs...)
			p.mu.Unlock()
			continue
		}
		for i, q := range qs {
			q.req.ids = append(q.req.ids, q.c.CandidateID)
			q.req.energies = append(q.req.energies, energies[i])
			q.req.pending--
			scores = append(scores, Score{RequestID: q.c.RequestID, CandidateID: q.c.CandidateID, Energy: energies[i], ModelVersion: v})
		}
		p.mu.Unlock()
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	for id, at := range p.selected {
		if now.Sub(at) >= p.opts.Remember {
			delete(p.selected, id)
		}
	}
	var sels []Selection
	for id, r := range p.requests {
		complete := r.expected > 0 && len(r.ids) >= r.expected
		expired := now.Sub(r.first) >= p.opts.Bound
		if r.pending > 0 || (!complete && !expired) {
			continue
		}
		if len(r.ids) == 0 { // expected candidates that never came: nothing to select among
			delete(p.requests, id)
			continue
		}
		b := Best(r.energies, r.ids)
		sels = append(sels, Selection{RequestID: id, CandidateID: r.ids[b], Energy: r.energies[b], Candidates: len(r.ids),
			Expected: r.expected, Partial: !complete, ModelVersion: r.version})
		delete(p.requests, id)
		p.selected[id] = now
		for _, c := range r.ids {
			// Late duplicates are refused through selected from now on; seen only covers open requests.
			delete(p.seen, id+"\x00"+c)
		}
		if m, ok := p.models[r.version]; ok {
			p.retireLocked(m)
		}
	}
	slices.SortFunc(sels, func(a, b Selection) int { return strings.Compare(a.RequestID, b.RequestID) })
	return scores, sels, firstErr
}

// Open is the number of requests not yet selected.
func (p *Processor) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}
