package clickhouse

import (
	"cmp"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/processors/passk"
	"github.com/codeverify/codeverify/schemas"
)

// expectation computes, in Go and from the demo rows alone, what one docs/sql file must return.
type expectation func(t *testing.T, d demoData) (columns []string, rows [][]any)

// docsChecks holds one expectation per file of docs/sql. TestDocsSQL runs every file it finds
// there, so a new query without an entry here fails, and so does an entry without its file.
var docsChecks = map[string]expectation{
	"pass_rate_by_model.sql":      expectPassRateByModel,
	"pass_rate_by_problem.sql":    expectPassRateByProblem,
	"campaign_progress_daily.sql": expectCampaignProgress,
	"failure_kinds_daily.sql":     expectFailureKinds,
	"pass_at_k.sql":               expectPassAtK,
	"verifier_calibration.sql":    expectCalibration,
	"verifier_selections.sql":     expectSelections,
	"codet_top_cluster.sql":       expectAgreement,
}

func TestDocsSQL(t *testing.T) {
	files, err := filepath.Glob("../../docs/sql/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("docs/sql: %v (%d files)", err, len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		seen[filepath.Base(f)] = true
	}
	for name := range docsChecks {
		if !seen[name] {
			t.Errorf("a check is registered for docs/sql/%s, which does not exist", name)
		}
	}
	s := testSink(t)
	d := loadDemo(t)
	d.store(t, s)
	ctx := context.Background()
	t.Run("published_totals", func(t *testing.T) { checkPublishedTotals(t, s) })
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".sql"), func(t *testing.T) {
			expect := docsChecks[name]
			if expect == nil {
				t.Fatalf("docs/sql/%s has no check in docsChecks: add one that computes its answer independently", name)
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(src), "-- ") || !strings.Contains(string(src), "Columns:") {
				t.Errorf("docs/sql/%s: start with a comment saying what it answers and its columns", name)
			}
			got, err := s.Query(ctx, string(src))
			if err != nil {
				t.Fatal(err)
			}
			cols, want := expect(t, d)
			if !slices.Equal(got.Columns, cols) {
				t.Fatalf("columns %v, want %v", got.Columns, cols)
			}
			if len(got.Rows) != len(want) {
				t.Fatalf("%d rows, want %d", len(got.Rows), len(want))
			}
			for i := range want {
				for j := range want[i] {
					if g := normalize(got.Rows[i][j]); !same(g, want[i][j]) {
						t.Errorf("row %d %s = %v (%T), want %v", i, cols[j], g, got.Rows[i][j], want[i][j])
					}
				}
			}
		})
	}
}

// checkPublishedTotals: the demo's published figures are 2,353 of 10,000 candidates passing, 26
// problems without a passing sample and pass@1 0.2353.
func checkPublishedTotals(t *testing.T, s *Sink) {
	got, err := s.Query(context.Background(), "SELECT candidates, passed, zero_pass_problems, pass_at_1 FROM pass_at_k")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 1 {
		t.Fatalf("pass_at_k: %d rows, want the demo's one model", len(got.Rows))
	}
	r := got.Rows[0]
	if r[0] != uint64(10000) || r[1] != uint64(2353) || r[2] != uint64(26) || math.Abs(r[3].(float64)-0.2353) > 1e-12 {
		t.Errorf("demo totals %v, want 10000 candidates, 2353 passed, 26 zero-pass problems, pass@1 0.2353", r)
	}
}

// normalize maps the driver's types onto the few the expectations use.
func normalize(v any) any {
	switch x := v.(type) {
	case uint8:
		return uint64(x)
	case uint32:
		return uint64(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC().Format(time.DateOnly)
	}
	return v
}

func same(a, b any) bool {
	fa, aok := a.(float64)
	fb, bok := b.(float64)
	if aok && bok {
		return fa == fb || math.IsNaN(fa) && math.IsNaN(fb) || math.Abs(fa-fb) <= 1e-9*math.Max(1, math.Abs(fb))
	}
	return a == b
}

// ---- expectations, from the demo rows ------------------------------------------------------------

type group struct{ model, benchmark, split string }

func groupOf(v schemas.Verdict) group { return group{v.Model, v.Benchmark, v.Split} }

func dayOf(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.DateOnly) }

type tally struct {
	candidates, passed uint64
	problems           map[string]bool
	days               []string
}

func (c *tally) add(v schemas.Verdict) {
	c.candidates++
	if v.Label == schemas.Pass {
		c.passed++
	}
	if c.problems == nil {
		c.problems = map[string]bool{}
	}
	c.problems[v.ProblemID] = true
	c.days = append(c.days, dayOf(v.ExecutedAtMs))
}

func (c *tally) rate() float64 { return float64(c.passed) / float64(c.candidates) }

// tallies counts the verdicts per key, returning the keys in the order less gives.
func tallies[K comparable](vs []schemas.Verdict, key func(schemas.Verdict) K, less func(a, b K) int) ([]K, map[K]*tally) {
	m := map[K]*tally{}
	for _, v := range vs {
		k := key(v)
		if m[k] == nil {
			m[k] = &tally{}
		}
		m[k].add(v)
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, less)
	return keys, m
}

func cmpGroup(a, b group) int {
	return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.benchmark, b.benchmark), cmp.Compare(a.split, b.split))
}

func expectPassRateByModel(t *testing.T, d demoData) ([]string, [][]any) {
	keys, m := tallies(d.verdicts, groupOf, cmpGroup)
	var rows [][]any
	for _, k := range keys {
		c := m[k]
		rows = append(rows, []any{k.model, k.benchmark, k.split, uint64(len(c.problems)), c.candidates, c.passed, c.rate()})
	}
	return []string{"model", "benchmark", "split", "problems", "candidates", "passed", "pass_rate"}, rows
}

func expectPassRateByProblem(t *testing.T, d demoData) ([]string, [][]any) {
	type key struct {
		group
		problem string
	}
	_, m := tallies(d.verdicts, func(v schemas.Verdict) key { return key{groupOf(v), v.ProblemID} }, func(a, b key) int { return 0 })
	keys := make([]key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmpGroup(a.group, b.group), cmp.Compare(m[a].rate(), m[b].rate()), cmp.Compare(a.problem, b.problem))
	})
	var rows [][]any
	zero := 0
	for _, k := range keys {
		c := m[k]
		if c.passed == 0 {
			zero++
		}
		rows = append(rows, []any{k.model, k.benchmark, k.split, k.problem, c.candidates, c.passed, c.rate(), slices.Min(c.days), slices.Max(c.days)})
	}
	if zero != 26 {
		t.Errorf("the demo has %d problems without a passing sample, published: 26", zero)
	}
	return []string{"model", "benchmark", "split", "problem_id", "candidates", "passed", "pass_rate", "first_day", "last_day"}, rows
}

func expectCampaignProgress(t *testing.T, d demoData) ([]string, [][]any) {
	type key struct {
		day string
		group
	}
	keys, m := tallies(d.verdicts, func(v schemas.Verdict) key { return key{dayOf(v.ExecutedAtMs), groupOf(v)} },
		func(a, b key) int { return cmp.Or(cmp.Compare(a.day, b.day), cmpGroup(a.group, b.group)) })
	var rows [][]any
	for _, k := range keys {
		c := m[k]
		rows = append(rows, []any{k.day, k.model, k.benchmark, k.split, uint64(len(c.problems)), c.candidates, c.passed, c.rate()})
	}
	return []string{"day", "model", "benchmark", "split", "problems", "candidates", "passed", "pass_rate"}, rows
}

func expectFailureKinds(t *testing.T, d demoData) ([]string, [][]any) {
	type key struct{ day, model, kind string }
	count := map[key]uint64{}
	total := map[[2]string]uint64{}
	for _, v := range d.verdicts {
		if v.Label == schemas.Fail {
			day := dayOf(v.ExecutedAtMs)
			count[key{day, v.Model, v.FailureKind}]++
			total[[2]string{day, v.Model}]++
		}
	}
	keys := make([]key, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.model, b.model), -cmp.Compare(count[a], count[b]), cmp.Compare(a.kind, b.kind))
	})
	var rows [][]any
	for _, k := range keys {
		rows = append(rows, []any{k.day, k.model, k.kind, count[k], float64(count[k]) / float64(total[[2]string{k.day, k.model}])})
	}
	return []string{"day", "model", "failure_kind", "verdicts", "share"}, rows
}

func expectPassAtK(t *testing.T, d demoData) ([]string, [][]any) {
	perGroup := map[group]map[string][2]int{}
	for _, v := range d.verdicts {
		g := groupOf(v)
		if perGroup[g] == nil {
			perGroup[g] = map[string][2]int{}
		}
		nc := perGroup[g][v.ProblemID]
		nc[0]++
		if v.Label == schemas.Pass {
			nc[1]++
		}
		perGroup[g][v.ProblemID] = nc
	}
	groups := make([]group, 0, len(perGroup))
	for g := range perGroup {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, cmpGroup)
	var rows [][]any
	for _, g := range groups {
		per := perGroup[g]
		var n, c, zero uint64
		for _, nc := range per {
			n, c = n+uint64(nc[0]), c+uint64(nc[1])
			if nc[1] == 0 {
				zero++
			}
		}
		sc := passk.Summary(per, []int{1, 10, 100})
		rows = append(rows, []any{g.model, g.benchmark, g.split, uint64(len(per)), n, c, zero,
			sc[0].PassAtK, sc[1].PassAtK, sc[2].PassAtK, uint64(sc[1].Problems), uint64(sc[2].Problems)})
	}
	return []string{"model", "benchmark", "split", "problems", "candidates", "passed", "zero_pass_problems",
		"pass_at_1", "pass_at_10", "pass_at_100", "problems_k10", "problems_k100"}, rows
}

func expectCalibration(t *testing.T, d demoData) ([]string, [][]any) {
	type key struct {
		version string
		lo      float64
	}
	type bucket struct {
		evals              map[string]bool
		candidates, passed uint64
	}
	m := map[key]*bucket{}
	for _, e := range d.evals {
		for _, c := range e.cands {
			k := key{e.run.ModelVersion, math.Floor(float64(c.Energy)*2) / 2}
			if m[k] == nil {
				m[k] = &bucket{evals: map[string]bool{}}
			}
			b := m[k]
			b.evals[e.run.EvalID] = true
			b.candidates++
			if c.Pass {
				b.passed++
			}
		}
	}
	keys := make([]key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.version, b.version), cmp.Compare(a.lo, b.lo)) })
	var rows [][]any
	for _, k := range keys {
		b := m[k]
		rows = append(rows, []any{k.version, k.lo, uint64(len(b.evals)), b.candidates, b.passed, float64(b.passed) / float64(b.candidates)})
	}
	return []string{"model_version", "energy_lo", "evals", "candidates", "passed", "pass_rate"}, rows
}

func expectSelections(t *testing.T, d demoData) ([]string, [][]any) {
	evals := slices.Clone(d.evals)
	slices.SortFunc(evals, func(a, b demoEval) int {
		return cmp.Or(cmp.Compare(a.run.ModelVersion, b.run.ModelVersion), cmp.Compare(a.run.Scope, b.run.Scope),
			cmp.Compare(a.run.N, b.run.N), cmp.Compare(a.run.Seed, b.run.Seed), cmp.Compare(a.run.EvalID, b.run.EvalID))
	})
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	var rows [][]any
	for _, e := range evals {
		byProblem := map[string][]EvalCandidate{}
		for _, c := range e.cands {
			byProblem[c.ProblemID] = append(byProblem[c.ProblemID], c)
		}
		var selected, random, oracle float64
		for _, cs := range byProblem {
			// The verifier's pick: lowest energy, ties to the smaller candidate id.
			pick := slices.MinFunc(cs, func(a, b EvalCandidate) int {
				return cmp.Or(cmp.Compare(a.Energy, b.Energy), cmp.Compare(a.CandidateID, b.CandidateID))
			})
			selected += b2f(pick.Pass)
			var passes float64
			for _, c := range cs {
				passes += b2f(c.Pass)
			}
			random += passes / float64(len(cs))
			oracle += b2f(passes > 0)
		}
		p := float64(len(byProblem))
		rows = append(rows, []any{e.run.ModelVersion, e.run.EvalID, e.run.Scope, uint64(e.run.N), e.run.Seed, uint64(len(byProblem)),
			selected / p, random / p, oracle / p, selected/p - random/p})
	}
	return []string{"model_version", "eval_id", "scope", "n", "seed", "problems", "selected_pass", "random_pass", "oracle_pass", "lift"}, rows
}

// expectAgreement is CodeT's dual agreement per request: candidates passing the same set of
// generated tests form a cluster scored by size × tests passed; ties for the top share its credit.
func expectAgreement(t *testing.T, d demoData) ([]string, [][]any) {
	label := map[string]bool{}
	for _, v := range d.verdicts {
		label[v.CandidateID] = v.Label == schemas.Pass
	}
	type cluster struct{ size, passes, tests int }
	type request struct {
		group
		clusters map[string]*cluster
	}
	reqs := map[string]*request{}
	for _, b := range d.behaviors {
		pass, ok := label[b.CandidateID]
		if !ok {
			continue
		}
		var passed []string
		for _, r := range b.Results {
			if r.Status == schemas.TestPass && !slices.Contains(passed, r.TestID) {
				passed = append(passed, r.TestID)
			}
		}
		sort.Strings(passed)
		if reqs[b.RequestID] == nil {
			reqs[b.RequestID] = &request{group{b.Model, b.Benchmark, b.Split}, map[string]*cluster{}}
		}
		k := strings.Join(passed, ",")
		cl := reqs[b.RequestID].clusters[k]
		if cl == nil {
			cl = &cluster{tests: len(passed)}
			reqs[b.RequestID].clusters[k] = cl
		}
		cl.size++
		if pass {
			cl.passes++
		}
	}
	type sums struct{ requests, top, any, random float64 }
	per := map[group]*sums{}
	for _, r := range reqs {
		best, tops, topPass, anyPass, size, passes := -1, 0, 0, 0, 0, 0
		for _, cl := range r.clusters {
			best = max(best, cl.size*cl.tests)
			size, passes = size+cl.size, passes+cl.passes
			if cl.passes > 0 {
				anyPass = 1
			}
		}
		for _, cl := range r.clusters {
			if cl.size*cl.tests == best {
				tops++
				if cl.passes > 0 {
					topPass++
				}
			}
		}
		if per[r.group] == nil {
			per[r.group] = &sums{}
		}
		s := per[r.group]
		s.requests++
		s.top += float64(topPass) / float64(tops)
		s.any += float64(anyPass)
		s.random += float64(passes) / float64(size)
	}
	groups := make([]group, 0, len(per))
	for g := range per {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b group) int {
		return cmp.Or(cmp.Compare(a.benchmark, b.benchmark), cmp.Compare(a.split, b.split), cmp.Compare(a.model, b.model))
	})
	var rows [][]any
	for _, g := range groups {
		s := per[g]
		rows = append(rows, []any{g.benchmark, g.split, g.model, uint64(s.requests), s.top / s.requests, s.any / s.requests, s.random / s.requests})
	}
	return []string{"benchmark", "split", "model", "requests", "top_cluster_pass", "any_pass", "random_pass"}, rows
}
