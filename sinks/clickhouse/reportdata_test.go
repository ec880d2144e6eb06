package clickhouse

import (
	"cmp"
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// reportVerdicts draws verdicts of two models over three days from two request sources (a replay,
// a campaign round) and ids of another shape, with random labels and failure kinds; a slice of
// them is redelivered later with the opposite label, which FINAL must keep.
func reportVerdicts(seed int64) (written []schemas.Verdict, final map[string]schemas.Verdict) {
	rng := rand.New(rand.NewSource(seed))
	kinds := []string{schemas.KindAssertion, schemas.KindException, schemas.KindSyntax, schemas.KindTimeout}
	final = map[string]schemas.Verdict{}
	// Noon UTC: the same date in any server time zone within ±11 h.
	day0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC).UnixMilli()
	for _, model := range []string{"m-small", "m-large"} {
		for p := 0; p < 12; p++ {
			problem := fmt.Sprintf("HumanEval/%d", p)
			for i := 0; i < 5+rng.Intn(20); i++ {
				v := verdict("humaneval", "test", model, problem, i, rng.Intn(3) == 0)
				v.RequestID = []string{"replay:" + model + ":" + problem, "campaign/nightly/2/" + problem, "req-" + problem + "-x"}[rng.Intn(3)]
				v.CandidateID = schemas.CandidateID(v.RequestID+model, i)
				v.ExecutedAtMs = day0 + int64(rng.Intn(3))*86_400_000 + int64(i)
				if v.Label == schemas.Fail {
					v.FailureKind = kinds[rng.Intn(len(kinds))]
				}
				written = append(written, v)
				if rng.Intn(5) == 0 { // redelivered after a re-execution that changed its label
					r := verdict("humaneval", "test", model, problem, i, v.Label == schemas.Fail)
					r.RequestID, r.CandidateID, r.ExecutedAtMs = v.RequestID, v.CandidateID, v.ExecutedAtMs+1000
					written = append(written, r)
					v = r
				}
				final[v.CandidateID] = v
			}
		}
	}
	return written, final
}

// wantTallies counts the final verdicts the way ReportTallies must, in its order.
func wantTallies(final map[string]schemas.Verdict, model string) []Tally {
	counts := map[Tally]int{}
	for _, v := range final {
		if model != "" && v.Model != model {
			continue
		}
		source, ok := strings.CutSuffix(v.RequestID, v.ProblemID)
		source = strings.TrimRight(source, ":/")
		if !ok {
			source = ""
		}
		t := Tally{Benchmark: v.Benchmark, Split: v.Split, Model: v.Model, ProblemID: v.ProblemID,
			Day: time.UnixMilli(v.ExecutedAtMs).UTC().Format(time.DateOnly), Source: source, Pass: v.Label == schemas.Pass, FailureKind: v.FailureKind}
		counts[t]++
	}
	var out []Tally
	for t, n := range counts {
		t.Count = n
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Tally) int {
		ka := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%v\x00%s", a.Benchmark, a.Split, a.Model, a.ProblemID, a.Day, a.Source, a.Pass, a.FailureKind)
		kb := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%v\x00%s", b.Benchmark, b.Split, b.Model, b.ProblemID, b.Day, b.Source, b.Pass, b.FailureKind)
		return strings.Compare(ka, kb)
	})
	return out
}

func TestReportTallies(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	written, final := reportVerdicts(7)
	if err := s.WriteVerdicts(ctx, written); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"", "m-large"} {
		got, err := s.ReportTallies(ctx, ReportFilter{Model: model})
		if err != nil {
			t.Fatal(err)
		}
		want := wantTallies(final, model)
		if !slices.Equal(got, want) {
			t.Errorf("model %q: %d tallies, want %d\n got %v\nwant %v", model, len(got), len(want), got, want)
		}
		total := 0
		for _, x := range got {
			total += x.Count
		}
		if model == "" && total != len(final) {
			t.Errorf("tallies count %d verdicts, want %d distinct candidates (%d rows written)", total, len(final), len(written))
		}
	}
	if none, err := s.ReportTallies(ctx, ReportFilter{Benchmark: "mbpp"}); err != nil || len(none) != 0 {
		t.Errorf("other benchmark: %v, %v; want no tallies", none, err)
	}
}

func TestNewestEval(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	if run, cands, err := s.NewestEval(ctx); err != nil || run.EvalID != "" || cands != nil {
		t.Fatalf("empty table: %+v %v %v, want nothing", run, cands, err)
	}
	cands := func(n int) []EvalCandidate {
		var out []EvalCandidate
		for i := 0; i < n; i++ {
			p := fmt.Sprintf("HumanEval/%d", (n-i)%3) // written out of order
			out = append(out, EvalCandidate{ProblemID: p, CandidateID: fmt.Sprintf("c%02d", i), Position: i / 3, Pass: i%2 == 0, Energy: float32(i) / 10})
		}
		return out
	}
	old := EvalRun{EvalID: "e-old", ModelVersion: "v1", InputHash: "h", InputName: "in.jsonl", Scope: "all", N: 4, Seed: 1}
	if err := s.WriteEval(ctx, old, cands(12)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // created_at has whole seconds
	newest := EvalRun{EvalID: "e-new", ModelVersion: "v2", InputHash: "h", InputName: "in.jsonl", Scope: "held-out fold 1 of 5", N: 3, Seed: 2}
	for range 2 { // a rewrite collapses onto the same rows
		if err := s.WriteEval(ctx, newest, cands(9)); err != nil {
			t.Fatal(err)
		}
	}
	run, got, err := s.NewestEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run != newest {
		t.Errorf("newest evaluation %+v, want %+v", run, newest)
	}
	want := cands(9)
	slices.SortFunc(want, func(a, b EvalCandidate) int {
		return cmp.Or(strings.Compare(a.ProblemID, b.ProblemID), a.Position-b.Position)
	})
	if !slices.Equal(got, want) {
		t.Errorf("candidates\n got %+v\nwant %+v", got, want)
	}
}
