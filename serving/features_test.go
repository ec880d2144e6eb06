package serving

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/trainer"
)

// recordingScorer remembers every feature row the reranker hands the session, in call order.
type recordingScorer struct {
	*Session
	rows [][]float32
}

func (r *recordingScorer) ScoreFeatures(ctx context.Context, ids, masks [][]int64, features [][]float32) ([]float32, error) {
	r.rows = append(r.rows, features...)
	return r.Session.ScoreFeatures(ctx, ids, masks, features)
}

// behaviourSet is problems × n candidates of distinct code, with behaviours on 5 generated tests
// (fingerprints included) that make PASS candidates agree more often than FAIL ones.
func behaviourSet(problems, n int) ([]schemas.Problem, []schemas.Candidate, []schemas.Verdict, []schemas.Behavior) {
	var ps []schemas.Problem
	var cs []schemas.Candidate
	var vs []schemas.Verdict
	var bs []schemas.Behavior
	for p := range problems {
		pid := fmt.Sprintf("p%02d", p)
		rid := pid + "/req"
		ps = append(ps, schemas.Problem{ProblemID: pid, Benchmark: "mbpp", Split: "train", Prompt: fmt.Sprintf("def f%d(x):", p)})
		for i := range n {
			id := schemas.CandidateID(rid, i)
			pass := (i+p)%3 == 0
			label := schemas.Fail
			if pass {
				label = schemas.Pass
			}
			cs = append(cs, schemas.Candidate{CandidateID: id, RequestID: rid, ProblemID: pid, Split: "train", SampleIndex: int32(i),
				Code: fmt.Sprintf("def f%d(x):\n    return x * %d\n", p, i)})
			vs = append(vs, schemas.Verdict{CandidateID: id, ProblemID: pid, Label: label, ExecutedAtMs: 1})
			var res []schemas.GeneratedTestResult
			for t := range 5 {
				st, fp := schemas.TestFail, fmt.Sprintf("out%d-%d", t, i)
				if pass || (i*7+t)%4 == 0 {
					st, fp = schemas.TestPass, fmt.Sprintf("out%d", t)
				}
				if (i+t)%5 == 4 && !pass {
					st, fp = schemas.TestError, ""
				}
				res = append(res, schemas.GeneratedTestResult{TestID: fmt.Sprintf("t%d", t), Frequency: int32(1 + t%2), Status: st, Fingerprint: fp})
			}
			// One candidate per request has no behaviour: it gets the features of "no tests".
			if i != n-1 {
				bs = append(bs, schemas.Behavior{CandidateID: id, RequestID: rid, ProblemID: pid, Results: res, ExecutedAtMs: 1})
			}
		}
	}
	return ps, cs, vs, bs
}

// TestTrainingAndServingFeaturesAgree: the features the training export wrote for a request and the
// ones the streaming reranker computes from the same behaviours are the same float32 bits, and the
// energy ONNX Runtime gives for them equals the one torch gave in training.
func TestTrainingAndServingFeaturesAgree(t *testing.T) {
	lib := needORT(t)
	if _, err := trainer.CheckPython(context.Background(), trainer.DefaultPython); err != nil {
		t.Skip(err)
	}
	ps, cs, vs, bs := behaviourSet(12, 6)
	ds, err := trainer.BuildWithBehaviors(ps, cs, vs, bs, trainer.BuildOptions{K: 2, Seed: 1, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Stats.Examples != len(cs) {
		t.Fatalf("%d examples of %d candidates: the test needs every candidate as an example", ds.Stats.Examples, len(cs))
	}
	cfg := trainer.DefaultTrainConfig()
	cfg.Tokenizer = model.Tokenizer{MaxLen: 64}
	cfg.Arch = model.Architecture{DModel: 16, Layers: 1, Heads: 2, FF: 32, FeatureHidden: 8, TextWeight: 1, TextDropout: 0.5}
	cfg.Epochs, cfg.BatchSize, cfg.MaxSteps, cfg.Threads, cfg.Device, cfg.LR = 2, 8, 6, 1, "cpu", 3e-3
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := trainer.WriteTrainingFiles(data, ds, cfg.Tokenizer); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := trainer.TrainFold(ctx, ds, cfg, 0, data, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	vdir, err := model.Registry{Dir: filepath.Join(dir, "models")}.Register(res.ONNXPath, model.Manifest{
		Version: model.NewVersion(now, ds.Hash), CreatedAt: now, Tokenizer: cfg.Tokenizer.Spec(), MaxLen: cfg.Tokenizer.MaxLen,
		Architecture: res.Arch, Inputs: res.Inputs, Features: res.Features})
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(vdir)
	if err != nil {
		t.Fatal(err)
	}
	o := m.Options()
	o.Library, o.Provider = lib, ProviderCPU
	sess, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	// Training side: the exported rows and torch's energies of the validation examples, by candidate.
	type exported struct {
		x      []float32
		energy float64
		val    bool
	}
	byCand := map[string]*exported{}
	readJSONL(t, filepath.Join(data, "examples.jsonl"), func(line []byte) {
		var r struct {
			I int       `json:"i"`
			X []float64 `json:"x"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		row := make([]float32, len(r.X))
		for i, v := range r.X {
			row[i] = float32(v)
		}
		byCand[ds.Examples[r.I].CandidateID] = &exported{x: row}
	})
	readJSONL(t, filepath.Join(dir, "out", "scores.jsonl"), func(line []byte) {
		var r struct {
			I int     `json:"i"`
			E float64 `json:"e"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		e := byCand[ds.Examples[r.I].CandidateID]
		e.energy, e.val = r.E, true
	})

	// Serving side: the streaming reranker joins candidates, prompts and behaviours per request.
	rec := &recordingScorer{Session: sess}
	p, err := reranker.New(reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: rec, MaxBatch: 4,
		Features: m.Manifest.FeatureNames()}, reranker.Options{Bound: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	prompt := map[string]string{}
	for _, pr := range ps {
		prompt[pr.ProblemID] = pr.Prompt
	}
	// Behaviours first, candidates in reverse: arrival order must not matter.
	for _, b := range bs {
		if err := p.AddBehavior(b, t0); err != nil {
			t.Fatal(err)
		}
	}
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		p.Expect(c.RequestID, 6, t0)
		if err := p.Add(reranker.Candidate{RequestID: c.RequestID, CandidateID: c.CandidateID, Prompt: prompt[c.ProblemID], Code: c.Code}, t0); err != nil {
			t.Fatal(err)
		}
	}
	// Every request lacks one behaviour: it is scored at the bound, partial.
	scores, sels, err := p.Flush(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != len(cs) || len(sels) != len(ps) || len(rec.rows) != len(scores) {
		t.Fatalf("%d scores, %d selections, %d feature rows for %d candidates", len(scores), len(sels), len(rec.rows), len(cs))
	}
	compared := 0
	for i, sc := range scores {
		e := byCand[sc.CandidateID]
		for j := range e.x {
			if math.Float32bits(e.x[j]) != math.Float32bits(rec.rows[i][j]) {
				t.Fatalf("candidate %s feature %s: exported %v, served %v", sc.CandidateID, ds.Features.Names[j], e.x[j], rec.rows[i][j])
			}
		}
		if e.val {
			compared++
			if d := math.Abs(float64(sc.Energy) - e.energy); d > trainer.ParityTolerance {
				t.Errorf("candidate %s: onnxruntime %v, torch %v (|Δ| %g)", sc.CandidateID, sc.Energy, e.energy, d)
			}
		}
	}
	if compared == 0 {
		t.Fatal("no validation candidate compared")
	}
	t.Logf("%d candidates: features bit-identical; %d validation energies within %g of torch", len(scores), compared, trainer.ParityTolerance)
}

func readJSONL(t *testing.T, path string, fn func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
