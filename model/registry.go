package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Registry is a directory of model versions: <Dir>/<version>/{model.onnx,manifest.json}.
type Registry struct {
	Dir string
}

var versionRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]*$`)

// NewVersion names a version by its creation time and dataset: sortable and readable.
func NewVersion(created time.Time, datasetHash string) string {
	return created.UTC().Format("20060102T150405Z") + "-" + datasetHash[:min(8, len(datasetHash))]
}

// Register copies the ONNX file and writes the manifest into a new version directory. The version
// appears whole or not at all: it is assembled beside the registry and renamed into place.
func (r Registry) Register(onnxPath string, m Manifest) (string, error) {
	if !versionRe.MatchString(m.Version) {
		return "", fmt.Errorf("registry: bad version %q", m.Version)
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(r.Dir, m.Version)
	if _, err := os.Stat(final); err == nil {
		return "", fmt.Errorf("registry: version %s already exists", m.Version)
	}
	tmp, err := os.MkdirTemp(r.Dir, ".incoming-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	sum, err := copyFile(onnxPath, filepath.Join(tmp, "model.onnx"))
	if err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	m.ModelFile, m.ModelSHA256 = "model.onnx", sum
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("registry: manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	return final, nil
}

func copyFile(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), out.Close()
}

// Get reads one version's manifest.
func (r Registry) Get(version string) (Manifest, error) {
	var m Manifest
	if !versionRe.MatchString(version) {
		return m, fmt.Errorf("registry: bad version %q", version)
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, version, "manifest.json"))
	if err != nil {
		return m, fmt.Errorf("registry: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("registry: %s: %w", version, err)
	}
	return m, nil
}

// List returns every version's manifest, oldest first. A missing registry is empty.
func (r Registry) List() ([]Manifest, error) {
	entries, err := os.ReadDir(r.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := r.Get(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Manifest) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}
