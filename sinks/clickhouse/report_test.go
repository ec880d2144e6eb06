package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

func TestReportHandComputed(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	var vs []schemas.Verdict
	// m1: p1 n=10 c=3, p2 n=10 c=0, p3 n=5 c=5.
	//   pass@1 = (0.3 + 0 + 1)/3; pass@10 over p1, p2 only = (1 + 0)/2 (p1: 7 failures < 10);
	//   pass@100: no problem has 100 samples → NaN.
	vs = append(vs, problemVerdicts("mbpp", "test", "m1", "p1", 10, 3)...)
	vs = append(vs, problemVerdicts("mbpp", "test", "m1", "p2", 10, 0)...)
	vs = append(vs, problemVerdicts("mbpp", "test", "m1", "p3", 5, 5)...)
	// m2: p1 n=100 c=1. pass@1 = 0.01; pass@10 = 1 - C(99,10)/C(100,10) = 1 - 90/100; pass@100 = 1.
	vs = append(vs, problemVerdicts("mbpp", "test", "m2", "p1", 100, 1)...)
	if err := s.WriteVerdicts(ctx, vs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Report(ctx, ReportFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []ReportRow{
		{Benchmark: "mbpp", Split: "test", Model: "m1", Problems: 3, Candidates: 25, Passed: 8, PassRate: 8.0 / 25,
			PassAt1: 1.3 / 3, PassAt10: 0.5, PassAt100: math.NaN(), ZeroPassProblems: 1},
		{Benchmark: "mbpp", Split: "test", Model: "m2", Problems: 1, Candidates: 100, Passed: 1, PassRate: 0.01,
			PassAt1: 0.01, PassAt10: 0.1, PassAt100: 1, ZeroPassProblems: 0},
	}
	if !reportsEqual(got, want) {
		t.Fatalf("report\n got %+v\nwant %+v", got, want)
	}

	only, err := s.Report(ctx, ReportFilter{Benchmark: "mbpp", Split: "test", Model: "m2"})
	if err != nil {
		t.Fatal(err)
	}
	if !reportsEqual(only, want[1:]) {
		t.Fatalf("filtered report %+v, want %+v", only, want[1:])
	}
	if none, err := s.Report(ctx, ReportFilter{Model: "x' OR '1'='1"}); err != nil || len(none) != 0 {
		t.Fatalf("filter with quotes: rows=%v err=%v, want none", none, err)
	}

	var buf bytes.Buffer
	FormatReport(&buf, got)
	t.Logf("FormatReport:\n%s", buf.String())
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "43.33%") || !strings.Contains(lines[1], " -") {
		t.Fatalf("FormatReport:\n%s", buf.String())
	}
	if strings.Index(lines[0], "pass@10 ") != strings.Index(lines[2], "10.00%") {
		t.Fatalf("FormatReport columns not aligned:\n%s", buf.String())
	}
}

// The SQL estimator must agree with the Go one on arbitrary (n, c), including n < k, c = 0, c = n.
func TestReportMatchesGoEstimator(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	type acc struct {
		problems, candidates, passed, zero uint64
		sum, cnt                           [3]float64
	}
	want := map[string]*acc{}
	ks := [3]int{1, 10, 100}
	var vs []schemas.Verdict
	for _, model := range []string{"small", "large"} {
		a := &acc{}
		want[model] = a
		for p := 0; p < 60; p++ {
			n := 1 + rng.Intn(220)
			c := 0
			switch rng.Intn(4) {
			case 0: // no pass
			case 1:
				c = n
			default:
				c = rng.Intn(n + 1)
			}
			vs = append(vs, problemVerdicts("humaneval", "test", model, fmt.Sprintf("HumanEval/%d", p), n, c)...)
			a.problems++
			a.candidates += uint64(n)
			a.passed += uint64(c)
			if c == 0 {
				a.zero++
			}
			for i, k := range ks {
				if n >= k {
					a.sum[i] += PassAtK(n, c, k)
					a.cnt[i]++
				}
			}
		}
	}
	if err := s.WriteVerdicts(ctx, vs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Report(ctx, ReportFilter{Benchmark: "humaneval"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d rows, want 2: %+v", len(got), got)
	}
	for _, r := range got {
		a := want[r.Model]
		w := ReportRow{Benchmark: "humaneval", Split: "test", Model: r.Model, Problems: a.problems,
			Candidates: a.candidates, Passed: a.passed, PassRate: float64(a.passed) / float64(a.candidates),
			PassAt1: a.sum[0] / a.cnt[0], PassAt10: a.sum[1] / a.cnt[1], PassAt100: a.sum[2] / a.cnt[2],
			ZeroPassProblems: a.zero}
		if !reportsEqual([]ReportRow{r}, []ReportRow{w}) {
			t.Errorf("SQL %+v\n Go %+v", r, w)
		}
	}
}

func reportsEqual(a, b []ReportRow) bool {
	if len(a) != len(b) {
		return false
	}
	near := func(x, y float64) bool {
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		return math.Abs(x-y) <= 1e-9
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Benchmark != y.Benchmark || x.Split != y.Split || x.Model != y.Model || x.Problems != y.Problems ||
			x.Candidates != y.Candidates || x.Passed != y.Passed || x.ZeroPassProblems != y.ZeroPassProblems ||
			!near(x.PassRate, y.PassRate) || !near(x.PassAt1, y.PassAt1) || !near(x.PassAt10, y.PassAt10) ||
			!near(x.PassAt100, y.PassAt100) {
			return false
		}
	}
	return true
}
