package trainer

import (
	"cmp"
	"math"
	"slices"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/passk"
	"github.com/codeverify/codeverify/schemas"
)

// Scored is one validation example with the energy the model gave it (low = likely PASS).
type Scored struct {
	ProblemID string // the set the candidate is ranked in: its problem, or its draw (datasets built from draws)
	Pass      bool
	Energy    float64
}

// ComputeMetrics computes Metrics; k is the subset size of the evaluation protocol (16).
func ComputeMetrics(scored []Scored, k int) model.Metrics {
	m := model.Metrics{ValExamples: len(scored), K: k}
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
		nan := model.Float(math.NaN())
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
		m.RandomPass1 += model.Float(c) / model.Float(n)
		if c > 0 {
			m.OraclePass++
		}
		if g[0].Pass {
			m.RerankedPass1++
		}
		kk := min(k, n)
		m.OraclePassAtK += model.Float(passk.PassAtK(n, c, kk))
		// P(the minimum of a random kk-subset is the candidate at rank r) = C(n-1-r, kk-1) / C(n, kk).
		for r, s := range g {
			if s.Pass {
				m.VerifierPass1AtK += model.Float(math.Exp(lchoose(n-1-r, kk-1) - lchoose(n, kk)))
			}
		}
	}
	np := model.Float(len(order))
	m.RandomPass1 /= np
	m.OraclePass /= np
	m.RerankedPass1 /= np
	m.OraclePassAtK /= np
	m.VerifierPass1AtK /= np
	m.PairwiseAccuracy = model.Float(math.NaN())
	if pairs > 0 {
		m.PairwiseAccuracy = model.Float(pairWins / pairs)
	}
	m.AUROC = model.Float(auroc(scored))
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
