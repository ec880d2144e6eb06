package serving

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/codeverify/codeverify/model"
)

// Model is one registered verifier version, checked and ready to open.
type Model struct {
	Dir       string
	Path      string // model.onnx
	Manifest  model.Manifest
	Tokenizer model.Tokenizer
}

// LoadModel reads a model version directory (manifest.json + model.onnx) or, given a registry
// directory, its newest version. It checks the file against the manifest's sha256 so a truncated or
// swapped file is a clear error here rather than a parse failure later.
func LoadModel(dir string) (Model, error) {
	var m Model
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); errors.Is(err, os.ErrNotExist) {
		versions, err := model.Registry{Dir: dir}.List()
		if err != nil {
			return m, fmt.Errorf("model registry %s: %w", dir, err)
		}
		if len(versions) == 0 {
			return m, fmt.Errorf("model %s: neither a version directory (no manifest.json) nor a registry with versions", dir)
		}
		dir = filepath.Join(dir, versions[len(versions)-1].Version)
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return m, fmt.Errorf("model %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m.Manifest); err != nil {
		return m, fmt.Errorf("model %s: manifest.json: %w", dir, err)
	}
	mf := m.Manifest
	if mf.Tokenizer.Kind != model.TokenizerKind {
		return m, fmt.Errorf("model %s: tokenizer %q, this build speaks %q", dir, mf.Tokenizer.Kind, model.TokenizerKind)
	}
	want := model.Tokenizer{MaxLen: mf.Tokenizer.MaxLen}.Spec()
	want.Truncation = mf.Tokenizer.Truncation // prose, not a parameter
	if mf.Tokenizer != want {
		return m, fmt.Errorf("model %s: tokenizer spec %+v differs from this build's %+v", dir, mf.Tokenizer, want)
	}
	if mf.MaxLen < 8 || mf.MaxLen < mf.Tokenizer.MaxLen {
		return m, fmt.Errorf("model %s: max length %d cannot hold the tokenizer's %d", dir, mf.MaxLen, mf.Tokenizer.MaxLen)
	}
	if mf.Architecture.Vocab != 0 && mf.Architecture.Vocab < mf.Tokenizer.VocabSize {
		return m, fmt.Errorf("model %s: vocabulary %d smaller than the tokenizer's %d", dir, mf.Architecture.Vocab, mf.Tokenizer.VocabSize)
	}
	// The inputs the graph must have, and the behaviour features it reads, named as this build's
	// verifier computes them: the same column must mean the same thing in training and serving.
	hasFeatures := slices.Contains(mf.ModelInputs(), model.InputFeatures)
	if hasFeatures != (len(mf.FeatureNames()) > 0) {
		return m, fmt.Errorf("model %s: inputs %v but %d feature names", dir, mf.ModelInputs(), len(mf.FeatureNames()))
	}
	if hasFeatures {
		if err := model.CheckFeatureNames(mf.FeatureNames()); err != nil {
			return m, fmt.Errorf("model %s: %w", dir, err)
		}
	}
	file := mf.ModelFile
	if file == "" {
		file = "model.onnx"
	}
	m.Dir, m.Path = dir, filepath.Join(dir, file)
	if mf.ModelSHA256 != "" {
		sum, err := fileSHA256(m.Path)
		if err != nil {
			return m, fmt.Errorf("model %s: %w", dir, err)
		}
		if sum != mf.ModelSHA256 {
			return m, fmt.Errorf("model %s: %s has sha256 %s, manifest says %s (truncated or replaced?)", dir, file, sum, mf.ModelSHA256)
		}
	}
	m.Tokenizer = model.Tokenizer{MaxLen: mf.Tokenizer.MaxLen}
	return m, nil
}

// Options returns session options for m; the caller sets the library, threads and provider.
func (m Model) Options() Options {
	// The embedding and position tables are the hard limits; the manifest's architecture has them.
	o := Options{ModelPath: m.Path, Vocab: m.Manifest.Tokenizer.VocabSize, MaxLen: m.Manifest.MaxLen,
		Inputs: m.Manifest.ModelInputs(), Features: len(m.Manifest.FeatureNames())}
	if a := m.Manifest.Architecture; a.Vocab > 0 && a.MaxLen > 0 {
		o.Vocab, o.MaxLen = a.Vocab, a.MaxLen
	}
	return o
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
