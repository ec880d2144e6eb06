package reranker

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// ProblemResult is one problem's drawn candidates: execution labels, verifier energies and the other
// selection methods' inputs, in the same order, with candidate ids for the deterministic tie break.
type ProblemResult struct {
	ProblemID string
	IDs       []string
	Pass      []bool
	Energy    []float32 // the verifier's
	// CodeTPool marks the candidates of CodeT's best groups (CodeT picks uniformly among them);
	// nil when the evaluation ran no generated tests.
	CodeTPool []bool
	// CodeEnergy is the code-only model's energies; nil when the evaluation had none.
	CodeEnergy []float32
}

// ProblemValues is one problem's contribution to the figures. It is what ClickHouse computes per
// problem in SQL, so the bootstrap can resample either source.
type ProblemValues struct {
	ProblemID string
	Baseline  float64 // fraction of the drawn candidates that pass
	Oracle    float64 // 1 when any passes
	Verifier  float64 // 1 when the min-energy candidate passes
	CodeT     float64 // fraction of CodeT's best groups that pass (its expected pass@1)
	Energy    float64 // 1 when the code-only model's min-energy candidate passes
}

// Interval is a point estimate with a bootstrap confidence interval.
type Interval struct {
	Value, Low, High float64
}

func (i Interval) String() string { return fmt.Sprintf("%.4f [%.4f, %.4f]", i.Value, i.Low, i.High) }

// EvalResult holds the figures of every selection method over the same draw.
type EvalResult struct {
	Problems int
	Baseline Interval // expected pass rate of a uniformly random candidate
	Oracle   Interval // any candidate passes
	Verifier Interval // the min-energy candidate passes
	Gain     Interval // Verifier − Baseline, from the same (paired) resamples
	CodeT    Interval // expected pass rate of a random candidate of CodeT's best groups
	Energy   Interval // the code-only model's min-energy candidate passes
	// VerifierMinusCodeT is Verifier − CodeT, from the same (paired) resamples.
	VerifierMinusCodeT Interval
}

// Values returns p's per-problem values; a model's pick is Best (ties to the smaller id).
func Values(p ProblemResult) (ProblemValues, error) {
	if len(p.Pass) == 0 || len(p.Pass) != len(p.Energy) || (p.IDs != nil && len(p.IDs) != len(p.Pass)) ||
		(p.CodeTPool != nil && len(p.CodeTPool) != len(p.Pass)) || (p.CodeEnergy != nil && len(p.CodeEnergy) != len(p.Pass)) {
		return ProblemValues{}, fmt.Errorf("eval: problem %s: %d labels, %d energies, %d ids, %d CodeT marks, %d code-only energies",
			p.ProblemID, len(p.Pass), len(p.Energy), len(p.IDs), len(p.CodeTPool), len(p.CodeEnergy))
	}
	v := ProblemValues{ProblemID: p.ProblemID}
	n := 0
	for _, ok := range p.Pass {
		if ok {
			n++
		}
	}
	v.Baseline = float64(n) / float64(len(p.Pass))
	if n > 0 {
		v.Oracle = 1
	}
	if p.Pass[Best(p.Energy, p.IDs)] {
		v.Verifier = 1
	}
	if p.CodeEnergy != nil && p.Pass[Best(p.CodeEnergy, p.IDs)] {
		v.Energy = 1
	}
	pool, passing := 0, 0
	for i, in := range p.CodeTPool {
		if in {
			pool++
			if p.Pass[i] {
				passing++
			}
		}
	}
	if pool > 0 {
		v.CodeT = float64(passing) / float64(pool)
	}
	return v, nil
}

// Evaluate computes the means over problems and percentile bootstrap intervals (resampling
// problems, `resamples` times, level e.g. 0.95) from a fixed seed, so reruns print the same.
func Evaluate(problems []ProblemResult, resamples int, level float64, seed uint64) (EvalResult, error) {
	vals := make([]ProblemValues, len(problems))
	for i, p := range problems {
		v, err := Values(p)
		if err != nil {
			return EvalResult{}, err
		}
		vals[i] = v
	}
	return Bootstrap(vals, resamples, level, seed)
}

// Bootstrap is Evaluate on per-problem values (from Values or from ClickHouse): the same values in
// the same order give the same intervals.
func Bootstrap(problems []ProblemValues, resamples int, level float64, seed uint64) (EvalResult, error) {
	if len(problems) == 0 {
		return EvalResult{}, fmt.Errorf("eval: no problems")
	}
	// baseline, oracle, verifier, verifier − baseline, codet, energy, verifier − codet
	const figures = 7
	vals := make([][figures]float64, len(problems))
	for i, p := range problems {
		vals[i] = [figures]float64{p.Baseline, p.Oracle, p.Verifier, p.Verifier - p.Baseline, p.CodeT, p.Energy, p.Verifier - p.CodeT}
	}
	mean := func(idx func(int) int) [figures]float64 {
		var s [figures]float64
		for i := range vals {
			v := vals[idx(i)] // one draw per problem slot: the figures share each resample (paired)
			for k := range figures {
				s[k] += v[k]
			}
		}
		for k := range figures {
			s[k] /= float64(len(vals))
		}
		return s
	}
	point := mean(func(i int) int { return i })
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	boot := make([][]float64, figures)
	for range resamples {
		m := mean(func(int) int { return rng.IntN(len(vals)) })
		for k := range figures {
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
	return EvalResult{Problems: len(problems), Baseline: iv(0), Oracle: iv(1), Verifier: iv(2), Gain: iv(3),
		CodeT: iv(4), Energy: iv(5), VerifierMinusCodeT: iv(6)}, nil
}

// EvalID names one evaluation by its content: the model version, the input (a content hash), the
// selection of problems (scope), n and the draw seed. A rerun of the same evaluation gets the same id,
// so its rows replace the earlier ones instead of adding to them.
func EvalID(modelVersion, inputHash, scope string, n int, seed uint64) string {
	h := sha256.New()
	for _, s := range []string{modelVersion, inputHash, scope, strconv.Itoa(n), strconv.FormatUint(seed, 10)} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
