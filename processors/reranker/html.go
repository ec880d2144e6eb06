package reranker

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/codeverify/codeverify/report/chart"
)

// ReportRow is one evaluation in the report's table.
type ReportRow struct {
	ModelVersion string
	EvalID       string // empty when the evaluation was not stored
	Scope        string
	N            int
	Problems     int
	Candidates   int
	Baseline     Interval
	Oracle       Interval
	Verifier     Interval
	Gain         Interval // Verifier − Baseline (paired bootstrap)
	CodeT        Interval // CodeT's dual execution agreement; meaningful when HasCodeT
	Energy       Interval // the code-only model; meaningful when HasEnergy
	// VerifierMinusCodeT is Verifier − CodeT (paired bootstrap); meaningful when HasCodeT.
	VerifierMinusCodeT Interval
	HasCodeT           bool // the evaluation ran generated tests
	HasEnergy          bool // a code-only model ran beside the verifier
}

// Report is what the HTML report shows: a table of evaluations and the plots of one of them.
type Report struct {
	Title    string
	Input    string
	Rows     []ReportRow
	Plotted  string          // which evaluation the plots show (e.g. its model version)
	Problems []ProblemResult // that evaluation's candidates
	Bins     int             // energy histogram bins (default 20)
}

// Histogram counts PASS and FAIL energies over shared bins: bin i is [Edges[i], Edges[i+1]), the
// last bin also holds its upper edge.
type Histogram struct {
	Edges      []float64
	Pass, Fail []int
}

// EnergyHistogram bins every finite energy of problems into bins equal-width bins spanning them.
func EnergyHistogram(problems []ProblemResult, bins int) Histogram {
	bins = max(bins, 1)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range problems {
		for _, e := range p.Energy {
			if f := float64(e); !math.IsNaN(f) && !math.IsInf(f, 0) {
				lo, hi = min(lo, f), max(hi, f)
			}
		}
	}
	if lo > hi { // no finite energy
		lo, hi = 0, 1
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	h := Histogram{Edges: make([]float64, bins+1), Pass: make([]int, bins), Fail: make([]int, bins)}
	width := (hi - lo) / float64(bins)
	for i := range h.Edges {
		h.Edges[i] = lo + float64(i)*width
	}
	h.Edges[bins] = hi
	for _, p := range problems {
		for i, e := range p.Energy {
			f := float64(e)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			b := min(bins-1, int((f-lo)/width))
			if p.Pass[i] {
				h.Pass[b]++
			} else {
				h.Fail[b]++
			}
		}
	}
	return h
}

// ProblemPick is one problem's pass rate and the verifier's choice.
type ProblemPick struct {
	ProblemID    string
	Candidates   int
	PassRate     float64
	Chosen       string
	ChosenEnergy float32
	ChosenPass   bool
}

// Picks returns each problem's pass rate and pick, sorted by pass rate (highest first), then id.
func Picks(problems []ProblemResult) []ProblemPick {
	out := make([]ProblemPick, 0, len(problems))
	for _, p := range problems {
		if len(p.Pass) == 0 || len(p.Pass) != len(p.Energy) {
			continue
		}
		n := 0
		for _, ok := range p.Pass {
			if ok {
				n++
			}
		}
		b := Best(p.Energy, p.IDs)
		pk := ProblemPick{ProblemID: p.ProblemID, Candidates: len(p.Pass), PassRate: float64(n) / float64(len(p.Pass)),
			ChosenEnergy: p.Energy[b], ChosenPass: p.Pass[b]}
		if p.IDs != nil {
			pk.Chosen = p.IDs[b]
		}
		out = append(out, pk)
	}
	slices.SortStableFunc(out, func(a, b ProblemPick) int {
		return cmp.Or(cmp.Compare(b.PassRate, a.PassRate), cmp.Compare(a.ProblemID, b.ProblemID))
	})
	return out
}

// EnergyChart draws the PASS and FAIL energies of h as two series side by side in each bin.
func EnergyChart(id string, h Histogram) chart.Histogram {
	c := chart.Histogram{ID: id, XLabel: "energy (lower: the verifier expects PASS)", YLabel: "candidates", Edges: h.Edges}
	for _, s := range []struct {
		name   string
		counts []int
	}{{"PASS", h.Pass}, {"FAIL", h.Fail}} {
		se := chart.Series{Name: s.name, Class: strings.ToLower(s.name)}
		for i, n := range s.counts {
			se.Values = append(se.Values, float64(n))
			se.Titles = append(se.Titles, fmt.Sprintf("%s: %d candidates with energy in [%.4g, %.4g)", s.name, n, h.Edges[i], h.Edges[i+1]))
		}
		c.Series = append(c.Series, se)
	}
	return c
}

// ReliabilityChart draws, for each energy bin of h, the fraction of its candidates that pass (a gap
// where a bin is empty). Lower energy should mean PASS, so for a useful verifier the line falls.
func ReliabilityChart(id string, h Histogram) chart.Lines {
	c := chart.Lines{ID: id, XLabel: "energy (bin centre)", YLabel: "observed pass rate", YMin: 0, YMax: 1}
	se := chart.Series{Name: "PASS / all candidates in the bin", Class: "s0"}
	for i := range h.Pass {
		n := h.Pass[i] + h.Fail[i]
		c.X = append(c.X, (h.Edges[i]+h.Edges[i+1])/2)
		rate := math.NaN()
		if n > 0 {
			rate = float64(h.Pass[i]) / float64(n)
		}
		se.Values = append(se.Values, rate)
		se.Titles = append(se.Titles, fmt.Sprintf("energy [%.4g, %.4g): %d of %d pass", h.Edges[i], h.Edges[i+1], h.Pass[i], n))
	}
	c.Series = []chart.Series{se}
	return c
}

// PicksChart draws one labelled row per problem: its pass rate, and a dot coloured by whether the
// verifier's pick passes.
func PicksChart(id string, picks []ProblemPick) chart.Ranked {
	c := chart.Ranked{ID: id, XLabel: "fraction of drawn candidates that pass", YLabel: "problem", XMax: 1,
		Bar:     chart.Series{Name: "pass rate", Class: "rate"},
		Markers: []chart.Series{{Name: "pick passes", Class: "pass"}, {Name: "pick fails", Class: "fail"}}}
	for _, p := range picks {
		class := "fail"
		if p.ChosenPass {
			class = "pass"
		}
		c.Rows = append(c.Rows, chart.Row{Label: p.ProblemID, Value: p.PassRate, Marker: class,
			Title: fmt.Sprintf("%s: pass rate %.3f of %d; chose %s (energy %.4f, %s)", p.ProblemID, p.PassRate, p.Candidates, p.Chosen, p.ChosenEnergy, class)})
	}
	return c
}

type htmlData struct {
	Report
	Energy, Picks          template.HTML
	PassTotal, FailTotal   int
	Bins                   int
	PickedPass, PickedFail int
	HasPlots               bool
}

// WriteHTML renders r as one self-contained HTML page: inline CSS and SVG, no script, no external
// resource.
func WriteHTML(w io.Writer, r Report) error {
	if r.Bins <= 0 {
		r.Bins = 20
	}
	d := htmlData{Report: r, Bins: r.Bins, HasPlots: len(r.Problems) > 0}
	h := EnergyHistogram(r.Problems, r.Bins)
	for i := range h.Pass {
		d.PassTotal += h.Pass[i]
		d.FailTotal += h.Fail[i]
	}
	picks := Picks(r.Problems)
	for _, p := range picks {
		if p.ChosenPass {
			d.PickedPass++
		} else {
			d.PickedFail++
		}
	}
	d.Energy, d.Picks = EnergyChart("energy", h).SVG(), PicksChart("picks", picks).SVG()
	return htmlReport.Execute(w, d)
}

var htmlReport = template.Must(template.New("report").Parse(chart.PageHead + `{{template "page-head" .}}
{{if .Input}}<p>Input: <code>{{.Input}}</code></p>{{end}}
<div class="scroll"><table id="evaluations">
<thead><tr><th>model version</th><th>scope</th><th>n</th><th>problems</th><th>candidates</th><th>baseline pass@1</th><th>oracle pass@n</th><th>CodeT pass@1</th><th>energy pass@1</th><th>verifier pass@1</th><th>verifier − baseline</th><th>verifier − CodeT</th><th>eval id</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr class="evaluation"><td>{{.ModelVersion}}</td><td>{{.Scope}}</td><td>{{.N}}</td><td>{{.Problems}}</td><td>{{.Candidates}}</td><td>{{.Baseline}}</td><td>{{.Oracle}}</td><td class="codet">{{if .HasCodeT}}{{.CodeT}}{{else}}—{{end}}</td><td class="energy">{{if .HasEnergy}}{{.Energy}}{{else}}—{{end}}</td><td>{{.Verifier}}</td><td>{{.Gain}}</td><td class="codet-gain">{{if .HasCodeT}}{{.VerifierMinusCodeT}}{{else}}—{{end}}</td><td class="id">{{.EvalID}}</td></tr>
{{- end}}
</tbody>
</table></div>
<p>Values are means over problems with 95% bootstrap intervals (resampling problems; one resampling
for every column, so differences are paired). Baseline: a uniformly random drawn candidate; oracle:
any drawn candidate passes; CodeT: a random candidate of the best dual execution agreement groups
on the generated tests (— when the evaluation ran none); energy: the code-only model's min-energy
candidate (— when none ran); verifier: the min-energy candidate of the evaluated model (ties to the
smaller candidate id) passes.</p>
{{if .HasPlots}}
<h2>Energy of PASS and FAIL candidates{{if .Plotted}} ({{.Plotted}}){{end}}</h2>
<p>{{.PassTotal}} PASS (green) and {{.FailTotal}} FAIL (red) candidates in {{.Bins}} shared bins, side by side; lower energy means the verifier expects a PASS.</p>
{{.Energy}}

<h2>Per-problem pass rate and the verifier's pick{{if .Plotted}} ({{.Plotted}}){{end}}</h2>
<p>One bar per problem: the fraction of its drawn candidates that pass, highest first. The dot is the
candidate the verifier chose: green when it passes ({{.PickedPass}} problems), red when it fails
({{.PickedFail}}).</p>
{{.Picks}}
{{end}}
</body>
</html>
`))
