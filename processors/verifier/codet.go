// Package verifier chooses, among the candidates of one request, the one to return, from how the
// candidates behave on the problem's generated tests (schemas.Behavior). It is pure logic: CodeT's
// dual execution agreement rule, the behaviour features the learned verifier reads (computed here
// once for training export and for serving), and the selection methods compared by evaluation.
// Nothing here runs code or reads files; the executor produces the behaviours and a Scorer runs
// the model.
package verifier

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/codeverify/codeverify/schemas"
)

// CodeTGroup is one agreement group: the candidates that pass exactly the same set of generated
// tests.
type CodeTGroup struct {
	Members    []int    // indexes into the request, ascending
	Passed     []string // the test ids every member passes, sorted
	PassedFreq int64    // the sum of the frequencies of Passed
	Score      float64  // len(Members) × PassedFreq (or √len(Members) × PassedFreq, see CodeTOptions)
}

// CodeTResult is CodeT's ranking of one request.
type CodeTResult struct {
	Groups []CodeTGroup // best first; equal scores by their smallest member's candidate id
	Group  []int        // per candidate, its index in Groups
	// Best is every candidate in a group of the top score, ascending: CodeT merges groups of equal
	// score and picks uniformly among their candidates.
	Best []int
	// Pick is the deterministic choice: the candidate of Best with the smallest candidate id (then
	// the smallest index), so the choice never depends on arrival order.
	Pick int
	// Tests is the request's generated tests (the union of the test ids in its results) and
	// TotalFreq the sum of their frequencies.
	Tests     int
	TotalFreq int64
}

// CodeTOptions chooses between the two published forms of the group score.
type CodeTOptions struct {
	// SqrtGroupSize scores a group by √(candidates) × (passed frequency), as CodeT's released code
	// (src/agreement.py) does; the paper's rule, the default, is (candidates) × (passed frequency).
	SqrtGroupSize bool
}

// CodeT applies CodeT's dual execution agreement (Chen et al., ICLR 2023) to one request's
// candidates with the paper's score. See CodeTWith.
func CodeT(request []schemas.Behavior) CodeTResult { return CodeTWith(request, CodeTOptions{}) }

// CodeTWith groups the candidates that pass exactly the same set of generated tests, scores each
// group by its size times the summed frequencies of the tests its members pass, and picks from the
// best group. Groups of equal top score are merged (CodeT's evaluation does the same), so Best may
// span several groups; a uniformly random candidate of Best is what CodeT's published pass@1
// measures (ExpectedPass gives it), and Pick is a deterministic member of Best.
//
// Candidates that pass no test form a group of score 0: when no candidate passes anything that group
// is all of them, which is CodeT's fallback to a random pick. A test is identified by its TestID; a
// result a candidate lacks counts as not passed. An empty request gives a zero CodeTResult with Pick
// −1.
func CodeTWith(request []schemas.Behavior, o CodeTOptions) CodeTResult {
	res := CodeTResult{Pick: -1, Group: make([]int, len(request))}
	if len(request) == 0 {
		return res
	}
	freq := testFrequencies(request)
	res.Tests = len(freq)
	for _, f := range freq {
		res.TotalFreq += f
	}
	byKey := map[string]int{}
	for i, b := range request {
		passed := passedTests(b)
		key := strings.Join(passed, "\x00")
		g, ok := byKey[key]
		if !ok {
			g = len(res.Groups)
			byKey[key] = g
			var pf int64
			for _, t := range passed {
				pf += freq[t]
			}
			res.Groups = append(res.Groups, CodeTGroup{Passed: passed, PassedFreq: pf})
		}
		res.Groups[g].Members = append(res.Groups[g].Members, i)
	}
	for g := range res.Groups {
		gr := &res.Groups[g]
		size := float64(len(gr.Members))
		if o.SqrtGroupSize {
			size = math.Sqrt(size)
		}
		gr.Score = size * float64(gr.PassedFreq)
		slices.SortFunc(gr.Members, func(a, b int) int { return byID(request, a, b) })
	}
	slices.SortStableFunc(res.Groups, func(a, b CodeTGroup) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), byID(request, a.Members[0], b.Members[0]))
	})
	for g, gr := range res.Groups {
		slices.Sort(gr.Members)
		for _, i := range gr.Members {
			res.Group[i] = g
		}
		if gr.Score == res.Groups[0].Score {
			res.Best = append(res.Best, gr.Members...)
		}
	}
	slices.Sort(res.Best)
	res.Pick = slices.MinFunc(res.Best, func(a, b int) int { return byID(request, a, b) })
	return res
}

// ExpectedPass is the pass rate of a uniformly random candidate of pool given each candidate's
// label: CodeT's pass@1 of a request when pool is its Best.
func ExpectedPass(pool []int, pass []bool) float64 {
	if len(pool) == 0 {
		return 0
	}
	n := 0
	for _, i := range pool {
		if pass[i] {
			n++
		}
	}
	return float64(n) / float64(len(pool))
}

// byID orders candidates by candidate id, then by index.
func byID(request []schemas.Behavior, a, b int) int {
	return cmp.Or(strings.Compare(request[a].CandidateID, request[b].CandidateID), cmp.Compare(a, b))
}

// testFrequencies is each test id of the request with its frequency. Candidates of one request ran
// the same tests, so a test's frequency agrees across them; if not, the largest is taken so the
// result does not depend on the order of the candidates.
func testFrequencies(request []schemas.Behavior) map[string]int64 {
	freq := map[string]int64{}
	for _, b := range request {
		for _, r := range b.Results {
			freq[r.TestID] = max(freq[r.TestID], int64(max(r.Frequency, 1)))
		}
	}
	return freq
}

// passedTests is the sorted, distinct test ids b passes.
func passedTests(b schemas.Behavior) []string {
	var out []string
	for _, r := range b.Results {
		if r.Status == schemas.TestPass {
			out = append(out, r.TestID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
