package trainer

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/codeverify/codeverify/model"
)

//go:embed tiny_model.py
var tinyModelScript []byte

// TinyModel describes an untrained model for tests and benchmarks: train.py's architecture with
// random weights. Zero fields take train.py's defaults (d_model 128, 2 layers, max length 512).
type TinyModel struct {
	Python string // default DefaultPython
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
// version's directory (serving.LoadModel loads it). It lives here, not in serving, because it needs
// train.py's model definition.
func BuildTinyModel(ctx context.Context, registryDir string, t TinyModel) (string, error) {
	t.Python, t.Seed = cmp.Or(t.Python, DefaultPython), cmp.Or(t.Seed, 1)
	t.MaxLen, t.DModel, t.Layers = cmp.Or(t.MaxLen, 512), cmp.Or(t.DModel, 128), cmp.Or(t.Layers, 2)
	if _, err := CheckPython(ctx, t.Python); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "codeverify-tiny-model-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if _, err := WriteScripts(work); err != nil { // tiny_model.py imports train.py's model
		return "", err
	}
	script := filepath.Join(work, "tiny_model.py")
	if err := os.WriteFile(script, tinyModelScript, 0o644); err != nil {
		return "", err
	}
	onnxPath := filepath.Join(work, "model.onnx")
	heads, ff := 4, 2*t.DModel
	if t.NoText && !t.Features {
		return "", fmt.Errorf("tiny model: without tokens it needs features")
	}
	inputs := []string{model.InputIDs, model.InputMask}
	textWeight := 1.0
	if t.NoText {
		inputs, textWeight = nil, 0
	}
	var spec *model.FeatureSpec
	nFeatures := 0
	if t.Features {
		fs := model.CurrentFeatures()
		spec, nFeatures = &fs, len(fs.Names)
		inputs = append(inputs, model.InputFeatures)
	}
	cmd := exec.CommandContext(ctx, t.Python, "-W", "ignore", script, "--out", onnxPath,
		"--vocab", strconv.Itoa(model.VocabSize), "--max-len", strconv.Itoa(t.MaxLen),
		"--d-model", strconv.Itoa(t.DModel), "--layers", strconv.Itoa(t.Layers), "--heads", strconv.Itoa(heads),
		"--ff", strconv.Itoa(ff), "--seed", strconv.FormatInt(t.Seed, 10),
		"--features", strconv.Itoa(nFeatures), "--text-weight", strconv.FormatFloat(textWeight, 'g', -1, 64))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tiny model export: %v: %s", err, strings.TrimSpace(string(out)))
	}
	tok := model.Tokenizer{MaxLen: t.MaxLen}
	now := time.Now().UTC()
	m := model.Manifest{
		Version:   fmt.Sprintf("tiny-d%d-l%d-n%d-f%d-s%d-%s", t.DModel, t.Layers, t.MaxLen, nFeatures, t.Seed, now.Format("20060102T150405.000000000Z")),
		CreatedAt: now,
		Tokenizer: tok.Spec(),
		MaxLen:    t.MaxLen,
		Architecture: model.Architecture{Kind: "energy-transformer", Vocab: model.VocabSize, MaxLen: t.MaxLen,
			DModel: t.DModel, Layers: t.Layers, Heads: heads, FF: ff, Pooling: "mean", Opset: 17,
			Inputs: strings.Join(inputs, ","), Output: "energy", Features: nFeatures, TextWeight: textWeight, NoText: t.NoText},
		Inputs:   inputs,
		Features: spec,
	}
	return model.Registry{Dir: registryDir}.Register(onnxPath, m)
}
