package trainer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
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
	c.Tokenizer = Tokenizer{MaxLen: 64}
	c.Arch = Architecture{DModel: 32, Layers: 1, Heads: 2, FF: 64, Dropout: 0}
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
	reg := Registry{Dir: filepath.Join(dir, "models")}
	m0 := Manifest{Version: NewVersion(time.Now(), ds.Hash), CreatedAt: time.Now().UTC(), Tokenizer: cfg.Tokenizer.Spec(),
		MaxLen: cfg.Tokenizer.MaxLen, Architecture: res.Arch, Training: res.Training, Metrics: m, Dataset: DatasetInfo{Hash: ds.Hash, Stats: ds.Stats}}
	path, err := reg.Register(res.ONNXPath, m0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "model.onnx")); err != nil {
		t.Error(err)
	}
	list, err := reg.List()
	if err != nil || len(list) != 1 || list[0].Version != m0.Version || list[0].ModelSHA256 == "" || list[0].Tokenizer.VocabSize != VocabSize {
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
