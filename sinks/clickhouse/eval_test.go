package clickhouse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/codeverify/codeverify/processors/reranker"
)

// evalData draws problems with few distinct energies, so ties are common, and ids whose string
// order differs from their numeric order ("c10" < "c9"), so the tie break is exercised as strings.
func evalData(seed uint64, problems int) []reranker.ProblemResult {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []reranker.ProblemResult
	for p := range problems {
		pr := reranker.ProblemResult{ProblemID: fmt.Sprintf("bench/%03d", p)}
		for i := range 1 + rng.IntN(12) {
			pr.IDs = append(pr.IDs, fmt.Sprintf("p%d-c%d", p, 12-i))
			pr.Pass = append(pr.Pass, rng.IntN(3) == 0)
			pr.Energy = append(pr.Energy, float32(rng.IntN(4))*0.25-0.3)
			pr.CodeEnergy = append(pr.CodeEnergy, float32(rng.IntN(3)))
			pr.CodeTPool = append(pr.CodeTPool, i == 0 || rng.IntN(2) == 0)
		}
		out = append(out, pr)
	}
	// A tie whose smaller id fails: a max(pass) or first-row pick would read 1 here.
	out = append(out, reranker.ProblemResult{ProblemID: "bench/tie", IDs: []string{"b", "a", "c"},
		Pass: []bool{true, false, true}, Energy: []float32{-1.5, -1.5, 2}, CodeTPool: []bool{true, true, false}, CodeEnergy: []float32{0, 0, 1}})
	return out
}

func evalRows(ps []reranker.ProblemResult) []EvalCandidate {
	var out []EvalCandidate
	for _, p := range ps {
		for i := range p.IDs {
			out = append(out, EvalCandidate{ProblemID: p.ProblemID, CandidateID: p.IDs[i], Position: i, Pass: p.Pass[i], Energy: p.Energy[i],
				HasCodeT: true, CodeTPool: p.CodeTPool[i], HasCodeEnergy: true, CodeEnergy: p.CodeEnergy[i]})
		}
	}
	return out
}

// The figures computed in SQL must be the ones reranker computes in Go on the same candidates:
// per problem, their means, and the bootstrap intervals over the SQL rows.
func TestEvalSQLMatchesGo(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	data := evalData(1, 60)
	run := EvalRun{EvalID: "e1", ModelVersion: "v1", InputHash: "in", InputName: "in.jsonl", Scope: "all", N: 12, Seed: 3}
	if err := s.WriteEval(ctx, run, evalRows(data)); err != nil {
		t.Fatal(err)
	}
	got, err := s.EvalProblems(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(data) {
		t.Fatalf("%d problems from SQL, want %d", len(got), len(data))
	}
	var sqlVals []reranker.ProblemValues
	for i, p := range data { // data is in problem id order, as the SQL rows are
		want, err := reranker.Values(p)
		if err != nil {
			t.Fatal(err)
		}
		g := got[i]
		if g.ProblemID != want.ProblemID || g.Candidates != len(p.IDs) || g.Baseline != want.Baseline || g.Oracle != want.Oracle || g.Verifier != want.Verifier ||
			math.Abs(g.CodeT-want.CodeT) > 1e-12 || g.Energy != want.Energy || !g.HasCodeT || !g.HasEnergy {
			t.Errorf("problem %s: SQL %+v, Go %+v", p.ProblemID, g, want)
		}
		if best := p.IDs[reranker.Best(p.Energy, p.IDs)]; g.Chosen != best {
			t.Errorf("problem %s: SQL chose %s, Go %s", p.ProblemID, g.Chosen, best)
		}
		sqlVals = append(sqlVals, reranker.ProblemValues{ProblemID: g.ProblemID, Baseline: g.Baseline, Oracle: g.Oracle, Verifier: g.Verifier, CodeT: g.CodeT, Energy: g.Energy})
	}
	if tie := got[len(got)-1]; tie.Chosen != "a" || tie.Verifier != 0 || tie.Energy != 0 || tie.CodeT != 0.5 {
		t.Errorf("tie problem: chose %s (verifier %v, code-only %v, CodeT %v), want a (0, 0, 0.5)", tie.Chosen, tie.Verifier, tie.Energy, tie.CodeT)
	}

	goRes, err := reranker.Evaluate(data, 500, 0.95, 9)
	if err != nil {
		t.Fatal(err)
	}
	sqlRes, err := reranker.Bootstrap(sqlVals, 500, 0.95, 9)
	if err != nil || sqlRes != goRes {
		t.Errorf("bootstrap over SQL rows %+v (%v), over Go %+v", sqlRes, err, goRes)
	}
	sums, err := s.EvalSummaries(ctx, "in")
	if err != nil || len(sums) != 1 {
		t.Fatalf("summaries %+v %v", sums, err)
	}
	sm := sums[0]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if sm.EvalRun != run || sm.Problems != len(data) || sm.Candidates != len(evalRows(data)) ||
		!near(sm.Baseline, goRes.Baseline.Value) || !near(sm.Oracle, goRes.Oracle.Value) || !near(sm.Verifier, goRes.Verifier.Value) ||
		!near(sm.CodeT, goRes.CodeT.Value) || !near(sm.Energy, goRes.Energy.Value) || !sm.HasCodeT || !sm.HasEnergy {
		t.Errorf("summary %+v, Go means %+v", sm, goRes)
	}
}

// A rerun of the same evaluation replaces its rows; other model versions of the same input are
// listed beside it, other inputs are not.
func TestEvalRerunIdempotentAndSideBySide(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	data := evalData(2, 10)
	runA := EvalRun{EvalID: "ea", ModelVersion: "v-a", InputHash: "in", InputName: "x", Scope: "all", N: 12, Seed: 1}
	runB := EvalRun{EvalID: "eb", ModelVersion: "v-b", InputHash: "in", InputName: "x", Scope: "all", N: 12, Seed: 1}
	other := EvalRun{EvalID: "ec", ModelVersion: "v-a", InputHash: "other", InputName: "y", Scope: "all", N: 12, Seed: 1}
	rows := evalRows(data)
	flipped := evalRows(data)
	for i := range flipped {
		flipped[i].Energy = -flipped[i].Energy
	}
	for _, w := range []struct {
		run  EvalRun
		rows []EvalCandidate
	}{{runA, rows}, {runA, rows}, {runB, flipped}, {other, rows}, {runA, rows}} {
		if err := s.WriteEval(ctx, w.run, w.rows); err != nil {
			t.Fatal(err)
		}
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM eval_candidates FINAL WHERE eval_id = 'ea'").Scan(&n); err != nil || n != uint64(len(rows)) {
		t.Errorf("eval ea has %d rows after three writes (%v), want %d", n, err, len(rows))
	}
	sums, err := s.EvalSummaries(ctx, "in")
	if err != nil || len(sums) != 2 || sums[0].ModelVersion != "v-a" || sums[1].ModelVersion != "v-b" {
		t.Fatalf("summaries of input in: %+v %v", sums, err)
	}
	if sums[0].Candidates != len(rows) || sums[0].Baseline != sums[1].Baseline || sums[0].Oracle != sums[1].Oracle {
		t.Errorf("same labels must give the same baseline and oracle: %+v", sums)
	}
	if err := s.WriteEval(ctx, EvalRun{EvalID: "e", ModelVersion: "v"}, rows); err == nil {
		t.Error("an evaluation without an input hash was written")
	}
}

func TestEvalSQLAvoidsVersionSpecificFeatures(t *testing.T) {
	for _, q := range []string{insertEvalCandidates, evalProblemSQL} {
		if bad := versionSpecific.FindString(q); bad != "" {
			t.Errorf("%q in:\n%s", bad, q)
		}
	}
}
