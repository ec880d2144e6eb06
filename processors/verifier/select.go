package verifier

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/codeverify/codeverify/schemas"
)

// Candidate is one candidate of a request as the selection methods see it.
type Candidate struct {
	ID       string
	Code     string
	Behavior schemas.Behavior // how it did on the request's generated tests
}

// Request is the candidates among which a method chooses one.
type Request struct {
	ProblemID  string
	Prompt     string
	Candidates []Candidate
}

// Behaviors is the request's behaviours, in candidate order.
func (r Request) Behaviors() []schemas.Behavior {
	out := make([]schemas.Behavior, len(r.Candidates))
	for i, c := range r.Candidates {
		out[i] = c.Behavior
		if out[i].CandidateID == "" {
			out[i].CandidateID = c.ID
		}
	}
	return out
}

// Choice is a method's answer for one request.
type Choice struct {
	// Pick is the candidate returned: deterministic, independent of the candidates' order.
	Pick int
	// Pool is the candidates the method cannot tell apart (it includes Pick): a uniformly random
	// member of Pool is the method's published form (random: every candidate; CodeT: its best
	// groups), so its expected pass rate is ExpectedPass(Pool, labels). A scoring method's Pool is
	// {Pick}.
	Pool []int
	// Scores are the model's energies, one per candidate (lower = more likely to pass); nil for
	// methods without a model.
	Scores []float32
}

// Method chooses one candidate of a request.
type Method interface {
	Name() string
	Choose(ctx context.Context, r Request) (Choice, error)
}

// Scorer runs a verifier model: one energy per code of the request (lower = more likely to pass).
// features is nil for a code-only model, else one row per code (Features' rows).
type Scorer interface {
	Score(ctx context.Context, prompt string, codes []string, features [][]float32) ([]float32, error)
}

// Random is the baseline: a uniformly random candidate. Its Pick is the smallest candidate id.
type Random struct{}

func (Random) Name() string { return "random" }

func (Random) Choose(_ context.Context, r Request) (Choice, error) {
	if len(r.Candidates) == 0 {
		return Choice{}, fmt.Errorf("verifier: request %s has no candidates", r.ProblemID)
	}
	pool := make([]int, len(r.Candidates))
	for i := range pool {
		pool[i] = i
	}
	pick := slices.MinFunc(pool, func(a, b int) int { return candidateOrder(r, a, b) })
	return Choice{Pick: pick, Pool: pool}, nil
}

// CodeTMethod is CodeT's dual execution agreement (CodeTWith).
type CodeTMethod struct{ Options CodeTOptions }

func (CodeTMethod) Name() string { return "codet" }

func (m CodeTMethod) Choose(_ context.Context, r Request) (Choice, error) {
	if len(r.Candidates) == 0 {
		return Choice{}, fmt.Errorf("verifier: request %s has no candidates", r.ProblemID)
	}
	res := CodeTWith(r.Behaviors(), m.Options)
	return Choice{Pick: res.Pick, Pool: res.Best}, nil
}

// Energy is the code-only verifier: the model reads the prompt and the code, nothing executed.
type Energy struct{ Scorer Scorer }

func (Energy) Name() string { return "energy" }

func (m Energy) Choose(ctx context.Context, r Request) (Choice, error) {
	return scoreAndPick(ctx, m.Scorer, r, nil)
}

// Verifier is the execution-aware verifier: the model reads the prompt, the code and the
// candidate's behaviour features (Features over the request).
type Verifier struct{ Scorer Scorer }

func (Verifier) Name() string { return "verifier" }

func (m Verifier) Choose(ctx context.Context, r Request) (Choice, error) {
	return scoreAndPick(ctx, m.Scorer, r, Features(r.Behaviors()))
}

// scoreAndPick picks the lowest energy; ties go to the smallest candidate id.
func scoreAndPick(ctx context.Context, s Scorer, r Request, features [][]float32) (Choice, error) {
	if len(r.Candidates) == 0 {
		return Choice{}, fmt.Errorf("verifier: request %s has no candidates", r.ProblemID)
	}
	codes := make([]string, len(r.Candidates))
	for i, c := range r.Candidates {
		codes[i] = c.Code
	}
	e, err := s.Score(ctx, r.Prompt, codes, features)
	if err != nil {
		return Choice{}, err
	}
	if len(e) != len(codes) {
		return Choice{}, fmt.Errorf("verifier: scorer returned %d energies for %d candidates of %s", len(e), len(codes), r.ProblemID)
	}
	best := -1
	for i, v := range e {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Choice{}, fmt.Errorf("verifier: candidate %s of %s has energy %v", r.Candidates[i].ID, r.ProblemID, v)
		}
		if best < 0 || cmp.Or(cmp.Compare(v, e[best]), candidateOrder(r, i, best)) < 0 {
			best = i
		}
	}
	return Choice{Pick: best, Pool: []int{best}, Scores: e}, nil
}

func candidateOrder(r Request, a, b int) int {
	return cmp.Or(strings.Compare(r.Candidates[a].ID, r.Candidates[b].ID), cmp.Compare(a, b))
}
