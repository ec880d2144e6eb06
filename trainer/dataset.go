// Package trainer builds the verifier's training set by replaying the labeled topics, drives the
// PyTorch training and ONNX export (train.py, run by a python3 subprocess), computes the
// end-of-training metrics and announces registered versions on the models topic. What a model is
// (manifest, registry, tokenizer, features) is package model, which serving shares without Kafka.
package trainer

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
)

// BuildOptions chooses what goes into a dataset and how pairs and folds are drawn.
type BuildOptions struct {
	Splits     []string // keep only these splits (empty: all)
	Benchmarks []string // keep only these benchmarks (empty: all)
	Models     []string // keep only candidates of these generating models (empty: all)
	K          int      // FAILs sampled per PASS (with Draws 0)
	Seed       uint64   // pairs and folds are a pure function of the data and the seed
	Folds      int      // problems are dealt into this many folds (validation = one fold)
	// Draws > 0 trains on what is served: each request of more than DrawSize candidates becomes Draws
	// random draws of DrawSize of its candidates (a seed per request and draw), features are computed
	// per draw (RequestFeatures over the drawn candidates) and every PASS×FAIL pair within a draw is
	// a pair (K is not used). A request of ≤ DrawSize candidates is one draw as it is. Nothing is
	// deduplicated: a drawn duplicate is a candidate of the draw, as the reranker sees it.
	DrawSize int
	Draws    int
}

// Drawn says whether the options train on draws of requests.
func (o BuildOptions) Drawn() bool { return o.Draws > 0 }

// Validate reports why the options cannot build a dataset.
func (o BuildOptions) Validate() error {
	switch {
	case o.K < 1:
		return fmt.Errorf("dataset: k = %d, want ≥ 1", o.K)
	case o.Folds < 2:
		return fmt.Errorf("dataset: %d folds, want ≥ 2 (validation is one fold, grouped by problem)", o.Folds)
	case o.Draws < 0 || (o.Draws > 0 && o.DrawSize < 2):
		return fmt.Errorf("dataset: %d draws of %d candidates: want draws ≥ 0 and, with draws, a draw size ≥ 2", o.Draws, o.DrawSize)
	}
	return nil
}

// Example is one labeled candidate.
type Example struct {
	ProblemID string `json:"problem_id"`
	RequestID string `json:"request_id"` // the request it was generated for; the problem id when the candidate has none
	// Group is the request the example was ranked in: its draw ("<request>#<draw>") when the dataset
	// is built from draws (BuildOptions.Draws), else empty (the request itself). Features and pairs
	// are within a group.
	Group       string `json:"group,omitempty"`
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
	// Features is the candidate's behaviour feature row (RequestFeatures over every candidate of its
	// request, duplicates and unlabeled ones included, as the reranker sees the request).
	Features []float32 `json:"features"`
}

// Pair indexes a PASS and a FAIL example of the same request.
type Pair struct {
	Pass, Fail int
}

// Dataset is the joined, filtered, deduplicated training set.
type Dataset struct {
	Examples []Example
	Pairs    []Pair
	Stats    model.Stats
	Options  BuildOptions
	Features model.FeatureSpec // the columns of Example.Features
	// Hash is the content hash of examples (ids, labels, folds, prompt and code bytes) and pairs.
	Hash string
}

// Build is BuildWithBehaviors without behaviours: every candidate gets the features of "no tests".
func Build(problems []schemas.Problem, candidates []schemas.Candidate, verdicts []schemas.Verdict, opt BuildOptions) (*Dataset, error) {
	return BuildWithBehaviors(problems, candidates, verdicts, nil, opt)
}

// BuildWithBehaviors joins problems, candidates, verdicts and behaviours (by candidate id; a
// re-executed candidate keeps its newest verdict and behaviour), computes each request's behaviour
// features over all its candidates (RequestFeatures), keeps the chosen splits, drops exact duplicate
// (problem, code), deals problems into folds and draws, per request, each PASS against k FAILs of
// the same request.
func BuildWithBehaviors(problems []schemas.Problem, candidates []schemas.Candidate, verdicts []schemas.Verdict, behaviors []schemas.Behavior, opt BuildOptions) (*Dataset, error) {
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
	var st model.Stats
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
	// Features per request, over every candidate of the request: the reranker sees duplicates and
	// candidates that were never labeled too.
	beh := model.NewestBehaviors(behaviors)
	for id := range beh {
		if _, ok := cand[id]; !ok {
			st.BehaviorsWithoutCandidate++
		}
	}
	byRequest := map[string][]string{}
	for _, id := range ids {
		r := requestKey(cand[id])
		byRequest[r] = append(byRequest[r], id)
	}
	// admit decides whether a candidate becomes an example (it has a verdict and a problem and passes
	// the filters) and counts why not; each candidate is admitted once.
	admitted := map[string]Example{}
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
		if v.Label != schemas.Pass && v.Label != schemas.Fail {
			return nil, fmt.Errorf("dataset: candidate %s has label %q", id, v.Label)
		}
		admitted[id] = Example{ProblemID: c.ProblemID, RequestID: requestKey(c), CandidateID: id, Benchmark: bench, Split: split, Model: c.Model,
			SampleIndex: c.SampleIndex, Prompt: p.Prompt, Code: c.Code, Label: v.Label, FailureKind: v.FailureKind, Copies: 1}
	}
	countBehavior := func(id string) {
		if _, ok := beh[id]; ok {
			st.ExamplesWithBehavior++
		} else {
			st.ExamplesWithoutBehavior++
		}
	}
	var exs []Example
	if opt.Drawn() {
		st.DrawSize, st.Draws = opt.DrawSize, opt.Draws
		reqs := make([]string, 0, len(byRequest))
		for r := range byRequest {
			reqs = append(reqs, r)
		}
		slices.Sort(reqs)
		for _, rid := range reqs {
			rids := byRequest[rid]
			draws := drawRequests(rid, rids, opt)
			if len(rids) > opt.DrawSize {
				st.RequestsDrawn++
			} else {
				st.RequestsWhole++
			}
			for d, drawn := range draws {
				rows := model.RequestFeatures(drawn, beh)
				group := rid + "#" + strconv.Itoa(d)
				for i, id := range drawn {
					e, ok := admitted[id]
					if !ok {
						continue
					}
					e.Group, e.Features = group, rows[i]
					countBehavior(id)
					exs = append(exs, e)
				}
			}
		}
		// Examples grouped by problem (assign deals folds by problem, in first-seen order).
		slices.SortStableFunc(exs, func(a, b Example) int { return cmp.Compare(a.ProblemID, b.ProblemID) })
	} else {
		features := make(map[string][]float32, len(cand))
		for _, rids := range byRequest {
			for i, row := range model.RequestFeatures(rids, beh) {
				features[rids[i]] = row
			}
		}
		seen := map[[32]byte]int{} // → index in exs
		for _, id := range ids {
			e, ok := admitted[id]
			if !ok {
				continue
			}
			key := sha256.Sum256([]byte(e.ProblemID + "\x00" + e.Code))
			if i, ok := seen[key]; ok {
				st.DuplicatesDropped++
				exs[i].Copies++
				continue
			}
			seen[key] = len(exs)
			countBehavior(id)
			e.Features = features[id]
			exs = append(exs, e)
		}
	}
	if len(exs) == 0 {
		return nil, errors.New("dataset: no labeled candidates left after the join and filters")
	}
	ds := &Dataset{Examples: exs, Options: opt, Features: model.CurrentFeatures()}
	ds.Pairs = ds.assign(&st)
	st.Examples, st.Pairs = len(exs), len(ds.Pairs)
	ds.Stats = st
	ds.Hash = ds.contentHash()
	return ds, nil
}

// requestKey groups a candidate with the others generated for the same request; a candidate
// without a request id (an export, older records) is grouped by its problem.
func requestKey(c schemas.Candidate) string {
	return cmp.Or(c.RequestID, c.ProblemID)
}

// GroupKey is the request the example was ranked in: its draw, else its request.
func (e Example) GroupKey() string { return cmp.Or(e.Group, e.RequestID) }

// drawRequests returns the candidate sets a request is ranked as: itself when it has at most
// opt.DrawSize candidates (or without draws), else opt.Draws random draws of opt.DrawSize of them,
// each from its own generator (the seed, the request and the draw), in rids order.
func drawRequests(rid string, rids []string, opt BuildOptions) [][]string {
	if !opt.Drawn() || len(rids) <= opt.DrawSize {
		return [][]string{rids}
	}
	out := make([][]string, opt.Draws)
	for d := range out {
		h := fnv.New64a()
		h.Write([]byte(rid))
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(d)))
		rng := rand.New(rand.NewPCG(opt.Seed^0x64726177, h.Sum64()))
		idx := rng.Perm(len(rids))[:opt.DrawSize]
		slices.Sort(idx)
		out[d] = make([]string, len(idx))
		for k, i := range idx {
			out[d][k] = rids[i]
		}
	}
	return out
}

func keep(allowed []string, v string) bool {
	return len(allowed) == 0 || slices.Contains(allowed, v)
}

// assign deals problems into folds and draws the pairs within each request; examples are grouped
// by problem already.
func (d *Dataset) assign(st *model.Stats) []Pair {
	type group struct{ pass, fail []int }
	groups := map[string]*group{} // by problem, for the counts
	var order []string
	requests := map[string]*group{}
	var reqOrder []string
	for i, e := range d.Examples {
		g := groups[e.ProblemID]
		if g == nil {
			g = &group{}
			groups[e.ProblemID] = g
			order = append(order, e.ProblemID)
		}
		r := requests[e.GroupKey()]
		if r == nil {
			r = &group{}
			requests[e.GroupKey()] = r
			reqOrder = append(reqOrder, e.GroupKey())
		}
		if e.Label == schemas.Pass {
			g.pass = append(g.pass, i)
			r.pass = append(r.pass, i)
			st.Pass++
		} else {
			g.fail = append(g.fail, i)
			r.fail = append(r.fail, i)
			st.Fail++
		}
	}
	st.Problems, st.Requests = len(order), len(reqOrder)
	if d.Options.Drawn() {
		// Requests counts the requests drawn from; the groups are their draws.
		st.Requests, st.Groups = st.RequestsDrawn+st.RequestsWhole, len(reqOrder)
	}
	slices.Sort(reqOrder)
	fold := DealFolds(order, d.Options.Seed, d.Options.Folds)
	for i := range d.Examples {
		d.Examples[i].Fold = fold[d.Examples[i].ProblemID]
	}
	for _, pid := range order {
		g := groups[pid]
		if len(g.pass) == 0 {
			st.ProblemsWithoutPass++
		}
		if len(g.fail) == 0 {
			st.ProblemsWithoutFail++
		}
	}
	var pairs []Pair
	for _, rid := range reqOrder {
		g := requests[rid]
		if len(g.pass) == 0 || len(g.fail) == 0 {
			st.RequestsWithoutPairs++
			continue
		}
		if d.Options.Drawn() {
			// Every PASS×FAIL pair of the draw, as the chosen loss averages them per request.
			for _, p := range g.pass {
				for _, f := range g.fail {
					pairs = append(pairs, Pair{Pass: p, Fail: f})
				}
			}
			continue
		}
		// One generator per request: a request's pairs do not change when other requests are added.
		h := fnv.New64a()
		h.Write([]byte(rid))
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
	for _, n := range d.Features.Names {
		str(n)
	}
	for _, e := range d.Examples {
		str(e.ProblemID)
		str(e.RequestID)
		if e.Group != "" { // absent without draws, so those hashes are what they were
			str(e.Group)
		}
		str(e.CandidateID)
		str(e.Split)
		str(e.Label)
		num(int64(e.Fold))
		num(int64(e.Copies))
		str(e.Prompt)
		str(e.Code)
		num(int64(len(e.Features)))
		for _, f := range e.Features {
			num(int64(math.Float32bits(f)))
		}
	}
	for _, p := range d.Pairs {
		num(int64(p.Pass))
		num(int64(p.Fail))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// The training export: what train.py reads, written by WriteTrainingFiles.
//
//	meta.json       {"features": [names…], "examples": N, "pairs": P}
//	examples.jsonl  {"i": index, "y": 0 PASS | 1 FAIL, "f": fold, "p": problem, "r": request (its draw with draws),
//	                 "ids": [token ids], "x": [features]}   (p and r: dense indexes)
//	pairs.json      [[pass_index, fail_index], ...]   (same request, drawn in Go)
//
// Features are written with the shortest decimal that reads back as the same float32, so the
// model sees exactly the values RequestFeatures computed, bit for bit.

// TrainingMeta is meta.json.
type TrainingMeta struct {
	Features []string `json:"features"`
	Examples int      `json:"examples"`
	Pairs    int      `json:"pairs"`
}

// WriteTrainingFiles writes the training export of ds into dir.
func WriteTrainingFiles(dir string, ds *Dataset, tok model.Tokenizer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "examples.jsonl"))
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	probIdx, reqIdx := map[string]int{}, map[string]int{}
	index := func(m map[string]int, k string) int {
		i, ok := m[k]
		if !ok {
			i = len(m)
			m[k] = i
		}
		return i
	}
	var line []byte
	for i, e := range ds.Examples {
		if len(e.Features) != len(ds.Features.Names) {
			f.Close()
			return fmt.Errorf("training files: example %d has %d features, the dataset names %d", i, len(e.Features), len(ds.Features.Names))
		}
		for _, v := range e.Features {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				f.Close()
				return fmt.Errorf("training files: example %d (candidate %s) has a non-finite feature %v", i, e.CandidateID, v)
			}
		}
		y := 1
		if e.Label == schemas.Pass {
			y = 0
		}
		line = fmt.Appendf(line[:0], `{"i":%d,"y":%d,"f":%d,"p":%d,"r":%d,"ids":[`, i, y, e.Fold, index(probIdx, e.ProblemID), index(reqIdx, e.GroupKey()))
		for j, id := range tok.Encode(e.Prompt, e.Code) {
			if j > 0 {
				line = append(line, ',')
			}
			line = strconv.AppendInt(line, id, 10)
		}
		line = append(line, `],"x":[`...)
		line = AppendFeatures(line, e.Features)
		line = append(line, "]}\n"...)
		if _, err := w.Write(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	pairs := make([][2]int, len(ds.Pairs))
	for i, p := range ds.Pairs {
		pairs[i] = [2]int{p.Pass, p.Fail}
	}
	b, err := json.Marshal(pairs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pairs.json"), b, 0o644); err != nil {
		return err
	}
	names := ds.Features.Names
	if names == nil {
		names = []string{}
	}
	b, err = json.Marshal(TrainingMeta{Features: names, Examples: len(ds.Examples), Pairs: len(ds.Pairs)})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644)
}

// AppendFeatures appends a feature row as comma-separated decimals that parse back to the same
// float32 values.
func AppendFeatures(dst []byte, row []float32) []byte {
	for j, v := range row {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendFloat(dst, float64(v), 'g', -1, 32)
	}
	return dst
}
