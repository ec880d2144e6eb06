package reranker

import (
	"fmt"
	"math"
	"testing"
)

func TestEvaluate(t *testing.T) {
	ps := []ProblemResult{
		// 1 of 4 pass; the verifier picks it (lowest energy).
		{ProblemID: "a", IDs: []string{"0", "1", "2", "3"}, Pass: []bool{false, true, false, false}, Energy: []float32{3, 1, 2, 4}},
		// 2 of 4 pass; the verifier picks a failing one.
		{ProblemID: "b", IDs: []string{"0", "1", "2", "3"}, Pass: []bool{true, true, false, false}, Energy: []float32{3, 2, 1, 4}},
		// none pass.
		{ProblemID: "c", IDs: []string{"0", "1"}, Pass: []bool{false, false}, Energy: []float32{0, 0}},
		// tie on energy: ids decide, "0" < "1" and "0" passes.
		{ProblemID: "d", IDs: []string{"1", "0"}, Pass: []bool{false, true}, Energy: []float32{5, 5}},
	}
	r, err := Evaluate(ps, 2000, 0.95, 1)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(r.Baseline.Value, (0.25+0.5+0+0.5)/4) || !near(r.Oracle.Value, 0.75) || !near(r.Verifier.Value, 0.5) {
		t.Fatalf("%+v", r)
	}
	for _, iv := range []Interval{r.Baseline, r.Oracle, r.Verifier} {
		if iv.Low > iv.Value || iv.High < iv.Value || iv.Low < 0 || iv.High > 1 || iv.Low == iv.High {
			t.Errorf("interval %v", iv)
		}
	}
	r2, _ := Evaluate(ps, 2000, 0.95, 1)
	if r2 != r {
		t.Error("same seed, different intervals")
	}
	if _, err := Evaluate([]ProblemResult{{ProblemID: "x", Pass: []bool{true}, Energy: nil}}, 10, 0.95, 1); err == nil {
		t.Error("mismatched lengths accepted")
	}
}

// TestBootstrapPaired: the figures come from the same resamples, so a verifier that always scores
// what the baseline scores has a gain of exactly 0 in every resample, while its own interval is wide.
func TestBootstrapPaired(t *testing.T) {
	var ps []ProblemValues
	for i := range 40 {
		v := float64(i % 2) // half the problems pass, half do not: a wide interval
		ps = append(ps, ProblemValues{ProblemID: fmt.Sprint(i), Baseline: v, Oracle: v, Verifier: v})
	}
	r, err := Bootstrap(ps, 500, 0.95, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verifier.High-r.Verifier.Low < 0.2 {
		t.Errorf("verifier interval %v: want a wide one", r.Verifier)
	}
	if r.Gain != (Interval{}) {
		t.Errorf("gain %v: want exactly 0 [0, 0] (paired resamples)", r.Gain)
	}
	ps[0].Verifier, ps[1].Verifier = 1, 0 // problem 0 (fail → pass) and 1 (pass → fail) swap: mean gain 0
	ps[2].Verifier = 1                    // one more win
	r, err = Bootstrap(ps, 500, 0.95, 1)
	if err != nil || math.Abs(r.Gain.Value-(r.Verifier.Value-r.Baseline.Value)) > 1e-12 || r.Gain.Value != 1.0/40 {
		t.Errorf("gain %v, verifier %v, baseline %v (%v)", r.Gain, r.Verifier, r.Baseline, err)
	}
}

// CodeT's figure is its pool's pass rate and the code-only model's its min-energy pick; the
// verifier's difference to CodeT shares the resamples.
func TestEvaluateMethods(t *testing.T) {
	ps := []ProblemResult{
		{ProblemID: "a", IDs: []string{"0", "1", "2", "3"}, Pass: []bool{false, true, true, false}, Energy: []float32{1, 2, 3, 4},
			CodeTPool: []bool{true, true, true, false}, CodeEnergy: []float32{4, 3, 1, 2}},
		{ProblemID: "b", IDs: []string{"0", "1"}, Pass: []bool{true, false}, Energy: []float32{0, 1},
			CodeTPool: []bool{false, true}, CodeEnergy: []float32{2, 2}}, // tie: id "0" passes
	}
	r, err := Evaluate(ps, 500, 0.95, 1)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(r.CodeT.Value, (2.0/3+0)/2) || !near(r.Energy.Value, 1) || !near(r.Verifier.Value, 0.5) ||
		!near(r.VerifierMinusCodeT.Value, r.Verifier.Value-r.CodeT.Value) {
		t.Errorf("%+v", r)
	}
	bad := ps[0]
	bad.CodeTPool = []bool{true}
	if _, err := Values(bad); err == nil {
		t.Error("a CodeT pool of the wrong length accepted")
	}
}
