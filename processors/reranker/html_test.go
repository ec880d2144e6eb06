package reranker

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// htmlProblems: energies span [0, 1], so 4 bins have edges 0, .25, .5, .75, 1.
//
//	p1: 0.1 PASS, 0.2 PASS, 0.9 FAIL → picks 0.1 (PASS), rate 2/3
//	p2: b 0.5 FAIL, a 0.5 PASS       → tie, picks a (PASS), rate 1/2
//	p3: 1.0 FAIL, 0.0 FAIL           → picks 0.0 (FAIL), rate 0
//	p4: 0.95 FAIL                    → picks it (FAIL), rate 0
//
// PASS per bin: 0.1, 0.2 → bin 0; 0.5 → bin 2.  FAIL: 0.0 → 0; 0.5 → 2; 0.9, 0.95, 1.0 → 3.
func htmlProblems() []ProblemResult {
	return []ProblemResult{
		{ProblemID: "p3", IDs: []string{"x", "y"}, Pass: []bool{false, false}, Energy: []float32{1.0, 0.0}},
		{ProblemID: "p1", IDs: []string{"0", "1", "2"}, Pass: []bool{true, true, false}, Energy: []float32{0.1, 0.2, 0.9}},
		{ProblemID: "p4", IDs: []string{"z"}, Pass: []bool{false}, Energy: []float32{0.95}},
		{ProblemID: "p2", IDs: []string{"b", "a"}, Pass: []bool{false, true}, Energy: []float32{0.5, 0.5}},
	}
}

var (
	binRe    = regexp.MustCompile(`<rect class="bar (pass|fail)" data-series="(?:PASS|FAIL)" data-index="(\d+)" data-value="(\d+)"`)
	markerRe = regexp.MustCompile(`<circle class="marker (pass|fail)"`)
	groupRe  = regexp.MustCompile(`<g class="row" data-label="([^"]+)"`)
	rowRe    = regexp.MustCompile(`<tr class="evaluation">`)
)

func TestWriteHTML(t *testing.T) {
	r := Report{
		Title: "Stage 4", Input: "in.jsonl", Plotted: "v1", Problems: htmlProblems(), Bins: 4,
		Rows: []ReportRow{
			{ModelVersion: "v1", Scope: "all", N: 4, Problems: 4, Candidates: 8, Baseline: Interval{0.2917, 0.1, 0.5}, Oracle: Interval{0.5, 0.25, 0.75}, Verifier: Interval{0.5, 0, 1},
				HasCodeT: true, CodeT: Interval{0.4375, 0.2, 0.7}, VerifierMinusCodeT: Interval{0.0625, -0.1, 0.3}},
			{ModelVersion: `<b>v&2</b>`, EvalID: "abc", Scope: "all", N: 4, Problems: 4, Candidates: 8},
		},
	}
	var b strings.Builder
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `<td class="codet">0.4375 [0.2000, 0.7000]</td>`) || !strings.Contains(out, `<td class="codet-gain">0.0625 [-0.1000, 0.3000]</td>`) ||
		strings.Count(out, `<td class="energy">—</td>`) != 2 || strings.Count(out, `<td class="codet">—</td>`) != 1 {
		t.Errorf("the table's CodeT and energy columns: want the first row's CodeT figures and — where a method did not run")
	}

	counts := map[string][]int{"pass": make([]int, 4), "fail": make([]int, 4)}
	bars := binRe.FindAllStringSubmatch(out, -1)
	for _, m := range bars {
		bin, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		counts[m[1]][bin] = n
	}
	if len(bars) != 8 || !slices.Equal(counts["pass"], []int{2, 0, 1, 0}) || !slices.Equal(counts["fail"], []int{1, 0, 1, 3}) {
		t.Errorf("%d histogram bars, PASS %v (want [2 0 1 0]), FAIL %v (want [1 0 1 3])", len(bars), counts["pass"], counts["fail"])
	}
	markers := map[string]int{}
	for _, m := range markerRe.FindAllStringSubmatch(out, -1) {
		markers[m[1]]++
	}
	if markers["pass"] != 2 || markers["fail"] != 2 {
		t.Errorf("markers %v, want 2 pass (p1, p2) and 2 fail (p3, p4)", markers)
	}
	var order []string
	for _, m := range groupRe.FindAllStringSubmatch(out, -1) {
		order = append(order, m[1])
	}
	if !slices.Equal(order, []string{"p1", "p2", "p3", "p4"}) {
		t.Errorf("problems plotted in order %v, want by pass rate then id: p1 p2 p3 p4", order)
	}
	if n := rowRe.FindAllString(out, -1); len(n) != 2 || !strings.Contains(out, "<td>0.5000 [0.2500, 0.7500]</td>") {
		t.Errorf("%d table rows, or the oracle interval is missing", len(n))
	}
	if strings.Count(out, "<svg") != 2 || !strings.Contains(out, "5 FAIL") || !strings.Contains(out, "3 PASS") {
		t.Error("want two plots over 3 PASS and 5 FAIL candidates")
	}
	if strings.Contains(out, "<b>v&2</b>") || !strings.Contains(out, "&lt;b&gt;v&amp;2&lt;/b&gt;") {
		t.Error("a model version is not escaped")
	}
	// Self-contained: no script, no fetched resource; the only URL is the SVG namespace.
	if strings.Contains(out, "<script") || strings.Contains(out, "src=") || strings.Contains(out, "href") ||
		strings.Count(out, "http") != strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("the report refers to something outside itself")
	}

	// No candidates: the table only.
	b.Reset()
	if err := WriteHTML(&b, Report{Title: "t", Rows: r.Rows[:1]}); err != nil || strings.Contains(b.String(), "<svg") {
		t.Errorf("report without candidates: %v, plots drawn: %v", err, strings.Contains(b.String(), "<svg"))
	}
}

func TestEnergyHistogramEdges(t *testing.T) {
	h := EnergyHistogram(htmlProblems(), 4)
	if !slices.Equal(h.Edges, []float64{0, 0.25, 0.5, 0.75, 1}) {
		t.Errorf("edges %v", h.Edges)
	}
	// One distinct energy: every candidate in one bin, not a division by zero.
	same := []ProblemResult{{ProblemID: "a", Pass: []bool{true, false, false}, Energy: []float32{2, 2, 2}}}
	h = EnergyHistogram(same, 5)
	total := 0
	for i := range h.Pass {
		total += h.Pass[i] + h.Fail[i]
	}
	if total != 3 || h.Edges[0] >= 2 || h.Edges[5] <= 2 {
		t.Errorf("constant energies: %+v", h)
	}
}
