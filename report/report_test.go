package report

import (
	"fmt"
	"io"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/processors/passk"
)

// randomTallies spreads each problem's verdicts over days, sources and failure kinds at random, and
// returns the per-model, per-problem {n, c} they add up to.
func randomTallies(seed int64) ([]Tally, map[string]map[string][2]int) {
	rng := rand.New(rand.NewSource(seed))
	want := map[string]map[string][2]int{}
	var ts []Tally
	for _, model := range []string{"small", "large"} {
		name := model + " (humaneval/test)"
		want[name] = map[string][2]int{}
		for p := range 30 {
			problem := fmt.Sprintf("HumanEval/%d", p)
			n, c := 0, 0
			for range 1 + rng.Intn(6) {
				t := Tally{Benchmark: "humaneval", Split: "test", Model: model, ProblemID: problem, Day: fmt.Sprintf("2026-11-%02d", 20+rng.Intn(3)),
					Source: []string{"", "replay"}[rng.Intn(2)], Pass: rng.Intn(2) == 0, Count: 1 + rng.Intn(40)}
				if !t.Pass {
					t.FailureKind = []string{"assertion", "syntax", "timeout"}[rng.Intn(3)]
				} else {
					c += t.Count
				}
				n += t.Count
				ts = append(ts, t)
			}
			want[name][problem] = [2]int{n, c}
		}
	}
	return ts, want
}

func TestSummaryIsPassKOfSummedTallies(t *testing.T) {
	ts, want := randomTallies(3)
	rows := Summary(ts)
	if len(rows) != 2 || rows[0].Name != "large (humaneval/test)" {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		ks := []int{1, 10, 50, 100}
		for i, s := range passk.Summary(want[r.Name], ks) {
			got := r.PassAt[ks[i]-1]
			if got.K != s.K || got.Problems != s.Problems || !(got.PassAtK == s.PassAtK || math.IsNaN(got.PassAtK) && math.IsNaN(s.PassAtK)) {
				t.Errorf("%s pass@%d = %+v, want %+v", r.Name, s.K, got, s)
			}
		}
		n, c := 0, 0
		for _, nc := range want[r.Name] {
			n, c = n+nc[0], c+nc[1]
		}
		if r.Problems != 30 || r.Candidates != n || r.Passed != c || r.PassRate != float64(c)/float64(n) {
			t.Errorf("%s: %+v, want 30 problems, %d candidates, %d passed", r.Name, r, n, c)
		}
	}
}

func TestCharts(t *testing.T) {
	ts, want := randomTallies(4)
	rows := Summary(ts)
	passAtK, rates, kinds, daily := Charts(ts)
	if len(passAtK.X) != MaxK || len(passAtK.Series) != 2 || passAtK.Series[1].Values[0] != rows[1].PassAt[0].PassAtK {
		t.Errorf("pass@k curves: %d points, %d series", len(passAtK.X), len(passAtK.Series))
	}
	for i, s := range rates.Series {
		sum := 0.0
		for _, v := range s.Values {
			sum += v
		}
		perfect := 0.0
		for _, nc := range want[s.Name] {
			if nc[0] == nc[1] {
				perfect++
			}
		}
		if sum != float64(rows[i].Problems) || s.Values[9] < perfect {
			t.Errorf("%s: %v problems in the pass-rate histogram, want %d; last bin %v ≥ %v always-passing", s.Name, sum, rows[i].Problems, s.Values[9], perfect)
		}
	}
	// The failure kinds of a model add up to its failure rate.
	for i, r := range rows {
		share := 0.0
		for _, s := range kinds.Series {
			share += s.Values[i]
		}
		if math.Abs(share-(1-r.PassRate)) > 1e-12 || kinds.Categories[i] != r.Name {
			t.Errorf("%s: failure kinds add up to %v, want %v", r.Name, share, 1-r.PassRate)
		}
	}
	// Every day's rate is the passes over the candidates of that day and source.
	for i, s := range daily.Series {
		for j, day := range daily.Categories {
			n, c := 0, 0
			for _, tl := range ts {
				if groupName(tl) == s.Name && dayKey(tl) == day {
					n += tl.Count
					if tl.Pass {
						c += tl.Count
					}
				}
			}
			if got := s.Values[j]; n == 0 && !math.IsNaN(got) || n > 0 && got != float64(c)/float64(n) {
				t.Errorf("series %d day %s: %v, want %d/%d", i, day, got, c, n)
			}
		}
	}
}

func TestWrite(t *testing.T) {
	ts, _ := randomTallies(5)
	ts[0].Model = "<b>m&</b>"
	var b strings.Builder
	eval := []Candidate{{"p2", "c1", true, -1}, {"p1", "c2", false, 2}, {"p2", "c3", false, 1}, {"p1", "c4", true, 0.5}}
	if err := Write(&b, Page{Title: "r", Tallies: ts, EvalVersion: "v9", EvalScope: "all", Eval: eval}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, id := range []string{"pass-at-k", "problem-pass-rates", "failure-kinds", "pass-rate-by-day", "eval-energy", "eval-reliability", "eval-picks"} {
		if strings.Count(out, `<svg class="chart" id="`+id+`"`) != 1 {
			t.Errorf("no chart %s", id)
		}
	}
	if strings.Contains(out, "<b>m&</b>") || !strings.Contains(out, "&lt;b&gt;m&amp;&lt;/b&gt;") {
		t.Error("a model name is not escaped")
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "href") || strings.Count(out, "http") != strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("the page refers to something outside itself")
	}
	if !strings.Contains(out, "2 problems, 2 PASS and 2 FAIL candidates") {
		t.Error("the newest evaluation's totals are missing")
	}
	// Without an evaluation there is no verifier section; without verdicts the page says so.
	b.Reset()
	if err := Write(&b, Page{Title: "empty"}); err != nil || strings.Contains(b.String(), "eval-energy") || !strings.Contains(b.String(), "No verdicts stored yet") {
		t.Errorf("empty page: %v\n%s", err, b.String())
	}
}

func TestEvalProblemsGroupsInOrder(t *testing.T) {
	ps := EvalProblems([]Candidate{{"b", "1", true, 0.5}, {"a", "2", false, 1}, {"b", "3", false, 2}})
	if len(ps) != 2 || ps[0].ProblemID != "b" || len(ps[0].IDs) != 2 || ps[0].IDs[1] != "3" || ps[0].Energy[1] != 2 || ps[1].Pass[0] {
		t.Errorf("%+v", ps)
	}
}

// A problem whose only tally counts no candidates has no pass rate: it stays out of the histogram
// (and does not break the page).
func TestZeroCountTally(t *testing.T) {
	ts := []Tally{
		{Benchmark: "b", Split: "s", Model: "m", ProblemID: "p0", Day: "2024-01-01", FailureKind: "timeout", Count: 0},
		{Benchmark: "b", Split: "s", Model: "m", ProblemID: "p1", Day: "2024-01-01", Pass: true, Count: 2},
	}
	_, rates, _, _ := Charts(ts)
	if len(rates.Series) != 1 || rates.Series[0].Values[9] != 1 {
		t.Fatalf("pass-rate histogram %+v, want the one problem with candidates in the last bin", rates.Series)
	}
	sum := 0.0
	for _, v := range rates.Series[0].Values {
		sum += v
	}
	if sum != 1 {
		t.Errorf("%v problems in the histogram, want 1", sum)
	}
	if err := Write(io.Discard, Page{Title: "t", Tallies: ts}); err != nil {
		t.Error(err)
	}
}
