package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
)

// requireTorch fails (skips only with CODEVERIFY_SKIP_TORCH=1) when Debian's python lacks torch:
// make test installs it (deploy/setup-debian.sh), so a missing torch is a broken setup.
func requireTorch(t *testing.T) {
	t.Helper()
	if _, err := CheckPython(context.Background(), DefaultPython); err != nil {
		if os.Getenv("CODEVERIFY_SKIP_TORCH") == "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
}

// tinyConfig is a model small enough to train in seconds on a loaded 2-core machine.
func tinyConfig() TrainConfig {
	c := DefaultTrainConfig()
	c.Tokenizer = model.Tokenizer{MaxLen: 64}
	c.Arch = model.Architecture{DModel: 32, Layers: 1, Heads: 2, FF: 64, Dropout: 0, FeatureHidden: 16, TextWeight: 1}
	c.Epochs, c.BatchSize, c.LR, c.Patience, c.Threads, c.Device = 6, 32, 3e-3, 6, 1, "cpu"
	return c
}

// TestPlantedSignalIsLearned: PASS programs carry a marker FAILs never have; a model that learns
// anything at all must rank them apart on problems it never saw.
func TestPlantedSignalIsLearned(t *testing.T) {
	requireTorch(t)
	ps, cs, vs := labeled(40, 8, "train", func(p, i int) bool { return i < 3 })
	ds, err := Build(ps, cs, vs, BuildOptions{K: 3, Seed: 1, Folds: 4})
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig()
	dir := t.TempDir()
	if err := WriteTrainingFiles(filepath.Join(dir, "data"), ds, cfg.Tokenizer); err != nil {
		t.Fatal(err)
	}
	var events []string
	cfg.OnEvent = func(e Event) { events = append(events, e.Name) }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := TrainFold(ctx, ds, cfg, 0, filepath.Join(dir, "data"), filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	t.Logf("planted signal in %s: %+v", time.Since(start).Round(time.Millisecond), m)
	if m.ValProblems != 10 || m.ValExamples != 80 {
		t.Errorf("validated on %d problems / %d examples, want one fold of 10 / 80", m.ValProblems, m.ValExamples)
	}
	if m.PairwiseAccuracy < 0.9 || m.AUROC < 0.9 || m.VerifierPass1AtK < 0.9 {
		t.Errorf("did not learn the planted signal: pairwise %.3f, auroc %.3f, pass@1 of 8 %.3f (random %.3f)", m.PairwiseAccuracy, m.AUROC, m.VerifierPass1AtK, m.RandomPass1)
	}
	if res.Training.ParityMaxAbsDiff > 1e-4 || res.Training.Steps == 0 {
		t.Errorf("training info %+v", res.Training)
	}
	if len(events) == 0 || events[0] != "start" || events[len(events)-1] != "done" {
		t.Errorf("progress events %v", events)
	}
	if _, err := os.Stat(res.ONNXPath); err != nil {
		t.Error(err)
	}

	// Registry: a version appears whole, can be listed and read back, and is never overwritten.
	reg := model.Registry{Dir: filepath.Join(dir, "models")}
	m0 := model.Manifest{Version: model.NewVersion(time.Now(), ds.Hash), CreatedAt: time.Now().UTC(), Tokenizer: cfg.Tokenizer.Spec(),
		MaxLen: cfg.Tokenizer.MaxLen, Architecture: res.Arch, Training: res.Training, Metrics: m, Dataset: model.DatasetInfo{Hash: ds.Hash, Stats: ds.Stats}}
	path, err := reg.Register(res.ONNXPath, m0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "model.onnx")); err != nil {
		t.Error(err)
	}
	list, err := reg.List()
	if err != nil || len(list) != 1 || list[0].Version != m0.Version || list[0].ModelSHA256 == "" || list[0].Tokenizer.VocabSize != model.VocabSize {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := reg.Register(res.ONNXPath, m0); err == nil {
		t.Error("a version was registered twice")
	}
	if _, err := reg.Get("../etc"); err == nil {
		t.Error("a path as version was accepted")
	}
}

func TestMissingTorchIsAClearError(t *testing.T) {
	_, err := CheckPython(context.Background(), "/bin/false")
	if !errors.Is(err, ErrNoTorch) {
		t.Fatalf("got %v", err)
	}
}

// withBehaviors gives each candidate of labeled() a behaviour on 4 generated tests: a PASS passes
// the first three (one agreement group), a FAIL passes test pass(p, i)-free subsets of its own, and
// the code carries no label: every candidate's code is the same but for its index.
func withBehaviors(cs []schemas.Candidate, vs []schemas.Verdict) []schemas.Behavior {
	label := map[string]string{}
	for _, v := range vs {
		label[v.CandidateID] = v.Label
	}
	var bs []schemas.Behavior
	for i := range cs {
		c := &cs[i]
		c.Code = fmt.Sprintf("def f():\n    return g(%d)\n", c.SampleIndex)
		c.RequestID = c.ProblemID + "#r"
		var res []schemas.GeneratedTestResult
		for t := range 4 {
			st := schemas.TestFail
			if label[c.CandidateID] == schemas.Pass && t < 3 || label[c.CandidateID] != schemas.Pass && t == int(c.SampleIndex)%4 {
				st = schemas.TestPass
			}
			res = append(res, schemas.GeneratedTestResult{TestID: fmt.Sprintf("t%d", t), Frequency: 1, Status: st})
		}
		bs = append(bs, schemas.Behavior{CandidateID: c.CandidateID, RequestID: c.RequestID, ProblemID: c.ProblemID, Results: res, ExecutedAtMs: 1})
	}
	return bs
}

// TestPlantedBehaviourIsLearned: only the behaviours separate PASS from FAIL (the code does not); a
// model with features must rank them apart on problems it never saw, and the export carries each
// request's RequestFeatures rows bit for bit.
func TestPlantedBehaviourIsLearned(t *testing.T) {
	requireTorch(t)
	ps, cs, vs := labeled(40, 8, "train", func(p, i int) bool { return i < 3 })
	bs := withBehaviors(cs, vs)
	ds, err := BuildWithBehaviors(ps, cs, vs, bs, BuildOptions{K: 3, Seed: 1, Folds: 4})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Stats.ExamplesWithBehavior != 320 || ds.Stats.Requests != 40 || len(ds.Features.Names) == 0 {
		t.Fatalf("stats %+v, features %v", ds.Stats, ds.Features.Names)
	}
	cfg := tinyConfig()
	cfg.Arch.TextDropout = 0.5
	cfg.Epochs = 4
	dir := t.TempDir()
	if err := WriteTrainingFiles(filepath.Join(dir, "data"), ds, cfg.Tokenizer); err != nil {
		t.Fatal(err)
	}
	// The exported rows are RequestFeatures of the request, recomputed here from the behaviours.
	exported := readExportedFeatures(t, filepath.Join(dir, "data", "examples.jsonl"))
	byReq := map[string][]string{}
	for _, c := range cs {
		byReq[c.RequestID] = append(byReq[c.RequestID], c.CandidateID)
	}
	beh := model.NewestBehaviors(bs)
	for i, e := range ds.Examples {
		ids := byReq[e.RequestID]
		want := model.RequestFeatures(ids, beh)[slices.Index(ids, e.CandidateID)]
		if !slices.Equal(exported[i], want) {
			t.Fatalf("example %d: exported %v, recomputed %v", i, exported[i], want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := TrainFold(ctx, ds, cfg, 0, filepath.Join(dir, "data"), filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	t.Logf("planted behaviour in %s: %+v", time.Since(start).Round(time.Millisecond), m)
	if m.PairwiseAccuracy < 0.9 || m.AUROC < 0.9 {
		t.Errorf("did not learn the planted behaviour: pairwise %.3f, auroc %.3f", m.PairwiseAccuracy, m.AUROC)
	}
	if res.Features == nil || !slices.Equal(res.Features.Names, ds.Features.Names) || !slices.Equal(res.Inputs, []string{model.InputIDs, model.InputMask, model.InputFeatures}) {
		t.Errorf("inputs %v, features %+v", res.Inputs, res.Features)
	}
	if res.Training.ParityMaxAbsDiff > ParityTolerance {
		t.Errorf("parity %g", res.Training.ParityMaxAbsDiff)
	}

	// Features only (no token branch): the graph has the features input alone.
	cfg.Arch.NoText = true
	res, err = TrainFold(ctx, ds, cfg, 0, filepath.Join(dir, "data"), filepath.Join(dir, "out-features"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Inputs, []string{model.InputFeatures}) || res.Metrics.PairwiseAccuracy < 0.9 {
		t.Errorf("features only: inputs %v, pairwise %.3f", res.Inputs, res.Metrics.PairwiseAccuracy)
	}
}

// readExportedFeatures reads the "x" rows of examples.jsonl as float32, as train.py does.
func readExportedFeatures(t *testing.T, path string) [][]float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			X []float64 `json:"x"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		row := make([]float32, len(r.X))
		for i, v := range r.X {
			row[i] = float32(v)
		}
		out = append(out, row)
	}
	return out
}

// TestRecipeLinearOnDraws: the production recipe (RecipeTrainConfig: linear energy on the features,
// no token branch, the request objective) trained on draws learns the planted behaviour, exports a
// graph with the features input alone and passes parity.
func TestRecipeLinearOnDraws(t *testing.T) {
	requireTorch(t)
	ps, cs, vs := labeled(24, 20, "train", func(p, i int) bool { return i%4 == 0 })
	bs := withBehaviors(cs, vs)
	ds, err := BuildWithBehaviors(ps, cs, vs, bs, BuildOptions{K: 1, Seed: 1, Folds: 4, DrawSize: 8, Draws: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Stats.Groups != 24*3 || ds.Stats.Examples != 24*3*8 {
		t.Fatalf("stats %+v", ds.Stats)
	}
	cfg := RecipeTrainConfig()
	cfg.Tokenizer, cfg.Threads, cfg.Device, cfg.MaxSteps = model.Tokenizer{MaxLen: 64}, 1, "cpu", 200
	dir := t.TempDir()
	if err := WriteTrainingFiles(filepath.Join(dir, "data"), ds, cfg.Tokenizer); err != nil {
		t.Fatal(err)
	}
	var linear map[string]any
	cfg.OnEvent = func(e Event) {
		if e.Name == "linear" {
			linear = e.Fields
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := TrainFold(ctx, ds, cfg, 1, filepath.Join(dir, "data"), filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	t.Logf("recipe on draws: %+v; linear head %v", m, linear)
	if !slices.Equal(res.Inputs, []string{model.InputFeatures}) || res.Arch.FeatureHidden != 0 || !res.Arch.NoText || !strings.HasPrefix(res.Arch.Kind, "linear") {
		t.Errorf("inputs %v, arch %+v", res.Inputs, res.Arch)
	}
	if res.Training.Objective != ObjectiveRequest || res.Training.Steps != 200 || res.Training.L2 != 1e-4 || res.Training.ParityMaxAbsDiff > ParityTolerance {
		t.Errorf("training %+v", res.Training)
	}
	// The planted signal reaches the features through the CodeT score alone (PASS candidates pass
	// three tests, FAILs one), so PASS candidates tie among themselves: pairwise accuracy well above
	// chance and a pick far better than random are what a working trainer gives.
	if m.PairwiseAccuracy < 0.8 || m.VerifierPass1AtK < m.RandomPass1+0.2 || m.ValProblems != 6 || linear == nil {
		t.Errorf("did not learn the planted behaviour on 6 held-out problems: %+v (linear %v)", m, linear)
	}
}
