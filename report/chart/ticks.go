package chart

import (
	"math"
	"strconv"
)

// Step is a round distance (1, 2 or 5 × 10^k) that cuts span into at most about n intervals.
func Step(span float64, n int) float64 {
	if !(span > 0) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// Ticks are the multiples of Step(hi-lo, n) that lie in [lo, hi].
func Ticks(lo, hi float64, n int) []float64 {
	step := Step(hi-lo, n)
	eps := step * 1e-9
	var out []float64
	for i := math.Ceil((lo - eps) / step); i*step <= hi+eps; i++ {
		out = append(out, i*step)
	}
	return out
}

// NiceMax rounds hi up to a multiple of Step(hi, n), so an axis from 0 ends on a tick.
func NiceMax(hi float64, n int) float64 {
	if !(hi > 0) {
		return 1
	}
	step := Step(hi, n)
	return math.Ceil(hi/step-1e-9) * step
}

// Label formats a tick with as many decimals as its step needs: 0.2 steps print 0.4, not 0.4000001.
func Label(v, step float64) string {
	dec := 0
	if step > 0 && step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if f, _ := strconv.ParseFloat(s, 64); f == 0 {
		return strconv.FormatFloat(0, 'f', dec, 64) // never "-0"
	}
	return s
}
