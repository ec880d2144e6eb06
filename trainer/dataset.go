package trainer

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"

	"github.com/codeverify/codeverify/schemas"
)

// BuildOptions chooses what goes into a dataset and how pairs and folds are drawn.
type BuildOptions struct {
	Splits     []string // keep only these splits (empty: all)
	Benchmarks []string // keep only these benchmarks (empty: all)
	Models     []string // keep only candidates of these generating models (empty: all)
	K          int      // FAILs sampled per PASS (the seed's strategy)
	Seed       uint64   // pairs and folds are a pure function of the data and the seed
	Folds      int      // problems are dealt into this many folds (validation = one fold)
}

// Validate reports why the options cannot build a dataset.
func (o BuildOptions) Validate() error {
	switch {
	case o.K < 1:
		return fmt.Errorf("dataset: k = %d, want ≥ 1", o.K)
	case o.Folds < 2:
		return fmt.Errorf("dataset: %d folds, want ≥ 2 (validation is one fold, grouped by problem)", o.Folds)
	}
	return nil
}

// Example is one labeled candidate.
type Example struct {
	ProblemID   string `json:"problem_id"`
	CandidateID string `json:"candidate_id"`
	Benchmark   string `json:"benchmark"`
	Split       string `json:"split"`
	Model       string `json:"model"`
	SampleIndex int32  `json:"sample_index"`
	Prompt      string `json:"prompt"`
	Code        string `json:"code"`
	Label       string `json:"label"`
	FailureKind string `json:"failure_kind"`
	Fold        int    `json:"fold"`
	// Copies counts the candidates with this exact (problem, code), this one included: training sees
	// the code once, while metrics weigh it by how often the generator produced it, so reranked
	// pass@1 stays comparable with pass@k over the raw samples.
	Copies int `json:"copies"`
}

// Pair indexes a PASS and a FAIL example of the same problem.
type Pair struct {
	Pass, Fail int
}

// Stats counts what building kept and dropped.
type Stats struct {
	Problems                 int `json:"problems"` // problems with at least one example
	Examples                 int `json:"examples"`
	Pass                     int `json:"pass"`
	Fail                     int `json:"fail"`
	Pairs                    int `json:"pairs"`
	ProblemsWithoutPass      int `json:"problems_without_pass"`
	ProblemsWithoutFail      int `json:"problems_without_fail"`
	DuplicatesDropped        int `json:"duplicates_dropped"` // same (problem, code) seen again
	FilteredOut              int `json:"filtered_out"`       // labeled, but not of the chosen splits/benchmarks/models
	CandidatesWithoutVerdict int `json:"candidates_without_verdict"`
	VerdictsWithoutCandidate int `json:"verdicts_without_candidate"`
	CandidatesWithoutProblem int `json:"candidates_without_problem"`
}

// Dataset is the joined, filtered, deduplicated training set.
type Dataset struct {
	Examples []Example
	Pairs    []Pair
	Stats    Stats
	Options  BuildOptions
	// Hash is the content hash of examples (ids, labels, folds, prompt and code bytes) and pairs.
	Hash string
}

// Build joins problems, candidates and verdicts (by candidate id; a re-executed candidate keeps its
// newest verdict), keeps the chosen splits, drops exact duplicate (problem, code), deals problems
// into folds and draws, per problem, each PASS against k FAILs of the same problem.
func Build(problems []schemas.Problem, candidates []schemas.Candidate, verdicts []schemas.Verdict, opt BuildOptions) (*Dataset, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	prob := make(map[string]schemas.Problem, len(problems))
	for _, p := range problems {
		prob[p.ProblemID] = p // later records win, as compaction would
	}
	verdict := make(map[string]schemas.Verdict, len(verdicts))
	for _, v := range verdicts {
		if old, ok := verdict[v.CandidateID]; !ok || v.ExecutedAtMs >= old.ExecutedAtMs {
			verdict[v.CandidateID] = v
		}
	}
	cand := make(map[string]schemas.Candidate, len(candidates))
	for _, c := range candidates {
		cand[c.CandidateID] = c
	}
	var st Stats
	for id := range verdict {
		if _, ok := cand[id]; !ok {
			st.VerdictsWithoutCandidate++
		}
	}
	// A deterministic order whatever order the partitions were read in.
	ids := make([]string, 0, len(cand))
	for id := range cand {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		ca, cb := cand[a], cand[b]
		return cmp.Or(cmp.Compare(ca.ProblemID, cb.ProblemID), cmp.Compare(ca.SampleIndex, cb.SampleIndex), cmp.Compare(a, b))
	})
	seen := map[[32]byte]int{} // → index in exs
	var exs []Example
	for _, id := range ids {
		c := cand[id]
		v, ok := verdict[id]
		if !ok {
			st.CandidatesWithoutVerdict++
			continue
		}
		p, ok := prob[c.ProblemID]
		if !ok {
			st.CandidatesWithoutProblem++
			continue
		}
		split := cmp.Or(c.Split, p.Split)
		bench := cmp.Or(c.Benchmark, p.Benchmark)
		if !keep(opt.Splits, split) || !keep(opt.Benchmarks, bench) || !keep(opt.Models, c.Model) {
			st.FilteredOut++
			continue
		}
		key := sha256.Sum256([]byte(c.ProblemID + "\x00" + c.Code))
		if i, ok := seen[key]; ok {
			st.DuplicatesDropped++
			exs[i].Copies++
			continue
		}
		seen[key] = len(exs)
		if v.Label != schemas.Pass && v.Label != schemas.Fail {
			return nil, fmt.Errorf("dataset: candidate %s has label %q", id, v.Label)
		}
		exs = append(exs, Example{ProblemID: c.ProblemID, CandidateID: id, Benchmark: bench, Split: split, Model: c.Model,
			SampleIndex: c.SampleIndex, Prompt: p.Prompt, Code: c.Code, Label: v.Label, FailureKind: v.FailureKind, Copies: 1})
	}
	if len(exs) == 0 {
		return nil, errors.New("dataset: no labeled candidates left after the join and filters")
	}
	ds := &Dataset{Examples: exs, Options: opt}
	ds.Pairs = ds.assign(&st)
	st.Examples, st.Pairs = len(exs), len(ds.Pairs)
	ds.Stats = st
	ds.Hash = ds.contentHash()
	return ds, nil
}

func keep(allowed []string, v string) bool {
	return len(allowed) == 0 || slices.Contains(allowed, v)
}

// assign deals problems into folds and draws the pairs; examples are grouped by problem already.
func (d *Dataset) assign(st *Stats) []Pair {
	type group struct{ pass, fail []int }
	groups := map[string]*group{}
	var order []string
	for i, e := range d.Examples {
		g := groups[e.ProblemID]
		if g == nil {
			g = &group{}
			groups[e.ProblemID] = g
			order = append(order, e.ProblemID)
		}
		if e.Label == schemas.Pass {
			g.pass = append(g.pass, i)
			st.Pass++
		} else {
			g.fail = append(g.fail, i)
			st.Fail++
		}
	}
	st.Problems = len(order)
	// Folds: a seeded shuffle of the sorted problem ids dealt round-robin, so folds differ in size by
	// at most one problem and a problem's samples never straddle train and validation.
	shuffled := slices.Clone(order)
	slices.Sort(shuffled)
	rand.New(rand.NewPCG(d.Options.Seed, 0x666f6c6473)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	fold := make(map[string]int, len(shuffled))
	for i, p := range shuffled {
		fold[p] = i % d.Options.Folds
	}
	for i := range d.Examples {
		d.Examples[i].Fold = fold[d.Examples[i].ProblemID]
	}
	var pairs []Pair
	for _, pid := range order {
		g := groups[pid]
		if len(g.pass) == 0 {
			st.ProblemsWithoutPass++
		}
		if len(g.fail) == 0 {
			st.ProblemsWithoutFail++
		}
		if len(g.pass) == 0 || len(g.fail) == 0 {
			continue
		}
		// One generator per problem: a problem's pairs do not change when other problems are added.
		h := fnv.New64a()
		h.Write([]byte(pid))
		rng := rand.New(rand.NewPCG(d.Options.Seed, h.Sum64()))
		k := min(d.Options.K, len(g.fail))
		for _, p := range g.pass {
			for _, j := range rng.Perm(len(g.fail))[:k] {
				pairs = append(pairs, Pair{Pass: p, Fail: g.fail[j]})
			}
		}
	}
	return pairs
}

func (d *Dataset) contentHash() string {
	h := sha256.New()
	var buf [8]byte
	num := func(v int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		h.Write([]byte(s))
	}
	for _, e := range d.Examples {
		str(e.ProblemID)
		str(e.CandidateID)
		str(e.Split)
		str(e.Label)
		num(int64(e.Fold))
		num(int64(e.Copies))
		str(e.Prompt)
		str(e.Code)
	}
	for _, p := range d.Pairs {
		num(int64(p.Pass))
		num(int64(p.Fail))
	}
	return hex.EncodeToString(h.Sum(nil))
}
