package clickhouse

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

// docs/sql/codet_top_cluster.sql is where people read the query: it must be the file Agreement
// embeds (a link to it), not a copy that could drift.
func TestAgreementQueryIsTheDocumentedFile(t *testing.T) {
	doc, err := os.ReadFile("../../docs/sql/codet_top_cluster.sql")
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != agreementFile {
		t.Fatal("docs/sql/codet_top_cluster.sql is not sinks/clickhouse/sql/codet_top_cluster.sql: make it a link to that file")
	}
}

// Hand-made requests whose agreement numbers are worked out below, on a real server.
func TestAgreementByModel(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	P, F, E, T := schemas.TestPass, schemas.TestFail, schemas.TestError, schemas.TestTimeout
	tests := []string{"t1", "t2", "t3"}
	type cand struct {
		sample   int
		pass     bool     // hidden-test verdict
		statuses []string // on t1, t2, t3
	}
	var vs []schemas.Verdict
	var bs []schemas.Behavior
	add := func(model, problem string, cs ...cand) {
		for _, c := range cs {
			vs = append(vs, verdict("mbpp", "test", model, problem, c.sample, c.pass))
			bs = append(bs, behavior("mbpp", "test", model, problem, c.sample, tests, c.statuses))
		}
	}
	// Model A.
	// r1: {t1,t2} = {0 PASS, 1 FAIL}: score 2×2 = 4; {t3} = {2, 3, 4 all FAIL}: 3×1 = 3. The bigger
	// cluster loses on score; the top one holds a pass: 1. Random: 1/5.
	add("A", "r1",
		cand{0, true, []string{P, P, F}}, cand{1, false, []string{P, P, E}},
		cand{2, false, []string{F, F, P}}, cand{3, false, []string{E, T, P}}, cand{4, false, []string{F, E, P}})
	// r2: {t1} = {0 PASS} and {t2} = {1 FAIL} tie at 1: half the top clusters hold a pass: 0.5. Random 1/2.
	add("A", "r2", cand{0, true, []string{P, F, F}}, cand{1, false, []string{F, P, F}})
	// r3: {t1,t2,t3} = {0, 1 FAIL}: 6; {t1} = {2 PASS}: 1. Top fails: 0. Random 1/3.
	add("A", "r3", cand{0, false, []string{P, P, P}}, cand{1, false, []string{P, P, P}}, cand{2, true, []string{P, F, F}})
	// Model B.
	// r4: one failing candidate that passes no generated test: its empty cluster is the top (score 0): 0.
	add("B", "r4", cand{0, false, []string{F, F, T}})
	// r5: {t1} = {0, 1 PASS}: 2; {} = {2 FAIL}: 0. Top 1. Random 2/3.
	add("B", "r5", cand{0, true, []string{P, F, F}}, cand{1, true, []string{P, E, F}}, cand{2, false, []string{T, T, T}})

	// Sample 1 of A/r1 was first stored with an older behaviour (joining the {t3} cluster, which
	// would then win 4 to 2): FINAL must keep only the re-execution above.
	old := behavior("mbpp", "test", "A", "r1", 1, tests, []string{F, F, P})
	old.ExecutedAtMs -= 1000
	// A behaviour without a verdict is left out (it would lower A/r1's random pass rate to 1/6).
	orphan := behavior("mbpp", "test", "A", "r1", 9, tests, []string{P, P, F})
	if err := s.WriteBehaviors(ctx, []schemas.Behavior{old, orphan}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteVerdicts(ctx, vs); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBehaviors(ctx, bs); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteVerdicts(ctx, vs[:3]); err != nil { // a redelivery
		t.Fatal(err)
	}

	got, err := s.Agreement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []AgreementRow{
		{Benchmark: "mbpp", Split: "test", Model: "A", Requests: 3,
			TopClusterPass: (1 + 0.5 + 0) / 3, AnyPass: 1, RandomPass: (1.0/5 + 1.0/2 + 1.0/3) / 3},
		{Benchmark: "mbpp", Split: "test", Model: "B", Requests: 2,
			TopClusterPass: (0 + 1) / 2.0, AnyPass: 0.5, RandomPass: (0 + 2.0/3) / 2},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for i, w := range want {
		g := got[i]
		if g.Benchmark != w.Benchmark || g.Split != w.Split || g.Model != w.Model || g.Requests != w.Requests ||
			!near(g.TopClusterPass, w.TopClusterPass) || !near(g.AnyPass, w.AnyPass) || !near(g.RandomPass, w.RandomPass) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
