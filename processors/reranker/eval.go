package reranker

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ProblemResult is one problem's drawn candidates: execution labels and verifier energies, in the
// same order, with candidate ids for the deterministic tie break.
type ProblemResult struct {
	ProblemID string
	IDs       []string
	Pass      []bool
	Energy    []float32
}

// Interval is a point estimate with a bootstrap confidence interval.
type Interval struct {
	Value, Low, High float64
}

func (i Interval) String() string { return fmt.Sprintf("%.4f [%.4f, %.4f]", i.Value, i.Low, i.High) }

// EvalResult holds the three figures of the seed's Stage 4.
type EvalResult struct {
	Problems int
	Baseline Interval // expected pass rate of a uniformly random candidate
	Oracle   Interval // any candidate passes
	Verifier Interval // the min-energy candidate passes
}

// perProblem returns the three per-problem values.
func perProblem(p ProblemResult) (baseline, oracle, verifier float64) {
	n := 0
	for _, ok := range p.Pass {
		if ok {
			n++
		}
	}
	baseline = float64(n) / float64(len(p.Pass))
	if n > 0 {
		oracle = 1
	}
	if p.Pass[Best(p.Energy, p.IDs)] {
		verifier = 1
	}
	return
}

// Evaluate computes the means over problems and percentile bootstrap intervals (resampling
// problems, `resamples` times, level e.g. 0.95) from a fixed seed, so reruns print the same.
func Evaluate(problems []ProblemResult, resamples int, level float64, seed uint64) (EvalResult, error) {
	if len(problems) == 0 {
		return EvalResult{}, fmt.Errorf("eval: no problems")
	}
	vals := make([][3]float64, len(problems))
	for i, p := range problems {
		if len(p.Pass) == 0 || len(p.Pass) != len(p.Energy) || (p.IDs != nil && len(p.IDs) != len(p.Pass)) {
			return EvalResult{}, fmt.Errorf("eval: problem %s: %d labels, %d energies, %d ids", p.ProblemID, len(p.Pass), len(p.Energy), len(p.IDs))
		}
		b, o, v := perProblem(p)
		vals[i] = [3]float64{b, o, v}
	}
	mean := func(idx func(int) int) [3]float64 {
		var s [3]float64
		for i := range vals {
			for k := range 3 {
				s[k] += vals[idx(i)][k]
			}
		}
		for k := range 3 {
			s[k] /= float64(len(vals))
		}
		return s
	}
	point := mean(func(i int) int { return i })
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	boot := make([][]float64, 3)
	for range resamples {
		m := mean(func(int) int { return rng.IntN(len(vals)) })
		for k := range 3 {
			boot[k] = append(boot[k], m[k])
		}
	}
	iv := func(k int) Interval {
		if resamples == 0 {
			return Interval{point[k], point[k], point[k]}
		}
		slices.Sort(boot[k])
		lo := boot[k][int(math.Floor((1-level)/2*float64(resamples)))]
		hi := boot[k][min(resamples-1, int(math.Ceil((1+level)/2*float64(resamples)))-1)]
		return Interval{point[k], lo, hi}
	}
	return EvalResult{Problems: len(problems), Baseline: iv(0), Oracle: iv(1), Verifier: iv(2)}, nil
}
