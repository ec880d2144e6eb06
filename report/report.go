// Package report renders the pass-rate report: one self-contained HTML page (inline SVG and CSS, no
// script, nothing fetched) of what the verdicts say per model and per day, and of the newest
// evaluated verifier. It is pure rendering over plain values; the caller reads them from storage.
package report

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"

	"github.com/codeverify/codeverify/processors/passk"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/report/chart"
)

// Tally counts the verdicts of one problem that share a day, a source, a label and a failure kind.
type Tally struct {
	Benchmark, Split, Model, ProblemID string
	Day                                string // execution date, YYYY-MM-DD
	Source                             string // the request id without its problem id (replay:MODEL, campaign/NAME/ROUND)
	Pass                               bool
	FailureKind                        string
	Count                              int
}

// Candidate is one candidate of an evaluation: its label and the verifier's energy.
type Candidate struct {
	ProblemID, CandidateID string
	Pass                   bool
	Energy                 float32
}

// Page is what the report shows.
type Page struct {
	Title   string
	Tallies []Tally
	// The newest evaluation: its model version, scope and candidates (none: no verifier section).
	EvalVersion, EvalScope string
	Eval                   []Candidate
	Bins                   int // energy histogram bins (default 20)
}

// MaxK is the largest k of the pass@k curves.
const MaxK = 100

// GroupRow is one (benchmark, split, model) of the summary table.
type GroupRow struct {
	Name                         string
	Problems, Candidates, Passed int
	PassRate                     float64
	PassAt                       []passk.Score // k = 1 … MaxK
}

// group is one (benchmark, split, model): per problem, samples n and passes c.
type group struct {
	name     string
	problems map[string][2]int
	kinds    map[string]int
	days     map[string][2]int
}

func groupName(t Tally) string { return fmt.Sprintf("%s (%s/%s)", t.Model, t.Benchmark, t.Split) }

func dayKey(t Tally) string {
	if t.Source == "" {
		return t.Day
	}
	return t.Day + " · " + t.Source
}

// groups sums the tallies per (benchmark, split, model), in name order.
func groups(ts []Tally) []*group {
	byName := map[string]*group{}
	for _, t := range ts {
		name := groupName(t)
		g := byName[name]
		if g == nil {
			g = &group{name: name, problems: map[string][2]int{}, kinds: map[string]int{}, days: map[string][2]int{}}
			byName[name] = g
		}
		pass := 0
		if t.Pass {
			pass = t.Count
		} else {
			g.kinds[t.FailureKind] += t.Count
		}
		nc, d := g.problems[t.ProblemID], g.days[dayKey(t)]
		g.problems[t.ProblemID] = [2]int{nc[0] + t.Count, nc[1] + pass}
		g.days[dayKey(t)] = [2]int{d[0] + t.Count, d[1] + pass}
	}
	return slices.SortedFunc(maps.Values(byName), func(a, b *group) int { return cmp.Compare(a.name, b.name) })
}

// Summary gives each (benchmark, split, model) its totals and its pass@k for k = 1 … MaxK.
func Summary(ts []Tally) []GroupRow {
	ks := make([]int, MaxK)
	for i := range ks {
		ks[i] = i + 1
	}
	var out []GroupRow
	for _, g := range groups(ts) {
		r := GroupRow{Name: g.name, Problems: len(g.problems), PassAt: passk.Summary(g.problems, ks)}
		for _, nc := range g.problems {
			r.Candidates += nc[0]
			r.Passed += nc[1]
		}
		r.PassRate = float64(r.Passed) / float64(max(r.Candidates, 1))
		out = append(out, r)
	}
	return out
}

// EvalProblems groups an evaluation's candidates by problem, keeping their order.
func EvalProblems(cands []Candidate) []reranker.ProblemResult {
	var out []reranker.ProblemResult
	at := map[string]int{}
	for _, c := range cands {
		i, ok := at[c.ProblemID]
		if !ok {
			i = len(out)
			at[c.ProblemID] = i
			out = append(out, reranker.ProblemResult{ProblemID: c.ProblemID})
		}
		p := &out[i]
		p.IDs, p.Pass, p.Energy = append(p.IDs, c.CandidateID), append(p.Pass, c.Pass), append(p.Energy, c.Energy)
	}
	return out
}

// Charts builds the page's charts from the tallies: pass@k curves, the distribution of per-problem
// pass rates, failure kinds and pass rate per day.
func Charts(ts []Tally) (passAtK chart.Lines, rates chart.Histogram, kinds chart.Bars, daily chart.Bars) {
	gs, rows := groups(ts), Summary(ts)
	passAtK = chart.Lines{ID: "pass-at-k", XLabel: "k (samples drawn per problem)", YLabel: "pass@k (unbiased, mean over problems)", YMin: 0, YMax: 1}
	for k := 1; k <= MaxK; k++ {
		passAtK.X = append(passAtK.X, float64(k))
	}
	rates = chart.Histogram{ID: "problem-pass-rates", XLabel: "pass rate of a problem's candidates", YLabel: "problems"}
	for i := 0; i <= 10; i++ {
		rates.Edges = append(rates.Edges, float64(i)/10)
	}
	kinds = chart.Bars{ID: "failure-kinds", XLabel: "model", YLabel: "share of candidates", YMax: 1, Stacked: true}
	daily = chart.Bars{ID: "pass-rate-by-day", XLabel: "day of execution · source", YLabel: "pass rate", YMax: 1}
	kindTotals, dayKeys := map[string]int{}, map[string]bool{}
	for i, g := range gs {
		s := chart.Series{Name: g.name}
		for _, sc := range rows[i].PassAt {
			s.Values = append(s.Values, sc.PassAtK)
			s.Titles = append(s.Titles, fmt.Sprintf("%s: pass@%d = %.3f over %d problems", g.name, sc.K, sc.PassAtK, sc.Problems))
		}
		passAtK.Series = append(passAtK.Series, s)

		h := chart.Series{Name: g.name, Values: make([]float64, 10)}
		for _, nc := range g.problems {
			if nc[0] == 0 {
				continue // no candidates (tallies of count 0): no pass rate to place
			}
			h.Values[min(9, int(10*float64(nc[1])/float64(nc[0])))]++
		}
		rates.Series = append(rates.Series, h)
		kinds.Categories = append(kinds.Categories, g.name)
		for k, n := range g.kinds {
			kindTotals[k] += n
		}
		for d := range g.days {
			dayKeys[d] = true
		}
	}
	// Failure kinds, most frequent first: each bar is a model's failures, cut by kind.
	for _, k := range slices.SortedFunc(maps.Keys(kindTotals), func(a, b string) int { return cmp.Or(kindTotals[b]-kindTotals[a], cmp.Compare(a, b)) }) {
		s := chart.Series{Name: k}
		for i, g := range gs {
			s.Values = append(s.Values, float64(g.kinds[k])/float64(max(rows[i].Candidates, 1)))
			s.Titles = append(s.Titles, fmt.Sprintf("%s: %d of %d candidates fail with %s", g.name, g.kinds[k], rows[i].Candidates, k))
		}
		kinds.Series = append(kinds.Series, s)
	}
	daily.Categories = slices.Sorted(maps.Keys(dayKeys))
	for _, g := range gs {
		s := chart.Series{Name: g.name}
		for _, d := range daily.Categories {
			nc, ok := g.days[d]
			s.Values = append(s.Values, math.NaN())
			if ok {
				s.Values[len(s.Values)-1] = float64(nc[1]) / float64(nc[0])
			}
			s.Titles = append(s.Titles, fmt.Sprintf("%s, %s: %d of %d pass", g.name, d, nc[1], nc[0]))
		}
		daily.Series = append(daily.Series, s)
	}
	return passAtK, rates, kinds, daily
}

type pageData struct {
	Page
	Rows                               []GroupRow
	PassAtK, Rates, Kinds, Daily       template.HTML
	Energy, Reliability, Picks         template.HTML
	EvalProblems, PassTotal, FailTotal int
}

// pct prints a fraction as a percentage, "—" when undefined.
func pct(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

// Write renders p as one self-contained HTML page.
func Write(w io.Writer, p Page) error {
	if p.Bins <= 0 {
		p.Bins = 20
	}
	d := pageData{Page: p, Rows: Summary(p.Tallies)}
	passAtK, rates, kinds, daily := Charts(p.Tallies)
	d.PassAtK, d.Rates, d.Kinds, d.Daily = passAtK.SVG(), rates.SVG(), kinds.SVG(), daily.SVG()
	if problems := EvalProblems(p.Eval); len(problems) > 0 {
		h := reranker.EnergyHistogram(problems, p.Bins)
		for i := range h.Pass {
			d.PassTotal += h.Pass[i]
			d.FailTotal += h.Fail[i]
		}
		d.EvalProblems = len(problems)
		d.Energy = reranker.EnergyChart("eval-energy", h).SVG()
		// Half as many bins: a pass rate needs more candidates per bin than a count does.
		d.Reliability = reranker.ReliabilityChart("eval-reliability", reranker.EnergyHistogram(problems, max(p.Bins/2, 1))).SVG()
		d.Picks = reranker.PicksChart("eval-picks", reranker.Picks(problems)).SVG()
	}
	return page.Execute(w, d)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": pct,
	"at":  func(s []passk.Score, k int) float64 { return s[k-1].PassAtK },
}).Parse(chart.PageHead + `{{template "page-head" .}}
{{if not .Rows}}<p>No verdicts stored yet.</p>{{else}}
<div class="scroll"><table id="models">
<thead><tr><th>model (benchmark/split)</th><th>problems</th><th>candidates</th><th>pass rate</th><th>pass@1</th><th>pass@10</th><th>pass@100</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr class="model"><td>{{.Name}}</td><td>{{.Problems}}</td><td>{{.Candidates}}</td><td>{{pct .PassRate}}</td><td>{{pct (at .PassAt 1)}}</td><td>{{pct (at .PassAt 10)}}</td><td>{{pct (at .PassAt 100)}}</td></tr>
{{- end}}
</tbody>
</table></div>
<p>pass@k is the unbiased estimator 1 − C(n−c, k)/C(n, k) from each problem's n samples of which c
pass, averaged over the problems with at least k samples (— when there are none).</p>

<h2>pass@k</h2>
{{.PassAtK}}
<h2>Per-problem pass rate</h2>
<p>How many problems have which share of passing candidates, in tenths (the last bin includes 1).</p>
{{.Rates}}
<h2>Failure kinds</h2>
<p>Each bar is a model's failing candidates as a share of all its candidates, cut by failure kind.</p>
{{.Kinds}}
<h2>Pass rate by day</h2>
<p>Candidates executed on each day, by the source of their requests (a replay, a campaign round).</p>
{{.Daily}}
{{end}}
{{if .EvalProblems}}
<h2>Newest verifier: {{.EvalVersion}}</h2>
<p>Evaluation scope: {{.EvalScope}}; {{.EvalProblems}} problems, {{.PassTotal}} PASS and {{.FailTotal}} FAIL candidates.</p>
<h3>Energy of PASS and FAIL candidates</h3>
{{.Energy}}
<h3>Reliability: observed pass rate per energy bin</h3>
<p>For a useful verifier the pass rate falls as the energy grows.</p>
{{.Reliability}}
<h3>Per-problem pass rate and the verifier's pick</h3>
{{.Picks}}
{{end}}
</body>
</html>
`))
