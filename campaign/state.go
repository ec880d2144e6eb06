package campaign

import (
	"slices"

	"github.com/codeverify/codeverify/schemas"
)

// State is what the topics say about one campaign: its prompts, the candidates they produced, the
// verdicts on those, and the prompts and candidates that were dead-lettered. It is built by folding
// the records in with the Add methods, in any order and with any repetition (delivery is
// at-least-once): every count is of distinct ids.
type State struct {
	name     string
	problems map[string]*Progress
	// MaxRound is the highest round any record names (0: none).
	MaxRound int
	// FirstPromptMs is when the campaign's first prompt was made (0: none yet).
	FirstPromptMs int64
}

// Progress is one problem's part of a campaign.
type Progress struct {
	ProblemID string
	requests  map[string]*request  // by request id
	cands     map[string]candidate // by candidate id
	judged    map[string]bool      // candidate ids with a verdict, or dead-lettered
	passed    map[string]bool      // candidate ids with a PASS verdict
	passCodes map[string]bool      // SHA-256 of the passing programs
	tokens    int64                // completion tokens of the distinct candidates
}

type request struct {
	round     int
	n         int32 // 0 until the prompt itself was read
	published bool
	dead      bool // the prompt was dead-lettered: what it delivered is all it will deliver
	delivered int  // distinct candidates
	judged    int  // distinct candidates with a verdict (or dead-lettered)
}

type candidate struct{ request string }

// NewState returns the empty state of the named campaign.
func NewState(name string) *State {
	return &State{name: name, problems: map[string]*Progress{}}
}

func (s *State) progress(problemID string) *Progress {
	p := s.problems[problemID]
	if p == nil {
		p = &Progress{ProblemID: problemID, requests: map[string]*request{}, cands: map[string]candidate{},
			judged: map[string]bool{}, passed: map[string]bool{}, passCodes: map[string]bool{}}
		s.problems[problemID] = p
	}
	return p
}

// own returns the problem's progress and the request entry of one of the campaign's request ids,
// or nil for another campaign's (or a mismatched) id.
func (s *State) own(requestID, problemID string) (*Progress, *request) {
	round, pid, ok := ParseRequestID(s.name, requestID)
	if !ok || pid != problemID {
		return nil, nil
	}
	p := s.progress(problemID)
	r := p.requests[requestID]
	if r == nil {
		r = &request{round: round}
		p.requests[requestID] = r
	}
	// Any record names its round: once the prompts topic has dropped an old prompt (retention),
	// its candidates still keep the round's number from being used again.
	s.MaxRound = max(s.MaxRound, round)
	return p, r
}

// AddPrompt folds in a record of the prompts topic.
func (s *State) AddPrompt(pr schemas.Prompt) {
	_, r := s.own(pr.RequestID, pr.ProblemID)
	if r == nil {
		return
	}
	r.published, r.n = true, pr.N
	if pr.CreatedAtMs > 0 && (s.FirstPromptMs == 0 || pr.CreatedAtMs < s.FirstPromptMs) {
		s.FirstPromptMs = pr.CreatedAtMs
	}
}

// AddDeadPrompt folds in a prompt of the prompts dead-letter topic: the generator gave up on it.
func (s *State) AddDeadPrompt(pr schemas.Prompt) {
	if _, r := s.own(pr.RequestID, pr.ProblemID); r != nil {
		r.dead = true
	}
}

// AddCandidate folds in a record of the candidates topic.
func (s *State) AddCandidate(c schemas.Candidate) {
	p, r := s.own(c.RequestID, c.ProblemID)
	if r == nil {
		return
	}
	if _, seen := p.cands[c.CandidateID]; seen {
		return
	}
	p.cands[c.CandidateID] = candidate{request: c.RequestID}
	r.delivered++
	p.tokens += int64(max(0, c.CompletionTokens))
}

// AddVerdict folds in a record of the verdicts topic.
func (s *State) AddVerdict(v schemas.Verdict) {
	p, r := s.own(v.RequestID, v.ProblemID)
	if r == nil {
		return
	}
	p.judge(r, v.CandidateID)
	if v.Label == schemas.Pass {
		p.passed[v.CandidateID] = true
		p.passCodes[v.CodeSHA256] = true
	}
}

// AddDeadCandidate folds in a candidate of the candidates dead-letter topic: the executor gave up
// on it, so it is judged (and did not pass).
func (s *State) AddDeadCandidate(c schemas.Candidate) {
	if p, r := s.own(c.RequestID, c.ProblemID); r != nil {
		p.judge(r, c.CandidateID)
	}
}

func (p *Progress) judge(r *request, candidateID string) {
	if !p.judged[candidateID] {
		p.judged[candidateID] = true
		r.judged++
	}
}

// Problem returns a problem's progress (an empty one when the campaign never asked for it).
func (s *State) Problem(problemID string) *Progress {
	if p, ok := s.problems[problemID]; ok {
		return p
	}
	return &Progress{ProblemID: problemID}
}

// ProblemIDs are the problems the campaign has records of, sorted.
func (s *State) ProblemIDs() []string {
	ids := make([]string, 0, len(s.problems))
	for id := range s.problems {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Requests is how many prompts the campaign published.
func (s *State) Requests() int {
	n := 0
	for _, p := range s.problems {
		n += p.Requests()
	}
	return n
}

// Tokens is the completion tokens of all the campaign's candidates.
func (s *State) Tokens() int64 {
	var n int64
	for _, p := range s.problems {
		n += p.tokens
	}
	return n
}

// Pending is how many samples were asked for and neither delivered nor lost to a dead letter.
func (s *State) Pending() int64 {
	var n int64
	for _, p := range s.problems {
		for _, r := range p.requests {
			if r.published && !r.dead {
				n += int64(max(0, int(r.n)-r.delivered))
			}
		}
	}
	return n
}

// Samples is the problem's distinct candidates.
func (p *Progress) Samples() int { return len(p.cands) }

// Judged is how many of the problem's candidates have a verdict (or were dead-lettered).
func (p *Progress) Judged() int { return len(p.judged) }

// Passed is how many of the problem's candidates passed.
func (p *Progress) Passed() int { return len(p.passed) }

// DistinctPass is how many different programs (by SHA-256 of the code) passed.
func (p *Progress) DistinctPass() int { return len(p.passCodes) }

// Tokens is the completion tokens of the problem's candidates.
func (p *Progress) Tokens() int64 { return p.tokens }

// Requests is how many prompts were published for the problem.
func (p *Progress) Requests() int {
	n := 0
	for _, r := range p.requests {
		if r.published {
			n++
		}
	}
	return n
}

// Rounds is how many rounds asked for the problem.
func (p *Progress) Rounds() int { return p.Requests() } // one prompt per problem and round

// DeadLettered is how many of the problem's prompts the generator gave up on.
func (p *Progress) DeadLettered() int {
	n := 0
	for _, r := range p.requests {
		if r.published && r.dead {
			n++
		}
	}
	return n
}

// Committed is how many samples the problem will have once every published prompt is answered:
// what each prompt asked for, or for a dead-lettered one what it delivered.
func (p *Progress) Committed() int {
	n := 0
	for _, r := range p.requests {
		switch {
		case r.dead || !r.published:
			n += r.delivered
		default:
			n += max(int(r.n), r.delivered)
		}
	}
	return n
}

// Settled reports whether every published prompt of the problem has been answered and every
// candidate it produced judged, so that its verdicts are final.
func (p *Progress) Settled() bool {
	for _, r := range p.requests {
		if !r.published {
			continue
		}
		if r.dead {
			if r.judged < r.delivered {
				return false
			}
		} else if r.delivered < int(r.n) || r.judged < int(r.n) {
			return false
		}
	}
	return true
}
