package trainer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/codeverify/codeverify/streams"
)

// Architecture is the model's shape as train.py builds it.
type Architecture struct {
	Kind    string  `json:"kind"`
	Vocab   int     `json:"vocab"`
	MaxLen  int     `json:"max_len"`
	DModel  int     `json:"d_model"`
	Layers  int     `json:"layers"`
	Heads   int     `json:"heads"`
	FF      int     `json:"ff"`
	Dropout float64 `json:"dropout"`
	Pooling string  `json:"pooling"`
	Opset   int     `json:"opset"`
	Inputs  string  `json:"inputs"`
	Output  string  `json:"output"`
	// The behaviour-feature branch: an MLP of FeatureHidden units (0: linear, b + w·x) on the standardised
	// features, summed with the token branch's energy scaled by TextWeight (0: 1). NoText builds no
	// token branch (a features-only model). During training TextDropout drops the whole token term of
	// a row with that probability, so the features must rank on their own.
	Features      int     `json:"features,omitempty"`
	FeatureHidden int     `json:"feature_hidden,omitempty"`
	TextWeight    float64 `json:"text_weight,omitempty"`
	TextDropout   float64 `json:"text_dropout,omitempty"`
	NoText        bool    `json:"no_text,omitempty"`
}

// Validate reports why train.py could not build the architecture.
func (a Architecture) Validate() error {
	switch {
	case a.DModel < 8 || a.Layers < 1 || a.Heads < 1 || a.FF < 1:
		return fmt.Errorf("architecture: d_model %d, layers %d, heads %d, ff %d: all must be positive (d_model ≥ 8)", a.DModel, a.Layers, a.Heads, a.FF)
	case a.DModel%a.Heads != 0:
		return fmt.Errorf("architecture: d_model %d is not divisible by %d heads", a.DModel, a.Heads)
	case a.Dropout < 0 || a.Dropout >= 1:
		return fmt.Errorf("architecture: dropout %g outside [0, 1)", a.Dropout)
	case a.TextDropout < 0 || a.TextDropout >= 1 || a.TextWeight < 0:
		return fmt.Errorf("architecture: text dropout %g outside [0, 1) or text weight %g < 0", a.TextDropout, a.TextWeight)
	case a.FeatureHidden < 0:
		return fmt.Errorf("architecture: feature hidden width %d", a.FeatureHidden)
	}
	return nil
}

// TrainingInfo is how a version was trained, as train.py reported it.
type TrainingInfo struct {
	Epochs           int              `json:"epochs"`
	BatchSize        int              `json:"batch_size"`
	LR               float64          `json:"lr"`
	Margin           float64          `json:"margin"`
	PointwiseWeight  float64          `json:"pointwise_weight"`
	Patience         int              `json:"patience"`
	MaxSteps         int              `json:"max_steps,omitempty"`
	Objective        string           `json:"objective,omitempty"` // pairs | request (absent: pairs)
	L2               float64          `json:"l2,omitempty"`        // the request objective's L2 on the feature weights
	Seed             int64            `json:"seed"`
	ValFold          int              `json:"val_fold"`
	Folds            int              `json:"folds"`
	BestEpoch        int              `json:"best_epoch"`
	Steps            int              `json:"steps"`
	Device           string           `json:"device"`
	CUDADevice       string           `json:"cuda_device,omitempty"`
	AMP              string           `json:"amp"`
	Torch            string           `json:"torch"`
	Params           int64            `json:"params"`
	TrainSeconds     float64          `json:"train_seconds"`
	TotalSeconds     float64          `json:"total_seconds"`
	TrainPairs       int              `json:"train_pairs"`
	ValPairs         int              `json:"val_pairs"`
	ParityMaxAbsDiff float64          `json:"parity_max_abs_diff"`
	ParityRuntime    string           `json:"parity_runtime"`
	History          []map[string]any `json:"history"`
}

// DatasetInfo names exactly the data a version was trained on.
type DatasetInfo struct {
	Hash        string                  `json:"hash"`
	Stats       Stats                   `json:"stats"`
	K           int                     `json:"k"`
	DrawSize    int                     `json:"draw_size,omitempty"` // requests were trained as Draws draws of DrawSize candidates
	Draws       int                     `json:"draws,omitempty"`
	Splits      []string                `json:"splits,omitempty"`
	Benchmarks  []string                `json:"benchmarks,omitempty"`
	Models      []string                `json:"models,omitempty"`
	Consumed    []streams.ConsumedRange `json:"consumed"`
	Undecodable map[string]int          `json:"undecodable,omitempty"`
	LabelsFrom  string                  `json:"labels_from,omitempty"` // set when the labels did not come from the verdicts topic
}

// Manifest describes one registered model version (models/<version>/manifest.json).
type Manifest struct {
	Version      string        `json:"version"`
	CreatedAt    time.Time     `json:"created_at"`
	CodeRevision string        `json:"code_revision"`
	ModelFile    string        `json:"model_file"`
	ModelSHA256  string        `json:"model_sha256"`
	Tokenizer    TokenizerSpec `json:"tokenizer"`
	MaxLen       int           `json:"max_len"`
	Architecture Architecture  `json:"architecture"`
	// Inputs names the ONNX graph's inputs: input_ids and attention_mask (int64 [batch, sequence])
	// and/or features (float32 [batch, len(Features.Names)]). Absent in a version from before
	// behaviour features: the two token inputs.
	Inputs []string `json:"inputs,omitempty"`
	// Features is the behaviour features the model reads; nil for a code-only model.
	Features *FeatureSpec `json:"features,omitempty"`
	Dataset  DatasetInfo  `json:"dataset"`
	Training TrainingInfo `json:"training"`
	Metrics  Metrics      `json:"metrics"`
}

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

// CodeRevision is the VCS revision the binary was built from, else the checkout's HEAD, else "unknown";
// "+dirty" marks uncommitted changes.
func CodeRevision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if modified == "true" {
				rev += "+dirty"
			}
			return rev
		}
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "+dirty"
	}
	return rev
}

// ONNX input names of the verifier's graph.
const (
	InputIDs      = "input_ids"
	InputMask     = "attention_mask"
	InputFeatures = "features"
)

// ModelInputs is the graph's inputs as the manifest records them (the token pair for a version that
// predates the field).
func (m Manifest) ModelInputs() []string {
	if len(m.Inputs) == 0 {
		return []string{InputIDs, InputMask}
	}
	return m.Inputs
}

// FeatureNames is the behaviour features the model reads, in column order (none: code only).
func (m Manifest) FeatureNames() []string {
	if m.Features == nil {
		return nil
	}
	return m.Features.Names
}
