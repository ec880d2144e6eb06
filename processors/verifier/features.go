package verifier

import (
	"math"
	"slices"

	"github.com/codeverify/codeverify/schemas"
)

// The behaviour features ("A3" of the offline experiment, see trainer/experiments/behaviour-features/README.md), in row
// order. Every one is relative to the request (the other candidates of the same problem and draw),
// so a model trained on them compares candidates rather than memorising problems.
//
// Notation: n candidates; the request's tests are the union of the test ids in its results (a
// result a candidate lacks counts as not passed and as no value); w_t a test's frequency. J is the
// set of shaped tests (GeneratedTestResult.Shaped on any result for the test: `f(...) == y`, the
// asserts whose returned value the executor fingerprints), m = |J|. Candidate i has a value on a
// shaped test t when its fingerprint f_it is neither "" (the call raised, timed out or returned
// something not plain) nor schemas.FingerprintNone (it returned None).
var featureNames = []string{
	// log_score_gap = ln(1 + c_i) − ln(1 + c_max), c_i = g_i · p_i CodeT's score: p_i = Σ_t w_t
	// over the tests i passes, g_i = the candidates (i included) that pass exactly the same tests,
	// c_max = max_k c_k. ≤ 0; 0 for every candidate of the best score, and for all when nobody
	// passes anything.
	"log_score_gap",
	// agree2_major = (1/m) · Σ_{t∈J, i has a value} [cnt_it == top_t], cnt_it = the candidates
	// (i included) with a value on t equal to i's, top_t = the largest cnt_kt on t: the share of
	// shaped tests where i's output is a (possibly tied) majority output.
	"agree2_major",
	// agree2_mean = (1/m) · Σ_{t∈J, i has a value} (cnt_it − 1) / max(n − 1, 1): how many other
	// candidates return what i returns, averaged over the shaped tests.
	"agree2_mean",
}

// Both agree2 features divide by m, not by the tests where i has a value, and are 0 for everyone
// when m = 0 and for a candidate with no value anywhere (it does not load, always raises or always
// returns None). A returned None is no value because stubs (`pass`, empty bodies) return None on
// every input: counted, they would form the largest agreeing cluster and win the vote. They are
// what lets the verifier beat CodeT: outputs agreeing across candidates on the generated tests'
// inputs carry signal even when the generated expected values are wrong.

// FeatureNames names the columns of Features' rows, in order. Names and count are part of a
// model's contract: a model records the names it was trained with.
func FeatureNames() []string { return slices.Clone(featureNames) }

// Features returns one row of behaviour features per candidate of a request, in the request's order
// (see FeatureNames). The rows depend only on the set of candidates: permuting the request, or a
// candidate's results, permutes nothing but the rows. Any request gets finite values.
func Features(request []schemas.Behavior) [][]float32 {
	n := len(request)
	rows := make([][]float32, n)
	if n == 0 {
		return rows
	}
	ct := CodeT(request)
	bestLog := math.Log1p(ct.Groups[0].Score)

	shaped := map[string]bool{}
	for _, b := range request {
		for _, r := range b.Results {
			if r.Shaped {
				shaped[r.TestID] = true
			}
		}
	}
	// Each candidate's value per shaped test (a test listed twice keeps the smallest value, so
	// duplicates cannot depend on order), and per test how many candidates have each value.
	values := make([]map[string]string, n)
	count := map[string]map[string]int{}
	for i, b := range request {
		values[i] = map[string]string{}
		for _, r := range b.Results {
			if !shaped[r.TestID] || r.Fingerprint == "" || r.Fingerprint == schemas.FingerprintNone {
				continue
			}
			if v, ok := values[i][r.TestID]; !ok || r.Fingerprint < v {
				values[i][r.TestID] = r.Fingerprint
			}
		}
		for t, v := range values[i] {
			if count[t] == nil {
				count[t] = map[string]int{}
			}
			count[t][v]++
		}
	}
	top := map[string]int{}
	for t, c := range count {
		for _, k := range c {
			top[t] = max(top[t], k)
		}
	}

	m := float64(len(shaped))
	others := float64(max(n-1, 1))
	for i := range request {
		row := make([]float32, len(featureNames))
		row[0] = float32(math.Log1p(ct.Groups[ct.Group[i]].Score) - bestLog)
		if m > 0 {
			major, agree := 0, 0 // integer sums: the result does not depend on map order
			for t, v := range values[i] {
				c := count[t][v]
				if c == top[t] {
					major++
				}
				agree += c - 1
			}
			row[1] = float32(float64(major) / m)
			row[2] = float32(float64(agree) / others / m)
		}
		rows[i] = row
	}
	return rows
}
