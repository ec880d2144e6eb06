package reranker

import (
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
