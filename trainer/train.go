package trainer

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/codeverify/codeverify/model"
)

// TrainConfig is everything train.py is run with besides the data.
type TrainConfig struct {
	Python          string // default DefaultPython
	Tokenizer       model.Tokenizer
	Arch            model.Architecture
	Epochs          int
	BatchSize       int
	LR              float64
	Margin          float64
	PointwiseWeight float64
	Patience        int
	MaxSteps        int // 0: no limit (CI uses a few steps)
	Seed            int64
	Device          string // auto | cpu | cuda
	AMP             string // auto | on | off (mixed precision is CUDA only)
	Threads         int    // torch CPU threads; 0 leaves torch's default
	MetricsK        int    // subset size of the pass@1-of-K protocol (16)
	// NoFeatures trains a code-only model (token inputs only), as before behaviour features.
	NoFeatures bool
	// Objective is how train.py trains: ObjectivePairs (minibatches of pairs plus a pointwise term,
	// AdamW, epochs with early stopping) or ObjectiveRequest (the cross-validated recipe: margin ranking averaged
	// per request then over requests, L2 on the feature head's weights, Adam, MaxSteps steps over
	// BatchSize requests, 0 = full batch; epochs and patience unused).
	Objective string
	L2        float64 // ObjectiveRequest: L2 on the feature head's weights (not its biases)
	// Log receives train.py's non-progress output (warnings, tracebacks); OnEvent its progress.
	Log     io.Writer
	OnEvent func(Event)
}

// Training objectives (TrainConfig.Objective).
const (
	ObjectivePairs   = "pairs"
	ObjectiveRequest = "request"
)

// RecipeTrainConfig is the production verifier's recipe, the one the offline experiment chose
// (research A3): a linear energy b + w·x on the standardised behaviour features (std + 1e-6), no
// token branch, w and b from 0, margin-ranking loss max(0, 1 − (E_fail − E_pass)) over the PASS×FAIL
// pairs of each request, averaged per request and over requests, L2 1e-4 on w, Adam lr 0.01, 600
// full-batch steps. Train it on draws of 16 candidates (BuildOptions.Draws), as the reranker serves.
func RecipeTrainConfig() TrainConfig {
	c := DefaultTrainConfig()
	c.Arch.NoText, c.Arch.FeatureHidden, c.Arch.TextDropout = true, 0, 0
	c.Objective, c.LR, c.L2, c.Margin, c.PointwiseWeight = ObjectiveRequest, 0.01, 1e-4, 1, 0
	c.MaxSteps, c.BatchSize, c.Epochs, c.Patience = 600, 0, 1, 1
	return c
}

// DefaultTrainConfig trains the tokens + features model: batch 64, ~10 epochs, AdamW, a small encoder.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Python:    DefaultPython,
		Tokenizer: model.Tokenizer{MaxLen: 512},
		Arch:      model.Architecture{DModel: 128, Layers: 2, Heads: 4, FF: 256, Dropout: 0.1, FeatureHidden: 32, TextWeight: 1, TextDropout: 0.5},
		Epochs:    10, BatchSize: 64, LR: 3e-4, Margin: 1, PointwiseWeight: 0.5, Patience: 3, Seed: 1,
		Device: "auto", AMP: "auto", MetricsK: 16, Objective: ObjectivePairs, L2: 1e-4,
	}
}

// Validate reports why the config cannot train.
func (c TrainConfig) Validate() error {
	if err := c.Tokenizer.Validate(); err != nil {
		return err
	}
	if err := c.Arch.Validate(); err != nil {
		return err
	}
	switch c.objective() {
	case ObjectivePairs:
		if c.BatchSize < 1 {
			return fmt.Errorf("train: batch size %d: the pairs objective needs ≥ 1 pairs per step", c.BatchSize)
		}
	case ObjectiveRequest:
		if c.MaxSteps < 1 || c.BatchSize < 0 || c.L2 < 0 {
			return fmt.Errorf("train: the request objective needs max steps ≥ 1 (got %d), batch size ≥ 0 requests (0: all; got %d), l2 ≥ 0 (got %g)", c.MaxSteps, c.BatchSize, c.L2)
		}
	default:
		return fmt.Errorf("train: objective %q: want %s or %s", c.Objective, ObjectivePairs, ObjectiveRequest)
	}
	switch {
	case c.Epochs < 1 || c.BatchSize < 0 || c.Patience < 1 || c.MaxSteps < 0 || c.MetricsK < 1:
		return fmt.Errorf("train: epochs %d, batch size %d, patience %d, metrics k %d must be ≥ 1 (max steps ≥ 0)", c.Epochs, c.BatchSize, c.Patience, c.MetricsK)
	case c.LR <= 0 || c.Margin < 0 || c.PointwiseWeight < 0:
		return fmt.Errorf("train: lr %g must be > 0, margin %g and pointwise weight %g ≥ 0", c.LR, c.Margin, c.PointwiseWeight)
	case c.Device != "auto" && c.Device != "cpu" && c.Device != "cuda":
		return fmt.Errorf("train: device %q: want auto, cpu or cuda", c.Device)
	case c.AMP != "auto" && c.AMP != "on" && c.AMP != "off":
		return fmt.Errorf("train: amp %q: want auto, on or off", c.AMP)
	}
	return nil
}

func (c TrainConfig) objective() string { return cmp.Or(c.Objective, ObjectivePairs) }

// ParityTolerance bounds max |onnx − torch| over the parity batches; a model beyond it is not
// registered.
const ParityTolerance = 1e-5

// architecture completes Arch with what the tokenizer and exporter fix.
func (c TrainConfig) architecture() model.Architecture {
	a := c.Arch
	a.Vocab, a.MaxLen, a.Pooling, a.Opset = model.VocabSize, c.Tokenizer.MaxLen, "masked mean", 17
	return a
}

// archWithDefaults gives the zero text weight its default (1). A zero feature width is the linear head.
func archWithDefaults(a model.Architecture) model.Architecture {
	if a.TextWeight == 0 {
		a.TextWeight = 1
	}
	return a
}

// completeArch fills the descriptive fields that depend on which branches the model has.
func completeArch(a model.Architecture) model.Architecture {
	a.Output = "energy: float32 [batch], low = likely PASS"
	switch {
	case !a.NoText && a.Features > 0 && a.FeatureHidden == 0:
		a.Kind = "pre-norm transformer encoder on tokens + linear on standardised behaviour features, summed → scalar energy"
	case !a.NoText && a.Features > 0:
		a.Kind = "pre-norm transformer encoder on tokens + MLP on behaviour features, summed → scalar energy"
	case a.Features > 0 && a.FeatureHidden == 0:
		a.Kind = "linear on standardised behaviour features → scalar energy (b + w·(x − mean)/std)"
	case a.Features > 0:
		a.Kind = "MLP on behaviour features → scalar energy"
	default:
		a.Kind = "pre-norm transformer encoder → scalar energy"
	}
	var in []string
	if !a.NoText {
		in = append(in, "input_ids, attention_mask: int64 [batch, sequence]")
	}
	if a.Features > 0 {
		in = append(in, fmt.Sprintf("features: float32 [batch, %d]", a.Features))
	} else {
		a.FeatureHidden = 0
	}
	if a.NoText {
		a.TextWeight, a.TextDropout = 0, 0
	}
	a.Inputs = strings.Join(in, "; ")
	return a
}

// FoldResult is one training run: the exported model, how it was trained, and its validation metrics.
type FoldResult struct {
	ONNXPath string
	Arch     model.Architecture
	Inputs   []string           // the graph's input names (Manifest.Inputs)
	Features *model.FeatureSpec // the behaviour features it reads; nil: code only
	Training model.TrainingInfo
	Metrics  model.Metrics
}

// TrainFold trains on every fold but valFold, validates (early stopping, metrics) on valFold,
// exports ONNX and checks parity (train.py fails when |onnx - torch| > 1e-4). dataDir holds the
// files of WriteTrainingFiles; outDir receives train.py's outputs.
func TrainFold(ctx context.Context, ds *Dataset, cfg TrainConfig, valFold int, dataDir, outDir string) (*FoldResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if valFold < 0 || valFold >= ds.Options.Folds {
		return nil, fmt.Errorf("train: validation fold %d of %d", valFold, ds.Options.Folds)
	}
	python := cfg.Python
	if python == "" {
		python = DefaultPython
	}
	if _, err := CheckPython(ctx, python); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	script, err := WriteScripts(outDir)
	if err != nil {
		return nil, err
	}
	a := archWithDefaults(cfg.Arch)
	features := len(ds.Features.Names)
	if cfg.NoFeatures {
		features = 0
		if a.NoText {
			return nil, fmt.Errorf("train: a model without features and without the token branch reads nothing")
		}
	}
	textWeight := a.TextWeight
	if a.NoText {
		textWeight = 0
	}
	args := []string{
		"--data", dataDir, "--out", outDir, "--val-fold", strconv.Itoa(valFold),
		"--vocab", strconv.Itoa(model.VocabSize), "--max-len", strconv.Itoa(cfg.Tokenizer.MaxLen),
		"--d-model", strconv.Itoa(a.DModel), "--layers", strconv.Itoa(a.Layers), "--heads", strconv.Itoa(a.Heads),
		"--ff", strconv.Itoa(a.FF), "--dropout", ftoa(a.Dropout),
		"--epochs", strconv.Itoa(cfg.Epochs), "--batch-size", strconv.Itoa(cfg.BatchSize), "--lr", ftoa(cfg.LR),
		"--margin", ftoa(cfg.Margin), "--pointwise-weight", ftoa(cfg.PointwiseWeight),
		"--patience", strconv.Itoa(cfg.Patience), "--max-steps", strconv.Itoa(cfg.MaxSteps),
		"--seed", strconv.FormatInt(cfg.Seed, 10), "--device", cfg.Device, "--amp", cfg.AMP,
		"--threads", strconv.Itoa(cfg.Threads), "--opset", "17", "--parity-tol", ftoa(ParityTolerance),
		"--features", strconv.Itoa(features), "--feature-hidden", strconv.Itoa(a.FeatureHidden),
		"--text-weight", ftoa(textWeight), "--text-dropout", ftoa(a.TextDropout),
		"--objective", cfg.objective(), "--l2", ftoa(cfg.L2),
	}
	if err := runPython(ctx, python, script, args, cfg.OnEvent, cfg.Log); err != nil {
		return nil, err
	}
	// result.json carries the measured half of TrainingInfo (same JSON names); the config half is ours.
	var res model.TrainingInfo
	b, err := os.ReadFile(filepath.Join(outDir, "result.json"))
	if err != nil {
		return nil, fmt.Errorf("train.py wrote no result: %w", err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("train.py result: %w", err)
	}
	// train.py exits non-zero on a parity failure; this guards against a result that says otherwise.
	if !(res.ParityMaxAbsDiff <= ParityTolerance) {
		return nil, fmt.Errorf("parity check failed: max |onnx - torch| = %g > %g", res.ParityMaxAbsDiff, ParityTolerance)
	}
	energies, err := readScores(filepath.Join(outDir, "scores.jsonl"))
	if err != nil {
		return nil, err
	}
	for i := range energies {
		if i < 0 || i >= len(ds.Examples) || ds.Examples[i].Fold != valFold {
			return nil, fmt.Errorf("train.py scored example %d, which is not a validation example", i)
		}
	}
	arch := cfg.architecture()
	arch.FeatureHidden, arch.TextWeight = a.FeatureHidden, a.TextWeight
	arch.Features = features
	arch = completeArch(arch)
	res2 := &FoldResult{
		ONNXPath: filepath.Join(outDir, "model.onnx"),
		Arch:     arch,
		Inputs:   arch.InputNames(),
		Training: withConfig(res, cfg, valFold, ds.Options.Folds),
		Metrics:  ComputeMetrics(scoredFromExamples(ds.Examples, energies), cfg.MetricsK),
	}
	if ds.Options.Drawn() {
		// The figures are means over the validation draws; ValProblems counts the problems.
		problems := map[string]bool{}
		for i := range energies {
			problems[ds.Examples[i].ProblemID] = true
		}
		res2.Metrics.ValProblems = len(problems)
	}
	if features > 0 {
		spec := ds.Features
		res2.Features = &spec
	}
	return res2, nil
}

// withConfig completes what train.py measured with how it was asked to train.
func withConfig(t model.TrainingInfo, cfg TrainConfig, valFold, folds int) model.TrainingInfo {
	t.Epochs, t.BatchSize, t.LR, t.Margin, t.PointwiseWeight = cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.Margin, cfg.PointwiseWeight
	t.Patience, t.MaxSteps, t.Seed, t.ValFold, t.Folds = cfg.Patience, cfg.MaxSteps, cfg.Seed, valFold, folds
	t.Objective = cfg.objective()
	if t.Objective == ObjectiveRequest {
		t.L2 = cfg.L2
	}
	return t
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func readScores(path string) (map[int]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train.py wrote no scores: %w", err)
	}
	defer f.Close()
	out := map[int]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			I int     `json:"i"`
			E float64 `json:"e"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[r.I] = r.E
	}
	return out, sc.Err()
}
