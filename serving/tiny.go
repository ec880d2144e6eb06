package serving

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/codeverify/codeverify/trainer"
)

//go:embed tiny_model.py
var tinyModelScript []byte

// TinyModel describes an untrained model for tests and benchmarks: trainer/train.py's architecture
// with random weights. Zero fields take train.py's defaults (d_model 128, 2 layers, max length 512).
type TinyModel struct {
	Python string // default trainer.DefaultPython
	MaxLen int
	DModel int
	Layers int
	Seed   int64
	// Features adds the behaviour-feature input (this build's verifier features); NoText drops the
	// token inputs (a features-only model; needs Features).
	Features bool
	NoText   bool
}

// BuildTinyModel exports a TinyModel and registers it in the registry at registryDir, returning the
// loaded version.
func BuildTinyModel(ctx context.Context, registryDir string, t TinyModel) (Model, error) {
	if t.Python == "" {
		t.Python = trainer.DefaultPython
	}
	if t.MaxLen == 0 {
		t.MaxLen = 512
	}
	if t.DModel == 0 {
		t.DModel = 128
	}
	if t.Layers == 0 {
		t.Layers = 2
	}
	if t.Seed == 0 {
		t.Seed = 1
	}
	if _, err := trainer.CheckPython(ctx, t.Python); err != nil {
		return Model{}, err
	}
	work, err := os.MkdirTemp("", "codeverify-tiny-model-")
	if err != nil {
		return Model{}, err
	}
	defer os.RemoveAll(work)
	if _, err := trainer.WriteScripts(work); err != nil { // tiny_model.py imports train.py's model
		return Model{}, err
	}
	script := filepath.Join(work, "tiny_model.py")
	if err := os.WriteFile(script, tinyModelScript, 0o644); err != nil {
		return Model{}, err
	}
	onnxPath := filepath.Join(work, "model.onnx")
	heads, ff := 4, 2*t.DModel
	if t.NoText && !t.Features {
		return Model{}, fmt.Errorf("tiny model: without tokens it needs features")
	}
	inputs := []string{trainer.InputIDs, trainer.InputMask}
	textWeight := 1.0
	if t.NoText {
		inputs, textWeight = nil, 0
	}
	var spec *trainer.FeatureSpec
	nFeatures := 0
	if t.Features {
		fs := trainer.CurrentFeatures()
		spec, nFeatures = &fs, len(fs.Names)
		inputs = append(inputs, trainer.InputFeatures)
	}
	cmd := exec.CommandContext(ctx, t.Python, "-W", "ignore", script, "--out", onnxPath,
		"--vocab", strconv.Itoa(trainer.VocabSize), "--max-len", strconv.Itoa(t.MaxLen),
		"--d-model", strconv.Itoa(t.DModel), "--layers", strconv.Itoa(t.Layers), "--heads", strconv.Itoa(heads),
		"--ff", strconv.Itoa(ff), "--seed", strconv.FormatInt(t.Seed, 10),
		"--features", strconv.Itoa(nFeatures), "--text-weight", strconv.FormatFloat(textWeight, 'g', -1, 64))
	if out, err := cmd.CombinedOutput(); err != nil {
		return Model{}, fmt.Errorf("tiny model export: %v: %s", err, strings.TrimSpace(string(out)))
	}
	tok := trainer.Tokenizer{MaxLen: t.MaxLen}
	now := time.Now().UTC()
	m := trainer.Manifest{
		Version:   fmt.Sprintf("tiny-d%d-l%d-n%d-f%d-s%d-%s", t.DModel, t.Layers, t.MaxLen, nFeatures, t.Seed, now.Format("20060102T150405.000000000Z")),
		CreatedAt: now,
		Tokenizer: tok.Spec(),
		MaxLen:    t.MaxLen,
		Architecture: trainer.Architecture{Kind: "energy-transformer", Vocab: trainer.VocabSize, MaxLen: t.MaxLen,
			DModel: t.DModel, Layers: t.Layers, Heads: heads, FF: ff, Pooling: "mean", Opset: 17,
			Inputs: strings.Join(inputs, ","), Output: "energy", Features: nFeatures, TextWeight: textWeight, NoText: t.NoText},
		Inputs:   inputs,
		Features: spec,
	}
	dir, err := trainer.Registry{Dir: registryDir}.Register(onnxPath, m)
	if err != nil {
		return Model{}, err
	}
	return LoadModel(dir)
}
