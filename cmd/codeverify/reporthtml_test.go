package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/processors/reranker"
	reportpage "github.com/codeverify/codeverify/report"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
)

// viewport is the narrow browser window both pages must fit.
const viewport = 800

// chromium is the headless browser the page tests render with. It skips the test when none is
// installed, unless CODEVERIFY_REQUIRE_CHROMIUM is set.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CODEVERIFY_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("chromium is required (CODEVERIFY_REQUIRE_CHROMIUM is set): %v", err)
		}
		t.Skip("no chromium on PATH (apt-get install chromium; set CODEVERIFY_REQUIRE_CHROMIUM=1 to fail instead)")
	}
	return path
}

// artifactsDir is where screenshots are kept: $CODEVERIFY_ARTIFACTS_DIR, else the repository's var/.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("CODEVERIFY_ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "var", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// headless runs chromium on a local file with a width of viewport and returns its stdout.
func headless(t *testing.T, browser string, height int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio",
		"--user-data-dir=" + t.TempDir(), fmt.Sprintf("--window-size=%d,%d", viewport, height)}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// measureJS runs in the rendered page and reports its layout as JSON in <pre id="measured">.
const measureJS = `<script>
(function () {
  const W = window.innerWidth, box = e => e.getBoundingClientRect();
  const inScroll = e => e.closest('.scroll') && e.closest('.scroll') !== e;
  const wide = [...document.body.querySelectorAll('*')].filter(e => !inScroll(e) && box(e).right > W + 0.5)
    .map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(box(e).right));
  const charts = [...document.querySelectorAll('svg.chart')].map(s => {
    const text = sel => [...s.querySelectorAll(sel)].map(e => e.textContent.trim()).filter(x => x);
    const bars = [...s.querySelectorAll('rect.bar[data-series]')].map(r => ({series: r.dataset.series, index: r.dataset.index, value: +r.dataset.value, l: box(r).left, r: box(r).right, t: box(r).top, b: box(r).bottom}));
    const rows = [...s.querySelectorAll('g.row text.row-label')].map(e => ({label: e.textContent, top: box(e).top, bottom: box(e).bottom, left: box(e).left}));
    const legend = s.querySelector('g.legend rect.legend-box');
    return {id: s.id, left: box(s).left, right: box(s).right, scale: box(s).width / s.viewBox.baseVal.width,
      xLabel: text('text.axis-label.x'), yLabel: text('text.axis-label.y'), xTicks: text('g.ticks.x text'), yTicks: text('g.ticks.y text'),
      legend: legend ? text('g.legend text') : null, bars: bars, rows: rows,
      lines: s.querySelectorAll('polyline.line').length, points: s.querySelectorAll('circle').length};
  });
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify({width: W, scrollWidth: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight, wide: wide, charts: charts});
  document.body.appendChild(pre);
})();
</script>`

type measuredBar struct {
	Series, Index string
	Value         float64
	L, R, T, B    float64 // the bar's box in the window
}

type measuredChart struct {
	ID                             string
	Left, Right, Scale             float64
	XLabel, YLabel, XTicks, YTicks []string
	Legend                         []string
	Bars                           []measuredBar
	Rows                           []struct {
		Label             string
		Top, Bottom, Left float64
	}
	Lines, Points int
}

type measuredPage struct {
	Width, ScrollWidth, Height int
	Wide                       []string
	Charts                     []measuredChart
}

var measuredRe = regexp.MustCompile(`(?s)<pre id="measured">(.*?)</pre>`)

// render lays page out in chromium at the viewport width, checks what every page owes its reader
// and keeps a full-height screenshot as a build artefact. It returns the layout per chart id.
func render(t *testing.T, browser, page, name string) map[string]measuredChart {
	t.Helper()
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(t.TempDir(), name+"-measured.html")
	if err := os.WriteFile(probe, []byte(strings.Replace(string(src), "</body>", measureJS+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := headless(t, browser, 900, "--dump-dom", "file://"+probe)
	m := measuredRe.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("%s: no measurement in the dumped DOM:\n%.2000s", name, dom)
	}
	var mp measuredPage
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &mp); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if mp.Width != viewport || mp.ScrollWidth > viewport || len(mp.Wide) > 0 {
		t.Errorf("%s: window %d px, page %d px wide; wider than the window: %v", name, mp.Width, mp.ScrollWidth, mp.Wide)
	}
	charts := map[string]measuredChart{}
	for _, c := range mp.Charts {
		charts[c.ID] = c
		if len(c.XLabel) != 1 || len(c.YLabel) != 1 || len(c.XTicks) < 2 || len(c.YTicks) < 2 && len(c.Rows) == 0 { // rows label their own y
			t.Errorf("%s #%s: axis labels x %q y %q, ticks x %q y %q; want one label and ≥ 2 ticks per axis", name, c.ID, c.XLabel, c.YLabel, c.XTicks, c.YTicks)
		}
		if len(c.Legend) == 0 {
			t.Errorf("%s #%s: no legend box", name, c.ID)
		}
		// Drawn nearly at full size (text stays readable) and inside the window.
		if c.Left < 0 || c.Right > viewport || c.Scale < 0.85 {
			t.Errorf("%s #%s: spans %.0f–%.0f px at scale %.2f", name, c.ID, c.Left, c.Right, c.Scale)
		}
		for _, tick := range append(c.XTicks, c.YTicks...) {
			_, frac, _ := strings.Cut(tick, ".")
			if _, err := strconv.ParseFloat(tick, 64); err == nil && len(frac) > 2 { // 0.512 is not a round tick
				t.Errorf("%s #%s: tick %q is not a round number", name, c.ID, tick)
			}
		}
		// Bars never cover each other (stacked ones touch at their edges).
		for i, a := range c.Bars {
			for _, b := range c.Bars[i+1:] {
				if a.B-a.T > 0.5 && b.B-b.T > 0.5 && a.L < b.R-0.5 && b.L < a.R-0.5 && a.T < b.B-0.5 && b.T < a.B-0.5 {
					t.Errorf("%s #%s: bar %s[%s] overlaps bar %s[%s]", name, c.ID, a.Series, a.Index, b.Series, b.Index)
				}
			}
		}
		// Row labels are all there, inside the chart and apart from each other.
		for i, r := range c.Rows {
			if r.Left < c.Left || (i > 0 && r.Top < c.Rows[i-1].Bottom-0.5) || r.Label == "" {
				t.Errorf("%s #%s: row label %q at left %.0f top %.0f overlaps or leaves the chart", name, c.ID, r.Label, r.Left, r.Top)
			}
		}
	}
	shot, err := filepath.Abs(filepath.Join(artifactsDir(t), name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	headless(t, browser, min(mp.Height, 16000), "--screenshot="+shot, "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != viewport {
		t.Fatalf("%s screenshot: %v, %v", name, err, img.Bounds())
	}
	// PASS and FAIL are both visible in their own colours (not blended into a third one).
	seen := map[[3]uint32]int{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, b >> 8}]++
		}
	}
	if pass, fail := seen[[3]uint32{0x1a, 0x98, 0x50}], seen[[3]uint32{0xd7, 0x30, 0x27}]; pass < 200 || fail < 200 {
		t.Errorf("%s screenshot: %d PASS-green and %d FAIL-red pixels, want both drawn", name, pass, fail)
	}
	t.Logf("%s: %d charts, %d px tall; screenshot %s", name, len(charts), mp.Height, shot)
	return charts
}

// reportData stores a realistic history in db: two models answering 40 problems, each problem with
// its own difficulty, on three days by two request sources, with every failure kind; and an
// evaluation of a verifier whose energies separate PASS from FAIL imperfectly.
func reportData(t *testing.T, sink *clickhouse.Sink) []clickhouse.EvalCandidate {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(5))
	kinds := []string{schemas.KindAssertion, schemas.KindAssertion, schemas.KindException, schemas.KindSyntax, schemas.KindTimeout}
	day0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var vs []schemas.Verdict
	for m, model := range []string{"codegen-mono-16b", "deepseek-coder-6.7b"} {
		for p := range 40 {
			problem := fmt.Sprintf("HumanEval/%d", p)
			difficulty := rng.Float64() * rng.Float64() * (1 + float64(m)) // skewed: many hard problems
			for i := range 20 + rng.Intn(100) {
				req := []string{"replay:" + model + ":", "campaign/nightly/1/"}[i%2] + problem
				v := schemas.Verdict{CandidateID: schemas.CandidateID(req, i), RequestID: req, ProblemID: problem, Benchmark: "humaneval",
					Split: "test", Model: model, SampleIndex: int32(i), Label: schemas.Pass, FailureKind: schemas.KindNone,
					ExecutorVersion: "executor-v1", ExecutedAtMs: day0.Add(time.Duration(i%3) * 24 * time.Hour).UnixMilli()}
				if rng.Float64() > min(difficulty, 1) {
					v.Label, v.FailureKind, v.Detail = schemas.Fail, kinds[rng.Intn(len(kinds))], "AssertionError"
				}
				vs = append(vs, v)
			}
		}
	}
	if err := sink.WriteVerdicts(ctx, vs); err != nil {
		t.Fatal(err)
	}
	var cands []clickhouse.EvalCandidate
	for p := range 24 {
		for pos := range 16 {
			pass := rng.Float64() < float64(p%6)/6
			energy := rng.NormFloat64()*0.8 + 0.6
			if pass {
				energy -= 1.2
			}
			cands = append(cands, clickhouse.EvalCandidate{ProblemID: fmt.Sprintf("HumanEval/%d", 100+p), CandidateID: fmt.Sprintf("%016x", rng.Uint64()),
				Position: pos, Pass: pass, Energy: float32(energy)})
		}
	}
	run := clickhouse.EvalRun{EvalID: reranker.EvalID("20261129T070618Z-116272f4", "input", "held-out fold 0 of 5", 16, 1),
		ModelVersion: "20261129T070618Z-116272f4", InputHash: "input", InputName: "samples.jsonl", Scope: "held-out fold 0 of 5", N: 16, Seed: 1}
	if err := sink.WriteEval(ctx, run, cands); err != nil {
		t.Fatal(err)
	}
	return cands
}

// TestReportPagesInChromium renders the report page (codeverify report --html over a database
// written here) and the eval page (over the same evaluation's candidates, read back) in headless
// Chromium at 800 px: every chart has both axis labels, round ticks and a legend, series never
// cover each other, problem labels stay readable, and nothing is wider than the window.
func TestReportPagesInChromium(t *testing.T) {
	browser := chromium(t)
	sink, ch := chtest.Open(t)
	db := ch.Database
	ctx := context.Background()
	written := reportData(t, sink)

	dir := t.TempDir()
	reportHTML := filepath.Join(dir, "report.html")
	if out, err := runCLI(t, "report", "--html", reportHTML, "--clickhouse-db", db); err != nil {
		t.Fatalf("report --html: %v\n%s", err, out)
	}
	charts := render(t, browser, reportHTML, "report")
	for _, id := range []string{"pass-at-k", "problem-pass-rates", "failure-kinds", "pass-rate-by-day", "eval-energy", "eval-reliability", "eval-picks"} {
		if _, ok := charts[id]; !ok {
			t.Errorf("report: no chart #%s (have %v)", id, charts)
		}
	}
	if c := charts["pass-at-k"]; c.Lines != 2 || len(c.Legend) != 2 {
		t.Errorf("pass@k: %d curves, legend %v; want one per model", c.Lines, c.Legend)
	}
	if c := charts["eval-picks"]; len(c.Rows) != 24 || !strings.HasPrefix(c.Rows[0].Label, "HumanEval/") {
		t.Errorf("per-problem chart: %d labelled rows, want 24 problems", len(c.Rows))
	}
	energyCounts := func(c measuredChart) (pass, fail float64) {
		for _, b := range c.Bars {
			if b.Series == "PASS" {
				pass += b.Value
			} else {
				fail += b.Value
			}
		}
		return pass, fail
	}
	wantPass := 0.0
	for _, c := range written {
		if c.Pass {
			wantPass++
		}
	}
	if p, f := energyCounts(charts["eval-energy"]); p != wantPass || p+f != float64(len(written)) {
		t.Errorf("energy histogram: %v PASS + %v FAIL, want %v of %d", p, f, wantPass, len(written))
	}

	// The eval page, over the same candidates as the eval command would draw them.
	run, cands, err := sink.NewestEval(ctx)
	if err != nil || len(cands) != len(written) {
		t.Fatalf("newest evaluation: %d candidates, %v", len(cands), err)
	}
	var pc []reportpage.Candidate
	for _, c := range cands {
		pc = append(pc, reportpage.Candidate{ProblemID: c.ProblemID, CandidateID: c.CandidateID, Pass: c.Pass, Energy: c.Energy})
	}
	problems := reportpage.EvalProblems(pc)
	res, err := reranker.Evaluate(problems, 500, 0.95, 1)
	if err != nil {
		t.Fatal(err)
	}
	evalHTML := filepath.Join(dir, "eval-report.html")
	row := reranker.ReportRow{ModelVersion: run.ModelVersion, EvalID: run.EvalID, Scope: run.Scope, N: run.N, Problems: res.Problems,
		Candidates: len(cands), Baseline: res.Baseline, Oracle: res.Oracle, Verifier: res.Verifier, Gain: res.Gain}
	var page strings.Builder
	if err := reranker.WriteHTML(&page, reranker.Report{Title: "codeverify eval: " + run.ModelVersion, Input: run.InputName,
		Rows: []reranker.ReportRow{row}, Plotted: run.ModelVersion + ", " + run.Scope, Problems: problems}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evalHTML, []byte(page.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	charts = render(t, browser, evalHTML, "eval-report")
	if len(charts) != 2 || len(charts["picks"].Rows) != 24 {
		t.Errorf("eval page: charts %v, want #energy and #picks with 24 problem rows", charts)
	}
	if p, f := energyCounts(charts["energy"]); p != wantPass || p+f != float64(len(written)) {
		t.Errorf("eval page energy histogram: %v PASS + %v FAIL", p, f)
	}
}
