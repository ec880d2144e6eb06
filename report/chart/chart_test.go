package chart

import (
	"math"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestTicksAreRound(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for range 2000 {
		lo := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.Intn(8)-3))
		hi := lo + rng.Float64()*math.Pow(10, float64(rng.Intn(8)-3))
		n := 2 + rng.Intn(8)
		step := Step(hi-lo, n)
		mant := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9))
		if math.Abs(mant-1) > 1e-6 && math.Abs(mant-2) > 1e-6 && math.Abs(mant-5) > 1e-6 {
			t.Fatalf("Step(%g, %d) = %g: not 1, 2 or 5 × 10^k", hi-lo, n, step)
		}
		ticks := Ticks(lo, hi, n)
		if (hi-lo)/step > float64(n)+1e-9 || len(ticks) > n+1 {
			t.Fatalf("Ticks(%g, %g, %d): %d ticks of step %g", lo, hi, n, len(ticks), step)
		}
		for _, v := range ticks {
			if v < lo-step*1e-6 || v > hi+step*1e-6 || math.Abs(v/step-math.Round(v/step)) > 1e-6 {
				t.Fatalf("Ticks(%g, %g, %d): %g is outside or not a multiple of %g", lo, hi, n, v, step)
			}
			if got, _ := strconv.ParseFloat(Label(v, step), 64); math.Abs(got-v) > step*1e-6 {
				t.Fatalf("Label(%g, %g) = %q", v, step, Label(v, step))
			}
		}
	}
	// An energy axis over [0.512, 0.888] gets round ticks (0.6, 0.7, 0.8), not its bounds.
	if got := Ticks(0.512, 0.888, 6); len(got) != 3 || Label(got[0], Step(0.376, 6)) != "0.6" || Label(got[2], Step(0.376, 6)) != "0.8" {
		t.Errorf("ticks over [0.512, 0.888]: %v", got)
	}
	if NiceMax(87, 5) != 100 || NiceMax(0, 5) != 1 || Label(0.30000000000000004, 0.1) != "0.3" || Label(-1e-17, 0.5) != "0.0" {
		t.Errorf("NiceMax(87) = %g, Label(0.3…) = %q, Label(-0) = %q", NiceMax(87, 5), Label(0.30000000000000004, 0.1), Label(-1e-17, 0.5))
	}
}

var rectRe = regexp.MustCompile(`<rect class="bar ([^"]+)" data-series="([^"]*)" data-index="(\d+)" data-value="([^"]+)" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"`)

type rect struct {
	class, series string
	index         int
	value         float64
	x, y, w, h    float64
}

func rects(t *testing.T, svg string) []rect {
	t.Helper()
	var out []rect
	for _, m := range rectRe.FindAllStringSubmatch(svg, -1) {
		f := make([]float64, 5)
		for i, s := range m[4:9] {
			f[i], _ = strconv.ParseFloat(s, 64)
		}
		i, _ := strconv.Atoi(m[3])
		out = append(out, rect{m[1], m[2], i, f[0], f[1], f[2], f[3], f[4]})
	}
	return out
}

// chrome checks what every chart owes its reader: both axis labels and a legend naming each series.
func chrome(t *testing.T, svg, xlabel, ylabel string, names ...string) {
	t.Helper()
	if !strings.Contains(svg, `class="axis-label x"`) || !strings.Contains(svg, ">"+xlabel+"</text>") ||
		!strings.Contains(svg, `class="axis-label y"`) || !strings.Contains(svg, ">"+ylabel+"</text>") {
		t.Errorf("axis labels %q, %q missing", xlabel, ylabel)
	}
	legend := svg[strings.Index(svg, `<g class="legend">`)+1:]
	legend = legend[:strings.Index(legend, "</g>\n")]
	for _, n := range names {
		if !strings.Contains(legend, ">"+n+"</text>") {
			t.Errorf("legend lacks %q: %s", n, legend)
		}
	}
}

func TestHistogramSeriesSideBySide(t *testing.T) {
	h := Histogram{ID: "e", XLabel: "energy", YLabel: "candidates", Edges: []float64{-1, 0, 1, 2},
		Series: []Series{{Name: "PASS", Class: "pass", Values: []float64{5, 30, 0}}, {Name: "FAIL", Class: "fail", Values: []float64{40, 2, 7}}}}
	svg := string(h.SVG())
	chrome(t, svg, "energy", "candidates", "PASS", "FAIL")
	rs := rects(t, svg)
	if len(rs) != 6 {
		t.Fatalf("%d bars, want 6", len(rs))
	}
	bottom := rs[0].y + rs[0].h
	for i, a := range rs {
		if math.Abs(a.y+a.h-bottom) > 0.2 {
			t.Errorf("bar %d does not stand on the axis", i)
		}
		for _, b := range rs[i+1:] {
			if a.x < b.x+b.w && b.x < a.x+a.w {
				t.Errorf("bars %+v and %+v overlap horizontally", a, b)
			}
		}
	}
	// Heights are proportional: 40 is the tallest, 2 is a twentieth of it.
	if math.Abs(rs[3].h/rs[1].h-2.0/40) > 0.01 || rs[4].h != 0 {
		t.Errorf("heights %v / %v, want 2/40; an empty bin %v, want 0", rs[3].h, rs[1].h, rs[4].h)
	}
}

func TestStackedBars(t *testing.T) {
	b := Bars{ID: "k", XLabel: "model", YLabel: "share", YMax: 1, Stacked: true, Categories: []string{"a", "b <&>"},
		Series: []Series{{Name: "assertion", Values: []float64{0.5, 0.25}}, {Name: "syntax", Values: []float64{0.25, 0}}}}
	svg := string(b.SVG())
	chrome(t, svg, "model", "share", "assertion", "syntax")
	if strings.Contains(svg, "b <&>") || !strings.Contains(svg, "b &lt;&amp;&gt;") {
		t.Error("a category label is not escaped")
	}
	rs := rects(t, svg)
	if len(rs) != 4 || rs[0].class != "s0" || rs[1].class != "s1" {
		t.Fatalf("bars %+v", rs)
	}
	// The second segment sits on the first; together they reach 0.75 of the axis.
	if math.Abs(rs[1].y+rs[1].h-rs[0].y) > 0.2 || math.Abs((rs[0].h+rs[1].h)/rs[0].h-1.5) > 0.01 {
		t.Errorf("segments %+v %+v do not stack", rs[0], rs[1])
	}
	// Long category labels turn instead of running into each other.
	many := Bars{ID: "d", XLabel: "day", YLabel: "rate", YMax: 1, Series: []Series{{Name: "m", Values: make([]float64, 12)}}}
	for i := range 12 {
		many.Categories = append(many.Categories, "2026-11-2"+strconv.Itoa(i%10)+" · round-"+strconv.Itoa(i))
	}
	if !strings.Contains(string(many.SVG()), `transform="rotate(-45`) {
		t.Error("12 long category labels are not turned")
	}
}

func TestLinesGapAtNaN(t *testing.T) {
	l := Lines{ID: "p", XLabel: "k", YLabel: "pass@k", YMax: 1, X: []float64{1, 2, 3, 4, 5},
		Series: []Series{{Name: "m", Values: []float64{0.1, 0.2, math.NaN(), 0.4, 0.5}}}}
	svg := string(l.SVG())
	chrome(t, svg, "k", "pass@k", "m")
	if n := strings.Count(svg, "<polyline"); n != 2 || strings.Count(svg, `<circle class="point`) != 4 {
		t.Errorf("%d line segments, want 2 around the gap", n)
	}
}

func TestRankedRows(t *testing.T) {
	long := strings.Repeat("x", 40)
	r := Ranked{ID: "r", XLabel: "pass rate", YLabel: "problem", XMax: 1, Bar: Series{Name: "pass rate", Class: "rate"},
		Markers: []Series{{Name: "pick passes", Class: "pass"}},
		Rows:    []Row{{Label: "HumanEval/1", Value: 1, Marker: "pass"}, {Label: long, Value: 0.5, Title: long}}}
	svg := string(r.SVG())
	chrome(t, svg, "pass rate", "problem", "pass rate", "pick passes")
	if strings.Count(svg, `<g class="row"`) != 2 || !strings.Contains(svg, ">HumanEval/1</text>") || !strings.Contains(svg, "<title>"+long+"</title>") ||
		!strings.Contains(svg, ">"+long[:27]+"…</text>") || strings.Count(svg, `<circle class="marker pass"`) != 1 {
		t.Errorf("rows:\n%s", svg)
	}
	// The chart grows with its rows.
	r.Rows = append(r.Rows, make([]Row, 30)...)
	tall := string(r.SVG())
	h := func(s string) float64 {
		v, _ := strconv.ParseFloat(regexp.MustCompile(`viewBox="0 0 760 (\d+)"`).FindStringSubmatch(s)[1], 64)
		return v
	}
	if h(tall)-h(svg) != 30*rowHeight {
		t.Errorf("heights %v → %v for 30 more rows", h(svg), h(tall))
	}
}
