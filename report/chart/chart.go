// Package chart draws the inline SVG charts of codeverify's HTML pages: axes with labels and round
// ticks, a legend box, bars of several series side by side (or stacked) so that none hides
// another, lines, and one-row-per-item charts whose rows carry readable labels. Every chart scales
// to its container through its viewBox; CSS holds the colours. Pure rendering: no I/O, no script.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"unicode/utf8"
)

// Width is every chart's viewBox width; the page scales it down to narrower screens.
const Width = 760.0

// Series is one named set of values drawn in one colour.
type Series struct {
	Name   string
	Class  string    // CSS colour class (pass, fail, rate); empty: the palette colour of its position
	Values []float64 // one per bin, category or x; NaN leaves a gap
	Titles []string  // optional hover text per value
}

// Histogram draws counts over numeric bins: bin i is [Edges[i], Edges[i+1]). The series of a bin
// stand side by side inside it, so a small count is never hidden behind a large one.
type Histogram struct {
	ID, XLabel, YLabel string
	Edges              []float64
	Series             []Series
}

// Bars draws values over named categories, side by side or Stacked.
type Bars struct {
	ID, XLabel, YLabel string
	Categories         []string
	Series             []Series
	Stacked            bool
	YMax               float64 // the axis top; 0: rounded up from the data
}

// Lines draws each series as a line over the shared X values (NaN values leave gaps), with a
// marker per point when there are few.
type Lines struct {
	ID, XLabel, YLabel string
	X                  []float64
	Series             []Series
	YMin, YMax         float64 // both 0: from 0 to the data's rounded-up maximum
}

// Row is one labelled item of a Ranked chart.
type Row struct {
	Label  string
	Value  float64
	Marker string // CSS class of a dot at the bar's end (e.g. pass or fail); empty: none
	Title  string
}

// Ranked draws one horizontal bar per row, the row's label beside it, in the given order; the
// chart grows in height with its rows.
type Ranked struct {
	ID, XLabel, YLabel string
	Rows               []Row
	XMax               float64  // the axis end; 0: rounded up from the data
	Bar                Series   // name and class of the bars (its Values are unused)
	Markers            []Series // legend entries of the marker classes
}

// Geometry, in viewBox units.
const (
	padLeft, padRight, padBottom = 64.0, 16.0, 44.0
	plotHeight                   = 220.0
	charW                        = 6.2 // average width of one 11 px character
	legendRow                    = 18.0
	rowHeight                    = 16.0
)

type svg struct {
	b                        strings.Builder
	left, top, right, bottom float64
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func textWidth(s string) float64 { return float64(utf8.RuneCountInString(s)) * charW }

func classOf(s Series, i int) string {
	if s.Class != "" {
		return s.Class
	}
	return fmt.Sprintf("s%d", i%8)
}

func titleOf(s Series, i int) string {
	if i < len(s.Titles) {
		return s.Titles[i]
	}
	return fmt.Sprintf("%s: %.4g", s.Name, s.Values[i])
}

// legendLayout places the legend entries in rows across the plot width; it returns each entry's
// position and the height the legend takes.
func legendLayout(series []Series, left, right float64) (xs, ys []float64, height float64) {
	x, y := left+8, 0.0
	for _, s := range series {
		w := 16 + textWidth(s.Name) + 14
		if x+w > right && x > left+8 {
			x, y = left+8, y+legendRow
		}
		xs, ys = append(xs, x), append(ys, y)
		x += w
	}
	if len(series) == 0 {
		return nil, nil, 0
	}
	return xs, ys, y + legendRow + 8
}

// begin opens the SVG with its legend box on top and returns the drawing with its plot area set:
// plot is the plot area's height, bottom the room under it for tick labels and the x label.
func begin(id, ylabel string, legend []Series, left, plot, bottom float64) *svg {
	xs, ys, lh := legendLayout(legend, left, Width-padRight)
	s := &svg{left: left, right: Width - padRight, top: 10 + lh}
	s.bottom = s.top + plot
	h := s.bottom + bottom
	fmt.Fprintf(&s.b, `<svg class="chart" id="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" preserveAspectRatio="xMinYMin meet" role="img" aria-label="%s">`+"\n",
		esc(id), Width, h, esc(ylabel))
	if len(legend) > 0 {
		w := 0.0
		for i, e := range legend {
			w = max(w, xs[i]+16+textWidth(e.Name)+6-left)
		}
		fmt.Fprintf(&s.b, `<g class="legend"><rect class="legend-box" x="%.1f" y="4" width="%.1f" height="%.1f"/>`, left, w, lh-4)
		for i, e := range legend {
			fmt.Fprintf(&s.b, `<g class="legend-entry"><rect class="%s" x="%.1f" y="%.1f" width="11" height="11"/><text x="%.1f" y="%.1f">%s</text></g>`,
				esc(classOf(e, i)), xs[i], 10+ys[i], xs[i]+16, 19.5+ys[i], esc(e.Name))
		}
		s.b.WriteString("</g>\n")
	}
	return s
}

// axes draws both axis lines and their labels; the y label is turned to run along its axis.
func (s *svg) axes(xlabel, ylabel string, xlabelY float64) {
	fmt.Fprintf(&s.b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n",
		s.left, s.bottom, s.right, s.bottom, s.left, s.top, s.left, s.bottom)
	fmt.Fprintf(&s.b, `<text class="axis-label x" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (s.left+s.right)/2, xlabelY, esc(xlabel))
	cy := (s.top + s.bottom) / 2
	fmt.Fprintf(&s.b, `<text class="axis-label y" x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`+"\n", cy, cy, esc(ylabel))
}

// yTicks labels the y axis from lo to hi with round values and light grid lines.
func (s *svg) yTicks(lo, hi float64) func(float64) float64 {
	y := func(v float64) float64 { return s.bottom - (v-lo)/(hi-lo)*(s.bottom-s.top) }
	step := Step(hi-lo, 5)
	s.b.WriteString(`<g class="ticks y">`)
	for _, v := range Ticks(lo, hi, 5) {
		fmt.Fprintf(&s.b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			s.left, y(v), s.right, y(v), s.left-6, y(v)+4, Label(v, step))
	}
	s.b.WriteString("</g>\n")
	return y
}

// xTicks labels a numeric x axis from lo to hi with round values.
func (s *svg) xTicks(lo, hi float64) func(float64) float64 {
	x := func(v float64) float64 { return s.left + (v-lo)/(hi-lo)*(s.right-s.left) }
	step := Step(hi-lo, 8)
	s.b.WriteString(`<g class="ticks x">`)
	for _, v := range Ticks(lo, hi, 8) {
		fmt.Fprintf(&s.b, `<line class="tick" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
			x(v), s.bottom, x(v), s.bottom+4, x(v), s.bottom+16, Label(v, step))
	}
	s.b.WriteString("</g>\n")
	return x
}

func (s *svg) bar(class, series string, i int, v, x, y, w, h float64, title string) {
	fmt.Fprintf(&s.b, `<rect class="bar %s" data-series="%s" data-index="%d" data-value="%g" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`+"\n",
		esc(class), esc(series), i, v, x, y, max(w, 0.5), max(h, 0), esc(title))
}

func (s *svg) end() template.HTML {
	s.b.WriteString("</svg>")
	return template.HTML(s.b.String())
}

// dataMax is the largest finite value of the series (of their sums per index when stacked).
func dataMax(series []Series, stacked bool) float64 {
	m := 0.0
	for i := 0; ; i++ {
		sum, any := 0.0, false
		for _, s := range series {
			if i < len(s.Values) && !math.IsNaN(s.Values[i]) {
				any = true
				if stacked {
					sum += s.Values[i]
				} else {
					m = max(m, s.Values[i])
				}
			}
		}
		if !any {
			return max(m, sum)
		}
		m = max(m, sum)
	}
}

// SVG renders the histogram.
func (c Histogram) SVG() template.HTML {
	s := begin(c.ID, c.YLabel, c.Series, padLeft, plotHeight, padBottom)
	lo, hi := 0.0, 1.0
	if len(c.Edges) > 1 {
		lo, hi = c.Edges[0], c.Edges[len(c.Edges)-1]
	}
	y := s.yTicks(0, NiceMax(dataMax(c.Series, false), 5))
	x := s.xTicks(lo, hi)
	for b := 0; b+1 < len(c.Edges); b++ {
		x0, x1 := x(c.Edges[b])+1, x(c.Edges[b+1])-1
		w := (x1 - x0) / float64(max(len(c.Series), 1))
		for i, se := range c.Series {
			if b < len(se.Values) {
				v := se.Values[b]
				s.bar(classOf(se, i), se.Name, b, v, x0+float64(i)*w, y(v), w, s.bottom-y(v), titleOf(se, b))
			}
		}
	}
	s.axes(c.XLabel, c.YLabel, s.bottom+36)
	return s.end()
}

// SVG renders the bar chart. Category labels turn when they do not fit under their bars.
func (c Bars) SVG() template.HTML {
	slot := (Width - padRight - padLeft) / float64(max(len(c.Categories), 1))
	labels := make([]string, len(c.Categories))
	longest := 0.0
	for i, l := range c.Categories {
		if textWidth(l) > slot-6 && utf8.RuneCountInString(l) > 24 {
			l = string([]rune(l)[:23]) + "…"
		}
		labels[i] = l
		longest = max(longest, textWidth(l))
	}
	turned := longest > slot-6
	bottom := padBottom
	if turned {
		bottom = 30 + longest*0.72
	}
	s := begin(c.ID, c.YLabel, c.Series, padLeft, plotHeight, bottom)
	top := c.YMax
	if top <= 0 {
		top = NiceMax(dataMax(c.Series, c.Stacked), 5)
	}
	y := s.yTicks(0, top)
	s.b.WriteString(`<g class="ticks x">`)
	for i, l := range labels {
		cx := s.left + (float64(i)+0.5)*slot
		if turned {
			fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-45 %.1f %.1f)">%s<title>%s</title></text>`,
				cx, s.bottom+12, cx, s.bottom+12, esc(l), esc(c.Categories[i]))
		} else {
			fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, cx, s.bottom+16, esc(l))
		}
	}
	s.b.WriteString("</g>\n")
	for k := range c.Categories {
		x0, base := s.left+float64(k)*slot+slot*0.1, 0.0
		w := slot * 0.8
		if !c.Stacked {
			w /= float64(max(len(c.Series), 1))
		}
		for i, se := range c.Series {
			if k >= len(se.Values) || math.IsNaN(se.Values[k]) {
				continue
			}
			v := se.Values[k]
			if c.Stacked {
				s.bar(classOf(se, i), se.Name, k, v, x0, y(base+v), w, y(base)-y(base+v), titleOf(se, k))
				base += v
			} else {
				s.bar(classOf(se, i), se.Name, k, v, x0+float64(i)*w, y(v), w, s.bottom-y(v), titleOf(se, k))
			}
		}
	}
	s.axes(c.XLabel, c.YLabel, s.bottom+bottom-8)
	return s.end()
}

// SVG renders the line chart.
func (c Lines) SVG() template.HTML {
	s := begin(c.ID, c.YLabel, c.Series, padLeft, plotHeight, padBottom)
	lo, hi := c.YMin, c.YMax
	if lo == 0 && hi == 0 {
		hi = NiceMax(dataMax(c.Series, false), 5)
	}
	xlo, xhi := 0.0, 1.0
	if len(c.X) > 0 {
		xlo, xhi = c.X[0], c.X[len(c.X)-1]
	}
	if xlo == xhi {
		xlo, xhi = xlo-0.5, xhi+0.5
	}
	y := s.yTicks(lo, hi)
	x := s.xTicks(xlo, xhi)
	for i, se := range c.Series {
		class := classOf(se, i)
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(&s.b, `<polyline class="line %s" data-series="%s" points="%s"/>`+"\n", esc(class), esc(se.Name), strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for j, v := range se.Values {
			if j >= len(c.X) || math.IsNaN(v) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(c.X[j]), y(v)))
			if len(c.X) <= 40 {
				fmt.Fprintf(&s.b, `<circle class="point %s" data-series="%s" data-index="%d" data-value="%g" cx="%.1f" cy="%.1f" r="3.5"><title>%s</title></circle>`+"\n",
					esc(class), esc(se.Name), j, v, x(c.X[j]), y(v), esc(titleOf(se, j)))
			}
		}
		flush()
	}
	s.axes(c.XLabel, c.YLabel, s.bottom+36)
	return s.end()
}

// SVG renders the ranked chart: labels left of the axis, long ones shortened (the full label is
// the row's hover text).
func (c Ranked) SVG() template.HTML {
	labels := make([]string, len(c.Rows))
	longest := 0.0
	for i, r := range c.Rows {
		l := r.Label
		if utf8.RuneCountInString(l) > 28 {
			l = string([]rune(l)[:27]) + "…"
		}
		labels[i] = l
		longest = max(longest, textWidth(l))
	}
	s := begin(c.ID, c.YLabel, append([]Series{c.Bar}, c.Markers...), 30+longest+8, rowHeight*float64(max(len(c.Rows), 1)), padBottom)
	top := c.XMax
	if top <= 0 {
		for _, r := range c.Rows {
			top = max(top, r.Value)
		}
		top = NiceMax(top, 5)
	}
	x := s.xTicks(0, top)
	barClass := classOf(c.Bar, 0)
	for i, r := range c.Rows {
		yc := s.top + (float64(i)+0.5)*rowHeight
		fmt.Fprintf(&s.b, `<g class="row" data-label="%s" data-value="%g"><title>%s</title><text class="row-label" x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			esc(r.Label), r.Value, esc(r.Title), s.left-6, yc+4, esc(labels[i]))
		fmt.Fprintf(&s.b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, esc(barClass), s.left, yc-rowHeight*0.35, max(x(r.Value)-s.left, 0), rowHeight*0.7)
		if r.Marker != "" {
			fmt.Fprintf(&s.b, `<circle class="marker %s" cx="%.1f" cy="%.1f" r="4.5"/>`, esc(r.Marker), x(r.Value), yc)
		}
		s.b.WriteString("</g>\n")
	}
	s.axes(c.XLabel, c.YLabel, s.bottom+36)
	return s.end()
}

// CSS styles a page of charts and tables; pages put it in their style element. A wide table
// scrolls inside its .scroll box instead of widening the page.
const CSS = `body { font: 14px/1.4 system-ui, sans-serif; margin: 1em auto; padding: 0 1em; max-width: 62em; color: #222; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.id { font-family: monospace; }
svg.chart { display: block; width: 100%; max-width: 760px; height: auto; margin: 0.5em 0 1.5em; background: #fff; border: 1px solid #ddd; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #333; }
svg.chart .axis-label { font-weight: 600; }
svg.chart line.axis { stroke: #555; }
svg.chart line.grid { stroke: #eee; }
svg.chart line.tick { stroke: #555; }
svg.chart .legend-box { fill: #fff; stroke: #bbb; }
svg.chart rect.bar { stroke: #fff; stroke-width: 0.5; }
svg.chart polyline.line { fill: none; stroke-width: 2; }
svg.chart circle.point, svg.chart circle.marker { stroke: #fff; stroke-width: 1; }
svg.chart g.row:hover rect.bar { opacity: 0.8; }
.pass { fill: #1a9850; stroke: #1a9850; }
.fail { fill: #d73027; stroke: #d73027; }
.rate { fill: #9aa7b8; stroke: #9aa7b8; }
.s0 { fill: #4c78a8; stroke: #4c78a8; } .s1 { fill: #f58518; stroke: #f58518; }
.s2 { fill: #54a24b; stroke: #54a24b; } .s3 { fill: #b279a2; stroke: #b279a2; }
.s4 { fill: #e45756; stroke: #e45756; } .s5 { fill: #72b7b2; stroke: #72b7b2; }
.s6 { fill: #9d755d; stroke: #9d755d; } .s7 { fill: #bab0ac; stroke: #bab0ac; }`

// PageHead defines the template "page-head": an HTML page's start, with CSS inlined, up to its h1
// (the data needs a Title). Pages parse it with their own body.
const PageHead = `{{define "page-head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
` + CSS + `
</style>
</head>
<body>
<h1>{{.Title}}</h1>{{end}}`
