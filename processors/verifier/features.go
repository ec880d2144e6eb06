package verifier

import (
	"math"
	"slices"
	"strings"

	"github.com/codeverify/codeverify/schemas"
)

// The behaviour features, in row order. Every one is relative to the request (the other candidates
// of the same problem and draw), so a model trained on them compares candidates rather than
// memorising problems. T is the request's tests (the union of test ids in its results), f_t a test's
// frequency, F = Σ f_t, n the candidates.
var featureNames = []string{
	"codet_group_share",   // |G| / n, G the candidate's CodeT group (same passed set)
	"codet_log_score",     // ln(1 + score(G)) / ln(1 + n·F); 0 when F = 0
	"codet_log_score_gap", // (ln(1 + best score) − ln(1 + score(G))) / ln(1 + n·F); 0 when F = 0
	"codet_in_best",       // 1 when G has the top score (CodeT would pick from it)
	"pass_freq_share",     // Σ f_t over passed tests / F; 0 when F = 0
	"pass_share",          // passed tests / |T|; 0 when T is empty
	"fingerprint_cluster", // candidates with the same fingerprint vector / n, over tests any candidate fingerprinted; 1 when none
	"majority_output",     // share of fingerprinted tests where the candidate's fingerprint is a most common non-empty one; 0 when none
	"error_share",         // tests with status error / |T|
	"timeout_share",       // tests with status timeout / |T|
	"loads",               // 0 when every test errored (the program likely does not load), else 1; 1 when T is empty
	"log_tests",           // ln(1 + |T|)
}

// FeatureNames names the columns of Features' rows, in order. Names and count are part of a
// model's contract: a model records the names it was trained with.
func FeatureNames() []string { return slices.Clone(featureNames) }

// Features returns one row of behaviour features per candidate of a request, in the request's order
// (see FeatureNames). The rows depend only on the set of candidates: permuting the request permutes
// the rows. A request without tests, with one candidate or where everything errors gets well-defined
// values (no NaN or Inf).
func Features(request []schemas.Behavior) [][]float32 {
	n := len(request)
	rows := make([][]float32, n)
	if n == 0 {
		return rows
	}
	ct := CodeT(request)
	freq := testFrequencies(request)
	tests := len(freq)
	totalFreq := float64(ct.TotalFreq)
	maxLog := math.Log1p(float64(n) * totalFreq)
	bestLog := math.Log1p(ct.Groups[0].Score)

	// Per test, each candidate's fingerprint ("" for none), over the tests any candidate
	// fingerprinted, in sorted test id order so the vectors do not depend on result order.
	fp := make([]map[string]string, n)
	fpTests := map[string]bool{}
	for i, b := range request {
		fp[i] = map[string]string{}
		for _, r := range b.Results {
			if r.Fingerprint != "" {
				fp[i][r.TestID] = r.Fingerprint
				fpTests[r.TestID] = true
			}
		}
	}
	fpOrder := make([]string, 0, len(fpTests))
	for t := range fpTests {
		fpOrder = append(fpOrder, t)
	}
	slices.Sort(fpOrder)
	vectors := map[string]int{}
	vecOf := make([]string, n)
	for i := range request {
		parts := make([]string, len(fpOrder))
		for k, t := range fpOrder {
			parts[k] = fp[i][t]
		}
		vecOf[i] = strings.Join(parts, "\x00")
		vectors[vecOf[i]]++
	}
	// Per fingerprinted test, how many candidates returned each output, and the largest such count.
	outputs := make(map[string]map[string]int, len(fpOrder))
	majority := map[string]int{}
	for _, t := range fpOrder {
		outputs[t] = map[string]int{}
		for i := range request {
			if v := fp[i][t]; v != "" {
				outputs[t][v]++
				majority[t] = max(majority[t], outputs[t][v])
			}
		}
	}

	for i, b := range request {
		g := ct.Groups[ct.Group[i]]
		status := map[string]string{}
		for _, r := range b.Results {
			// A test listed twice keeps its best status, so duplicates cannot depend on order.
			if prev, ok := status[r.TestID]; !ok || statusRank(r.Status) < statusRank(prev) {
				status[r.TestID] = r.Status
			}
		}
		var passed, errs, timeouts int
		for _, s := range status {
			switch s {
			case schemas.TestPass:
				passed++
			case schemas.TestError:
				errs++
			case schemas.TestTimeout:
				timeouts++
			}
		}
		row := make([]float32, len(featureNames))
		row[0] = float32(float64(len(g.Members)) / float64(n))
		if maxLog > 0 {
			row[1] = float32(math.Log1p(g.Score) / maxLog)
			row[2] = float32((bestLog - math.Log1p(g.Score)) / maxLog)
		}
		if g.Score == ct.Groups[0].Score {
			row[3] = 1
		}
		if totalFreq > 0 {
			row[4] = float32(float64(g.PassedFreq) / totalFreq)
		}
		if tests > 0 {
			row[5] = float32(float64(passed) / float64(tests))
			row[8] = float32(float64(errs) / float64(tests))
			row[9] = float32(float64(timeouts) / float64(tests))
		}
		row[6] = float32(float64(vectors[vecOf[i]]) / float64(n))
		if len(fpOrder) > 0 {
			agree := 0
			for _, t := range fpOrder {
				if v := fp[i][t]; v != "" && outputs[t][v] == majority[t] {
					agree++
				}
			}
			row[7] = float32(float64(agree) / float64(len(fpOrder)))
		}
		row[10] = 1
		if tests > 0 && errs == tests {
			row[10] = 0
		}
		row[11] = float32(math.Log1p(float64(tests)))
		rows[i] = row
	}
	return rows
}

// statusRank orders statuses from best to worst.
func statusRank(s string) int {
	switch s {
	case schemas.TestPass:
		return 0
	case schemas.TestFail:
		return 1
	case schemas.TestTimeout:
		return 2
	}
	return 3
}
