package serving

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/codeverify/codeverify/trainer"
)

// needORT returns the ONNX Runtime library, skipping (or failing under CODEVERIFY_REQUIRE_ORT=1,
// as `make test` sets) when it is not installed.
func needORT(t testing.TB) string {
	t.Helper()
	lib, err := ResolveLibrary("", os.Getenv)
	if err != nil {
		if os.Getenv("CODEVERIFY_REQUIRE_ORT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return lib
}

var tiny struct {
	once  sync.Once
	model Model
	err   error
}

// tinyModel builds one small model per test binary (≈4 s of torch export).
func tinyModel(t testing.TB) Model {
	t.Helper()
	needORT(t)
	tiny.once.Do(func() {
		dir, err := os.MkdirTemp("", "serving-test-registry-")
		if err != nil {
			tiny.err = err
			return
		}
		vdir, err := trainer.BuildTinyModel(context.Background(), dir, trainer.TinyModel{MaxLen: 64, DModel: 32, Layers: 1})
		if err != nil {
			tiny.err = err
			return
		}
		tiny.model, tiny.err = LoadModel(vdir)
	})
	if tiny.err != nil {
		if errors.Is(tiny.err, trainer.ErrNoTorch) && os.Getenv("CODEVERIFY_REQUIRE_ORT") != "1" {
			t.Skip(tiny.err)
		}
		t.Fatal(tiny.err)
	}
	return tiny.model
}

func openTiny(t *testing.T) (*Session, Model) {
	t.Helper()
	m := tinyModel(t)
	o := m.Options()
	o.Library = needORT(t)
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, m
}

func pad(rows [][]int64, width int) (ids, masks [][]int64) {
	for _, r := range rows {
		id := make([]int64, width)
		m := make([]int64, width)
		copy(id, r)
		for i := range r {
			m[i] = 1
		}
		ids, masks = append(ids, id), append(masks, m)
	}
	return ids, masks
}

func TestScoreIsPaddingInvariantAndDeterministic(t *testing.T) {
	s, m := openTiny(t)
	if s.Provider() != ProviderCPU {
		t.Logf("provider %s (%s)", s.Provider(), s.ProviderReason())
	}
	tok := m.Tokenizer
	rows := [][]int64{
		tok.Encode("def f(x):", "    return x + 1\n"),
		tok.Encode("def f(x):", "    return x - 1\n"),
		tok.Encode("def g():", "    pass\n"),
	}
	ids, masks := pad(rows, 40)
	a, err := s.Score(context.Background(), ids, masks)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(rows) {
		t.Fatalf("%d energies for %d rows", len(a), len(rows))
	}
	for i, e := range a {
		if math.IsNaN(float64(e)) || math.IsInf(float64(e), 0) {
			t.Fatalf("energy %d = %v", i, e)
		}
	}
	if a[0] == a[1] {
		t.Fatalf("different code scored identically: %v", a)
	}
	// Same rows, more padding, reversed order, alone: the mask must make the energies equal.
	ids2, masks2 := pad([][]int64{rows[2], rows[1], rows[0]}, 64)
	b, err := s.Score(context.Background(), ids2, masks2)
	if err != nil {
		t.Fatal(err)
	}
	ids3, masks3 := pad(rows[1:2], len(rows[1]))
	c, err := s.Score(context.Background(), ids3, masks3)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range a {
		if d := math.Abs(float64(b[2-i] - want)); d > 1e-4 {
			t.Errorf("row %d: %v padded to 40, %v padded to 64", i, want, b[2-i])
		}
	}
	if d := math.Abs(float64(c[0] - a[1])); d > 1e-4 {
		t.Errorf("row 1 alone %v, in a batch %v", c[0], a[1])
	}
}

func TestScoreValidatesBeforeRun(t *testing.T) {
	s, _ := openTiny(t)
	ok := []int64{1, 5, 2, 6}
	one := []int64{1, 1, 1, 1}
	long := make([]int64, s.MaxLen()+1)
	longMask := make([]int64, s.MaxLen()+1)
	cases := map[string]struct {
		ids, masks [][]int64
		want       string
	}{
		"empty":          {nil, nil, "empty batch"},
		"id = vocab":     {[][]int64{{1, int64(s.Vocab()), 2, 6}}, [][]int64{one}, "token id"},
		"negative id":    {[][]int64{{1, -1, 2, 6}}, [][]int64{one}, "token id"},
		"too long":       {[][]int64{long}, [][]int64{longMask}, "sequence length"},
		"ragged":         {[][]int64{ok, {1, 2}}, [][]int64{one, {1, 1}}, "batch is 4 wide"},
		"mask rows":      {[][]int64{ok}, nil, "mask rows"},
		"mask value":     {[][]int64{ok}, [][]int64{{1, 2, 1, 1}}, "mask 2"},
		"zero length":    {[][]int64{{}}, [][]int64{{}}, "sequence length 0"},
		"mask row width": {[][]int64{ok}, [][]int64{{1, 1}}, "mask values"},
	}
	for name, c := range cases {
		_, err := s.Score(context.Background(), c.ids, c.masks)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Score(ctx, [][]int64{ok}, [][]int64{one}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestBadModelFilesAreStartupErrors(t *testing.T) {
	m := tinyModel(t)
	lib := needORT(t)
	good, err := os.ReadFile(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"truncated.onnx": good[:len(good)/3],
		"garbage.onnx":   []byte(strings.Repeat("not a protobuf \x00\xff", 1000)),
		"empty.onnx":     nil,
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		o := m.Options()
		o.Library, o.ModelPath = lib, p
		if s, err := Open(o); err == nil {
			s.Close()
			t.Errorf("%s opened", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	o := m.Options()
	o.Library, o.ModelPath = lib, filepath.Join(dir, "missing.onnx")
	if _, err := Open(o); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing model: %v", err)
	}

	// A registry copy whose model.onnx was truncated after registration fails the manifest's hash.
	vdir := filepath.Join(t.TempDir(), "v1")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	mb, _ := os.ReadFile(filepath.Join(m.Dir, "manifest.json"))
	os.WriteFile(filepath.Join(vdir, "manifest.json"), mb, 0o644)
	os.WriteFile(filepath.Join(vdir, "model.onnx"), good[:len(good)-10], 0o644)
	if _, err := LoadModel(vdir); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("truncated registered model: %v", err)
	}
	if _, err := LoadModel(t.TempDir()); err == nil {
		t.Error("empty registry loaded")
	}
	// Given the registry root, LoadModel picks its (only) version.
	got, err := LoadModel(filepath.Dir(m.Dir))
	if err != nil || got.Manifest.Version != m.Manifest.Version {
		t.Errorf("registry root: %v, %v", got.Manifest.Version, err)
	}
}

func TestWrongContractIsStartupError(t *testing.T) {
	m := tinyModel(t)
	lib := needORT(t)
	// A model whose input is named "tokens" and is float: built with onnx.helper.
	p := filepath.Join(t.TempDir(), "wrong.onnx")
	script := `import sys, onnx
from onnx import helper, TensorProto as T
x = helper.make_tensor_value_info("tokens", T.FLOAT, ["b", "s"])
y = helper.make_tensor_value_info("energy", T.FLOAT, ["b"])
g = helper.make_graph([helper.make_node("ReduceSum", ["tokens"], ["energy"], axes=[1], keepdims=0)], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 12)]), sys.argv[1])`
	if out, err := exec.Command(trainer.DefaultPython, "-c", script, p).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	o := m.Options()
	o.Library, o.ModelPath = lib, p
	_, err := Open(o)
	if err == nil || !strings.Contains(err.Error(), `unexpected input "tokens"`) {
		t.Fatalf("wrong contract: %v", err)
	}
}

func TestForcedCUDAWithoutGPUFailsAndAutoFallsBack(t *testing.T) {
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Skip("a GPU is present: the fallback path is not what runs here")
	}
	s, m := openTiny(t)
	if s.Provider() != ProviderCPU || !strings.Contains(s.ProviderReason(), "CUDA") {
		t.Errorf("auto without a GPU: provider %s, reason %q", s.Provider(), s.ProviderReason())
	}
	o := m.Options()
	o.Library, o.Provider = needORT(t), ProviderCUDA
	if s, err := Open(o); err == nil {
		s.Close()
		t.Error("provider cuda opened without a GPU")
	}
}

// TestMissingOrBadLibrary runs in a child process: ONNX Runtime loads once per process.
func TestMissingOrBadLibrary(t *testing.T) {
	if lib := os.Getenv("SERVING_TEST_LIB"); lib != "" {
		_, err := Open(Options{Library: lib, ModelPath: os.Getenv("SERVING_TEST_MODEL"), Vocab: 260, MaxLen: 64})
		if err == nil {
			t.Fatal("opened")
		}
		t.Log(err)
		return
	}
	if _, err := ResolveLibrary(filepath.Join(t.TempDir(), "nope.so"), os.Getenv); !errors.Is(err, ErrNoLibrary) {
		t.Errorf("missing library: %v", err)
	}
	m := tinyModel(t)
	notALib := filepath.Join(t.TempDir(), "libonnxruntime.so")
	os.WriteFile(notALib, []byte("not an ELF file"), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestMissingOrBadLibrary$", "-test.v")
	cmd.Env = append(os.Environ(), "SERVING_TEST_LIB="+notALib, "SERVING_TEST_MODEL="+m.Path)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "load ONNX Runtime from") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"1.23.2", "1.24.0", true}, {"1.24.0", "1.24.0", false}, {"1.29.0", "1.24.0", false}, {"1.3", "1.24", true}} {
		if versionLess(c.a, c.b) != c.less {
			t.Errorf("versionLess(%s, %s) != %v", c.a, c.b, c.less)
		}
	}
}
