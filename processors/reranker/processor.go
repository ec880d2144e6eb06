package reranker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
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
// candidates, or (for a model that reads behaviour features) before every candidate's behaviour,
// because the rest did not arrive within the bound.
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
	// Bound is how long a request waits, from its first event, for all its candidates (and, for a
	// model that reads behaviour features, their behaviours) before it is scored among those present
	// and marked partial.
	Bound time.Duration
	// OnRetire is called with a model that no request uses any more after a Swap (to close it).
	OnRetire func(Model)
	// OnDrop is called (outside the Processor's lock) with a request dropped at the bound with no
	// candidate to select among, e.g. to release the behaviours that were held for it.
	OnDrop func(requestID string)
	// Remember is how long a selected request is remembered, so that a late or redelivered
	// candidate of it is refused (ErrSelected) instead of opening a second, partial request
	// (default 10 × Bound).
	Remember time.Duration
}

// ErrSelected: the candidate's request was already selected (or is being scored for selection);
// its score and selection are made without this event.
var ErrSelected = errors.New("reranker: request already selected")

type request struct {
	id        string
	expected  int // 0 until the prompt event says
	first     time.Time
	version   string      // every candidate of a request is scored by one model version
	cands     []Candidate // distinct candidate ids, in arrival order
	behaviors map[string]schemas.Behavior
}

// ready reports whether r has everything it waits for: its expected candidates and, when the
// model reads features, a behaviour for each.
func (r *request) ready(features bool) bool {
	if r.expected == 0 || len(r.cands) < r.expected {
		return false
	}
	if features {
		for _, c := range r.cands {
			if _, ok := r.behaviors[c.CandidateID]; !ok {
				return false
			}
		}
	}
	return true
}

// Processor joins, per request, its candidates, its expected count (prompt) and its candidates'
// behaviours. A request is scored when it is ready (all expected candidates and, for a model that
// reads behaviour features, all their behaviours) or when it is Bound old (partial: among the
// candidates present, a candidate without a behaviour gets the features of "no tests"). Scoring is
// batched across the requests ready at one Flush, per model version; the features of a request are
// computed over its candidates with model.RequestFeatures, the function the training export uses.
// A new model (Swap) applies to requests that start after it; requests already under way finish on
// the version current when they started, so nothing is scored twice or by a mix. Safe for
// concurrent use; Flush calls are serialised.
type Processor struct {
	opts Options

	mu       sync.Mutex
	current  Model
	models   map[string]Model
	requests map[string]*request  // open: still gathering
	scoring  map[string]*request  // taken for scoring; kept here (and retried) until scored
	selected map[string]time.Time // request id → when it was selected, kept for Remember

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
		requests: map[string]*request{}, scoring: map[string]*request{}, selected: map[string]time.Time{}}, nil
}

// Version is the model version new requests get.
func (p *Processor) Version() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current.Version
}

// Current is the model new requests get.
func (p *Processor) Current() Model {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
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
	for _, set := range []map[string]*request{p.requests, p.scoring} {
		for _, r := range set {
			if r.version == m.Version {
				return
			}
		}
	}
	delete(p.models, m.Version)
	if p.opts.OnRetire != nil {
		p.opts.OnRetire(m)
	}
}

// requestLocked returns the open request id, opening it at now; nil when it was selected (or is
// being scored).
func (p *Processor) requestLocked(id string, now time.Time) *request {
	if _, done := p.selected[id]; done {
		return nil
	}
	if _, busy := p.scoring[id]; busy {
		return nil
	}
	r := p.requests[id]
	if r == nil {
		r = &request{id: id, first: now, version: p.current.Version, behaviors: map[string]schemas.Behavior{}}
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
	if r := p.requestLocked(requestID, now); r != nil {
		r.expected = n
	}
	// Else the prompt came after its request was selected (partially): nothing to wait for.
	return nil
}

// Add records a candidate of its request. A candidate seen before is ignored (at-least-once input);
// one of a request selected within Remember, or being scored, is refused with ErrSelected.
func (p *Processor) Add(c Candidate, now time.Time) error {
	return p.update("candidate", c.RequestID, c.CandidateID, now, func(r *request) {
		if !slices.ContainsFunc(r.cands, func(o Candidate) bool { return o.CandidateID == c.CandidateID }) {
			r.cands = append(r.cands, c)
		}
	})
}

// AddBehavior records how a candidate behaved on its request's generated tests; a re-executed
// candidate keeps its newest behaviour (executed_at_ms). It may come before or after the candidate.
// One of a request selected within Remember, or being scored, is refused with ErrSelected.
func (p *Processor) AddBehavior(b schemas.Behavior, now time.Time) error {
	return p.update("behaviour", b.RequestID, b.CandidateID, now, func(r *request) {
		if old, ok := r.behaviors[b.CandidateID]; !ok || b.ExecutedAtMs >= old.ExecutedAtMs {
			r.behaviors[b.CandidateID] = b
		}
	})
}

// update applies f to the open request of an event about one of its candidates (what names the
// event for the error), opening the request at now; ErrSelected when it is selected or scoring.
func (p *Processor) update(what, requestID, candidateID string, now time.Time, f func(*request)) error {
	if requestID == "" || candidateID == "" {
		return fmt.Errorf("reranker: %s without request or candidate id", what)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.requestLocked(requestID, now)
	if r == nil {
		return ErrSelected
	}
	f(r)
	return nil
}

// Flush scores the requests that are ready, or past the bound at now, and returns a Score per
// candidate and a Selection per request. On a scoring error the error is returned and those
// requests are scored again at the next Flush (they take no more events meanwhile).
func (p *Processor) Flush(ctx context.Context, now time.Time) ([]Score, []Selection, error) {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()

	p.mu.Lock()
	for id, at := range p.selected {
		if now.Sub(at) >= p.opts.Remember {
			delete(p.selected, id)
		}
	}
	var dropped []string
	for id, r := range p.requests {
		m := p.models[r.version]
		if !r.ready(m.ReadsFeatures()) && now.Sub(r.first) < p.opts.Bound {
			continue
		}
		delete(p.requests, id)
		if len(r.cands) == 0 { // expected candidates that never came: nothing to select among
			dropped = append(dropped, id)
			if m, ok := p.models[r.version]; ok {
				p.retireLocked(m)
			}
			continue
		}
		p.scoring[id] = r
	}
	// Everything taken for scoring, including requests whose scoring failed before, in a fixed order.
	var work []*request
	for _, r := range p.scoring {
		work = append(work, r)
	}
	slices.SortFunc(work, func(a, b *request) int { return strings.Compare(a.id, b.id) })
	models := make(map[string]Model, len(p.models))
	for v, m := range p.models {
		models[v] = m
	}
	p.mu.Unlock()
	if p.opts.OnDrop != nil {
		for _, id := range dropped {
			p.opts.OnDrop(id)
		}
	}

	// Requests taken for scoring are out of p.requests, so nothing changes them while they score.
	byVersion := map[string][]*request{}
	var versions []string
	for _, r := range work {
		if _, ok := byVersion[r.version]; !ok {
			versions = append(versions, r.version)
		}
		byVersion[r.version] = append(byVersion[r.version], r)
	}
	var scores []Score
	var sels []Selection
	var firstErr error
	for _, v := range versions {
		if firstErr != nil {
			break
		}
		m, rs := models[v], byVersion[v]
		var pairs []Pair
		for _, r := range rs {
			pairs = append(pairs, requestPairs(m, r)...)
		}
		energies, err := m.ScorePairs(ctx, pairs)
		if err != nil {
			firstErr = fmt.Errorf("reranker: model %s: %w", v, err)
			break
		}
		p.mu.Lock()
		k := 0
		for _, r := range rs {
			ids := make([]string, len(r.cands))
			es := energies[k : k+len(r.cands)]
			for i, c := range r.cands {
				ids[i] = c.CandidateID
				scores = append(scores, Score{RequestID: r.id, CandidateID: c.CandidateID, Energy: es[i], ModelVersion: v})
			}
			k += len(r.cands)
			complete := r.ready(m.ReadsFeatures())
			b := Best(es, ids)
			sels = append(sels, Selection{RequestID: r.id, CandidateID: ids[b], Energy: es[b], Candidates: len(ids),
				Expected: r.expected, Partial: !complete, ModelVersion: v})
			delete(p.scoring, r.id)
			p.selected[r.id] = now
		}
		p.retireLocked(m)
		p.mu.Unlock()
	}
	slices.SortFunc(sels, func(a, b Selection) int { return strings.Compare(a.RequestID, b.RequestID) })
	return scores, sels, firstErr
}

// requestPairs is what m scores for r's candidates: prompt and code, and the behaviour features
// of the request as it stands (a candidate without a behaviour counts as "no tests").
func requestPairs(m Model, r *request) []Pair {
	pairs := make([]Pair, len(r.cands))
	var feats [][]float32
	if m.ReadsFeatures() {
		ids := make([]string, len(r.cands))
		for i, c := range r.cands {
			ids[i] = c.CandidateID
		}
		feats = model.RequestFeatures(ids, r.behaviors)
	}
	for i, c := range r.cands {
		pairs[i] = Pair{Prompt: c.Prompt, Code: c.Code}
		if feats != nil {
			pairs[i].Features = feats[i]
		}
	}
	return pairs
}

// Open is the number of requests not yet selected.
func (p *Processor) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests) + len(p.scoring)
}

// Close closes every model p holds, the current one and those still retiring (Model.Close); call it
// once nothing flushes any more.
func (p *Processor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for v, m := range p.models {
		errs = append(errs, m.Close())
		delete(p.models, v)
	}
	return errors.Join(errs...)
}
