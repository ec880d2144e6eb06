package trainer

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"

	"github.com/codeverify/codeverify/processors/passk"
	"github.com/codeverify/codeverify/schemas"
)

// Float is a float64 whose JSON form is null when it is NaN (a metric with nothing to measure,
// e.g. pairwise accuracy when no validation problem has both a PASS and a FAIL).
type Float float64

// MarshalJSON writes null for NaN and ±Inf.
func (f Float) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// UnmarshalJSON reads null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	err := json.Unmarshal(b, &v)
	*f = Float(v)
	return err
}

// Scored is one validation example with the energy the model gave it (low = likely PASS).
type Scored struct {
	ProblemID string // the set the candidate is ranked in: its problem, or its draw (datasets built from draws)
	Pass      bool
	Energy    float64
}

// Metrics are the end-of-training figures on the validation problems.
type Metrics struct {
	ValProblems int `json:"val_problems"`
	ValExamples int `json:"val_examples"` // generated samples: a deduplicated code counts its copies
	// PairwiseAccuracy: over every (PASS, FAIL) pair of the same problem, how often E(pass) < E(fail)
	// (ties count half).
	PairwiseAccuracy Float `json:"pairwise_accuracy"`
	// AUROC of -energy as a PASS score, pooled over all validation examples.
	AUROC Float `json:"auroc"`
	// Reranking all of a problem's candidates: pass@1 of the lowest-energy one, a random one, and
	// the oracle (any candidate passes), averaged over problems.
	RerankedPass1 Float `json:"reranked_pass1"`
	RandomPass1   Float `json:"random_pass1"`
	OraclePass    Float `json:"oracle_pass"`
	// The seed's protocol: K random candidates per problem (K = 16, or n when fewer), exactly in
	// expectation: the verifier's pick among them, and the oracle pass@K.
	K                int   `json:"k"`
	VerifierPass1AtK Float `json:"verifier_pass1_at_k"`
	OraclePassAtK    Float `json:"oracle_pass_at_k"`
}

// ComputeMetrics computes Metrics; k is the subset size of the seed's protocol (16).
func ComputeMetrics(scored []Scored, k int) Metrics {
	m := Metrics{ValExamples: len(scored), K: k}
	byProblem := map[string][]Scored{}
	var order []string
	for _, s := range scored {
		if _, ok := byProblem[s.ProblemID]; !ok {
			order = append(order, s.ProblemID)
		}
		byProblem[s.ProblemID] = append(byProblem[s.ProblemID], s)
	}
	slices.Sort(order)
	m.ValProblems = len(order)
	if len(order) == 0 {
		nan := Float(math.NaN())
		m.PairwiseAccuracy, m.AUROC, m.RerankedPass1, m.RandomPass1, m.OraclePass, m.VerifierPass1AtK, m.OraclePassAtK = nan, nan, nan, nan, nan, nan, nan
		return m
	}
	var pairWins, pairs float64
	for _, pid := range order {
		g := slices.Clone(byProblem[pid])
		// Ascending energy; ties broken by label pessimistically (FAIL first) so a constant model
		// gets no credit for the order the data came in.
		slices.SortStableFunc(g, func(a, b Scored) int {
			return cmp.Or(cmp.Compare(a.Energy, b.Energy), boolCmp(a.Pass, b.Pass))
		})
		n, c := len(g), 0
		for _, s := range g {
			if s.Pass {
				c++
			}
		}
		for _, p := range g {
			if !p.Pass {
				continue
			}
			for _, f := range g {
				if f.Pass {
					continue
				}
				pairs++
				switch {
				case p.Energy < f.Energy:
					pairWins++
				case p.Energy == f.Energy:
					pairWins += 0.5
				}
			}
		}
		m.RandomPass1 += Float(c) / Float(n)
		if c > 0 {
			m.OraclePass++
		}
		if g[0].Pass {
			m.RerankedPass1++
		}
		kk := min(k, n)
		m.OraclePassAtK += Float(passk.PassAtK(n, c, kk))
		// P(the minimum of a random kk-subset is the candidate at rank r) = C(n-1-r, kk-1) / C(n, kk).
		for r, s := range g {
			if s.Pass {
				m.VerifierPass1AtK += Float(math.Exp(lchoose(n-1-r, kk-1) - lchoose(n, kk)))
			}
		}
	}
	np := Float(len(order))
	m.RandomPass1 /= np
	m.OraclePass /= np
	m.RerankedPass1 /= np
	m.OraclePassAtK /= np
	m.VerifierPass1AtK /= np
	m.PairwiseAccuracy = Float(math.NaN())
	if pairs > 0 {
		m.PairwiseAccuracy = Float(pairWins / pairs)
	}
	m.AUROC = Float(auroc(scored))
	return m
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// lchoose is log C(n, k), -Inf when k > n.
func lchoose(n, k int) float64 {
	if k < 0 || k > n {
		return math.Inf(-1)
	}
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// auroc is the Mann-Whitney estimate with average ranks for ties: P(E(pass) < E(fail)).
func auroc(scored []Scored) float64 {
	s := slices.Clone(scored)
	slices.SortFunc(s, func(a, b Scored) int { return cmp.Compare(b.Energy, a.Energy) }) // high energy first = low PASS score
	var npos, nneg, rankSum float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Energy == s[i].Energy {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for _, x := range s[i:j] {
			if x.Pass {
				rankSum += avg
				npos++
			} else {
				nneg++
			}
		}
		i = j
	}
	if npos == 0 || nneg == 0 {
		return math.NaN()
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg)
}

// scoredFromExamples pairs validation examples with their energies, one entry per generated copy
// (a deduplicated example stands for Copies identical samples). An example of a draw is ranked
// within its draw: its Scored.ProblemID is the draw (Example.Group).
func scoredFromExamples(exs []Example, energies map[int]float64) []Scored {
	out := make([]Scored, 0, len(energies))
	for i, e := range exs {
		if en, ok := energies[i]; ok {
			for range max(1, e.Copies) {
				out = append(out, Scored{ProblemID: cmp.Or(e.Group, e.ProblemID), Pass: e.Label == schemas.Pass, Energy: en})
			}
		}
	}
	return out
}
