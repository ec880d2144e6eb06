package reranker

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
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

// Plot geometry (SVG user units).
const (
	plotW, plotH             = 760.0, 280.0
	padL, padR, padT, padB   = 56.0, 16.0, 16.0, 40.0
	innerW, innerH           = plotW - padL - padR, plotH - padT - padB
	plotBottom, plotRightEnd = padT + innerH, padL + innerW
)

type svgBar struct {
	Class      string
	Bin, Count int
	X, Y, W, H float64
	Title      string
}

type svgPick struct {
	ProblemPick
	Bar    svgBar
	CX, CY float64
	Class  string // pass or fail: the chosen candidate's label
}

type svgTick struct {
	X, Y  float64
	Label string
}

type htmlData struct {
	Report
	W, H, L, R, T, Bottom  float64
	Hist                   Histogram
	HistBars               []svgBar
	XTicks, YTicks         []svgTick
	PassTotal, FailTotal   int
	Picks                  []svgPick
	PickedPass, PickedFail int
	RateTicks              []svgTick
	HasPlots               bool
}

// WriteHTML renders r as one self-contained HTML page: inline CSS and SVG, no script, no external
// resource.
func WriteHTML(w io.Writer, r Report) error {
	if r.Bins <= 0 {
		r.Bins = 20
	}
	d := htmlData{Report: r, W: plotW, H: plotH, L: padL, R: plotRightEnd, T: padT, Bottom: plotBottom, HasPlots: len(r.Problems) > 0}
	d.Hist = EnergyHistogram(r.Problems, r.Bins)
	peak := 1
	for i := range d.Hist.Pass {
		peak = max(peak, d.Hist.Pass[i], d.Hist.Fail[i])
		d.PassTotal += d.Hist.Pass[i]
		d.FailTotal += d.Hist.Fail[i]
	}
	lo, hi := d.Hist.Edges[0], d.Hist.Edges[len(d.Hist.Edges)-1]
	xOf := func(e float64) float64 { return padL + (e-lo)/(hi-lo)*innerW }
	yOf := func(c int) float64 { return plotBottom - float64(c)/float64(peak)*innerH }
	for i := range d.Hist.Pass {
		x0, x1 := xOf(d.Hist.Edges[i]), xOf(d.Hist.Edges[i+1])
		for _, s := range []struct {
			class string
			n     int
		}{{"fail", d.Hist.Fail[i]}, {"pass", d.Hist.Pass[i]}} {
			d.HistBars = append(d.HistBars, svgBar{Class: s.class, Bin: i, Count: s.n, X: x0, Y: yOf(s.n), W: max(x1-x0-1, 0.5), H: plotBottom - yOf(s.n),
				Title: fmt.Sprintf("%s: %d candidates with energy in [%.4g, %.4g)", s.class, s.n, d.Hist.Edges[i], d.Hist.Edges[i+1])})
		}
	}
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		e := lo + f*(hi-lo)
		d.XTicks = append(d.XTicks, svgTick{X: xOf(e), Y: plotBottom + 16, Label: fmt.Sprintf("%.3g", e)})
	}
	for _, f := range []float64{0, 0.5, 1} {
		c := int(math.Round(f * float64(peak)))
		d.YTicks = append(d.YTicks, svgTick{X: padL - 6, Y: yOf(c) + 4, Label: fmt.Sprint(c)})
	}

	picks := Picks(r.Problems)
	slot := innerW / float64(max(len(picks), 1))
	for i, p := range picks {
		x := padL + float64(i)*slot
		top := plotBottom - p.PassRate*innerH
		sp := svgPick{ProblemPick: p, Bar: svgBar{X: x + slot*0.1, Y: top, W: max(slot*0.8, 0.5), H: plotBottom - top},
			CX: x + slot/2, CY: top, Class: "fail"}
		if p.ChosenPass {
			sp.Class = "pass"
			d.PickedPass++
		} else {
			d.PickedFail++
		}
		d.Picks = append(d.Picks, sp)
	}
	for _, f := range []float64{0, 0.5, 1} {
		d.RateTicks = append(d.RateTicks, svgTick{X: padL - 6, Y: plotBottom - f*innerH + 4, Label: fmt.Sprintf("%.1f", f)})
	}
	return htmlReport.Execute(w, d)
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"f": func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.id { font-family: monospace; }
svg { background: #fafafa; border: 1px solid #ddd; }
svg text { font-size: 11px; fill: #444; }
rect.pass { fill: #2e8b57; fill-opacity: 0.55; }
rect.fail { fill: #c0392b; fill-opacity: 0.55; }
rect.rate { fill: #9aa7b8; }
circle.pass { fill: #2e8b57; stroke: #fff; }
circle.fail { fill: #c0392b; stroke: #fff; }
line.axis { stroke: #666; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Input}}<p>Input: <code>{{.Input}}</code></p>{{end}}
<table id="evaluations">
<thead><tr><th>model version</th><th>scope</th><th>n</th><th>problems</th><th>candidates</th><th>baseline pass@1</th><th>oracle pass@n</th><th>CodeT pass@1</th><th>energy pass@1</th><th>verifier pass@1</th><th>verifier − baseline</th><th>verifier − CodeT</th><th>eval id</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr class="evaluation"><td>{{.ModelVersion}}</td><td>{{.Scope}}</td><td>{{.N}}</td><td>{{.Problems}}</td><td>{{.Candidates}}</td><td>{{.Baseline}}</td><td>{{.Oracle}}</td><td class="codet">{{if .HasCodeT}}{{.CodeT}}{{else}}—{{end}}</td><td class="energy">{{if .HasEnergy}}{{.Energy}}{{else}}—{{end}}</td><td>{{.Verifier}}</td><td>{{.Gain}}</td><td class="codet-gain">{{if .HasCodeT}}{{.VerifierMinusCodeT}}{{else}}—{{end}}</td><td class="id">{{.EvalID}}</td></tr>
{{- end}}
</tbody>
</table>
<p>Values are means over problems with 95% bootstrap intervals (resampling problems; one resampling
for every column, so differences are paired). Baseline: a uniformly random drawn candidate; oracle:
any drawn candidate passes; CodeT: a random candidate of the best dual execution agreement groups
on the generated tests (— when the evaluation ran none); energy: the code-only model's min-energy
candidate (— when none ran); verifier: the min-energy candidate of the evaluated model (ties to the
smaller candidate id) passes.</p>
{{if .HasPlots}}
<h2>Energy of PASS and FAIL candidates{{if .Plotted}} ({{.Plotted}}){{end}}</h2>
<p>{{.PassTotal}} PASS (green) and {{.FailTotal}} FAIL (red) candidates in {{len .Hist.Pass}} shared bins; lower energy means the verifier expects a PASS.</p>
<svg id="energy" xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}">
<line class="axis" x1="{{f .L}}" y1="{{f .Bottom}}" x2="{{f .R}}" y2="{{f .Bottom}}"/>
<line class="axis" x1="{{f .L}}" y1="{{f .T}}" x2="{{f .L}}" y2="{{f .Bottom}}"/>
{{- range .HistBars}}
<rect class="{{.Class}}" data-bin="{{.Bin}}" data-count="{{.Count}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}"><title>{{.Title}}</title></rect>
{{- end}}
{{- range .XTicks}}
<text x="{{f .X}}" y="{{f .Y}}" text-anchor="middle">{{.Label}}</text>
{{- end}}
{{- range .YTicks}}
<text x="{{f .X}}" y="{{f .Y}}" text-anchor="end">{{.Label}}</text>
{{- end}}
<text x="{{f .R}}" y="{{f .T}}" text-anchor="end" dy="10">energy →</text>
</svg>

<h2>Per-problem pass rate and the verifier's pick{{if .Plotted}} ({{.Plotted}}){{end}}</h2>
<p>One bar per problem: the fraction of its drawn candidates that pass, highest first. The dot is the
candidate the verifier chose: green when it passes ({{.PickedPass}} problems), red when it fails
({{.PickedFail}}).</p>
<svg id="picks" xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}">
<line class="axis" x1="{{f .L}}" y1="{{f .Bottom}}" x2="{{f .R}}" y2="{{f .Bottom}}"/>
<line class="axis" x1="{{f .L}}" y1="{{f .T}}" x2="{{f .L}}" y2="{{f .Bottom}}"/>
{{- range .Picks}}
<g class="problem" data-problem="{{.ProblemID}}" data-rate="{{.PassRate}}">
<rect class="rate" x="{{f .Bar.X}}" y="{{f .Bar.Y}}" width="{{f .Bar.W}}" height="{{f .Bar.H}}"/>
<circle class="{{.Class}}" cx="{{f .CX}}" cy="{{f .CY}}" r="4"><title>{{.ProblemID}}: pass rate {{printf "%.3f" .PassRate}} of {{.Candidates}}; chose {{.Chosen}} (energy {{printf "%.4f" .ChosenEnergy}}, {{.Class}})</title></circle>
</g>
{{- end}}
{{- range .RateTicks}}
<text x="{{f .X}}" y="{{f .Y}}" text-anchor="end">{{.Label}}</text>
{{- end}}
<text x="{{f .R}}" y="{{f .T}}" text-anchor="end" dy="10">problems, by pass rate →</text>
</svg>
{{end}}
</body>
</html>
`))
