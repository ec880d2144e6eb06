package trainer

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/model"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMetrics(t *testing.T) {
	s := []Scored{
		// p1: perfect order. p2: inverted. p3: no PASS. p4: all PASS.
		{"p1", true, 0.1}, {"p1", false, 0.5}, {"p1", false, 0.9},
		{"p2", true, 0.9}, {"p2", false, 0.2},
		{"p3", false, 0.3}, {"p3", false, 0.4},
		{"p4", true, 0.6},
	}
	m := ComputeMetrics(s, 2)
	if m.ValProblems != 4 || m.ValExamples != 8 {
		t.Fatalf("%+v", m)
	}
	if !near(float64(m.PairwiseAccuracy), 2.0/3) {
		t.Errorf("pairwise %v, want 2/3", m.PairwiseAccuracy)
	}
	if !near(float64(m.RerankedPass1), 2.0/4) || !near(float64(m.RandomPass1), (1.0/3+0.5+0+1)/4) || !near(float64(m.OraclePass), 3.0/4) {
		t.Errorf("pass@1 %+v", m)
	}
	// K=2: p1 (n=3, ranks 0 pass): P(min is rank 0) = C(2,1)/C(3,2) = 2/3; p2: rank 1 pass: C(0,1)/C(2,2)=0;
	// p4: n=1, k=1: 1. Oracle pass@2: p1 1-C(2,2)/C(3,2)=2/3, p2 1, p3 0, p4 1.
	if !near(float64(m.VerifierPass1AtK), (2.0/3+0+0+1)/4) || !near(float64(m.OraclePassAtK), (2.0/3+1+0+1)/4) {
		t.Errorf("at k: verifier %v oracle %v", m.VerifierPass1AtK, m.OraclePassAtK)
	}
	// AUROC: PASS energies {0.1, 0.9, 0.6}, FAIL {0.5, 0.9, 0.2, 0.3, 0.4}: P(pass < fail), ties half.
	wins := 0.0
	for _, p := range []float64{0.1, 0.9, 0.6} {
		for _, f := range []float64{0.5, 0.9, 0.2, 0.3, 0.4} {
			if p < f {
				wins++
			} else if p == f {
				wins += 0.5
			}
		}
	}
	if !near(float64(m.AUROC), wins/15) {
		t.Errorf("auroc %v, want %v", m.AUROC, wins/15)
	}
	// A constant model earns chance, not the order the data came in.
	flat := ComputeMetrics([]Scored{{"a", true, 1}, {"a", false, 1}, {"b", false, 1}, {"b", true, 1}}, 16)
	if flat.RerankedPass1 != 0 || !near(float64(flat.PairwiseAccuracy), 0.5) || !near(float64(flat.AUROC), 0.5) {
		t.Errorf("constant energies: %+v", flat)
	}
	// NaN metrics survive JSON as null.
	empty := ComputeMetrics(nil, 16)
	b, err := json.Marshal(empty)
	if err != nil || !strings.Contains(string(b), `"auroc":null`) {
		t.Fatalf("%s %v", b, err)
	}
	var back model.Metrics
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(float64(back.AUROC)) {
		t.Errorf("round trip: %+v %v", back, err)
	}
}
