package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/codeverify/codeverify/model"
	ort "github.com/yalue/onnxruntime_go"
)

// The graph contract train.py exports and the reranker feeds: the token inputs and/or the
// behaviour features, as the model's manifest lists them (model.Manifest.Inputs).
const (
	InputIDs      = model.InputIDs
	InputMask     = model.InputMask
	InputFeatures = model.InputFeatures
	OutputEnergy  = "energy"
)

// Provider choices for Options.Provider.
const (
	ProviderAuto = "auto" // CUDA when it works, else CPU
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda" // CUDA or a startup error
)

// Options configure a Session. Zero values: auto provider, 2 intra-op threads.
type Options struct {
	Library   string // ONNX Runtime shared library; see ResolveLibrary
	ModelPath string // model.onnx
	Vocab     int    // token ids must be < Vocab
	MaxLen    int    // rows must be ≤ MaxLen tokens (the position table)
	// Inputs is the graph's inputs as the manifest lists them (empty: the two token inputs); the
	// graph must have exactly these.
	Inputs []string
	// Features is the width of the features input (the manifest's feature names); 0 without one.
	Features       int
	IntraOpThreads int
	Provider       string
	CUDADevice     int
	Log            *slog.Logger
}

// Validate reports why o cannot open a session.
func (o Options) Validate() error {
	switch {
	case o.ModelPath == "":
		return errors.New("serving: no model path")
	case o.Vocab < 1:
		return fmt.Errorf("serving: vocabulary %d, want ≥ 1", o.Vocab)
	case o.MaxLen < 1:
		return fmt.Errorf("serving: max length %d, want ≥ 1", o.MaxLen)
	case o.IntraOpThreads < 0:
		return fmt.Errorf("serving: intra-op threads %d, want ≥ 0", o.IntraOpThreads)
	case o.Features < 0:
		return fmt.Errorf("serving: %d features", o.Features)
	}
	_, feats, err := inputSet(o.inputs())
	if err != nil {
		return err
	}
	if feats != (o.Features > 0) {
		return fmt.Errorf("serving: inputs %v with %d features: a features input needs a width and a width needs the input", o.inputs(), o.Features)
	}
	switch o.Provider {
	case "", ProviderAuto, ProviderCPU, ProviderCUDA:
	default:
		return fmt.Errorf("serving: provider %q, want auto, cpu or cuda", o.Provider)
	}
	return nil
}

func (o Options) inputs() []string {
	if len(o.Inputs) == 0 {
		return []string{InputIDs, InputMask}
	}
	return o.Inputs
}

// inputSet checks an input list: the token pair (both, in that order) and/or features, last.
func inputSet(in []string) (text, features bool, err error) {
	switch {
	case slices.Equal(in, []string{InputIDs, InputMask}):
		return true, false, nil
	case slices.Equal(in, []string{InputIDs, InputMask, InputFeatures}):
		return true, true, nil
	case slices.Equal(in, []string{InputFeatures}):
		return false, true, nil
	}
	return false, false, fmt.Errorf("serving: inputs %v: want [%s %s], [%s %s %s] or [%s]", in, InputIDs, InputMask, InputIDs, InputMask, InputFeatures, InputFeatures)
}

// Session scores batches of padded token rows and/or behaviour feature rows. Score and
// ScoreFeatures are safe for concurrent use (ONNX Runtime sessions are).
type Session struct {
	sess     *ort.DynamicAdvancedSession
	provider string
	reason   string
	vocab    int
	maxLen   int
	inputs   []string
	text     bool
	features int
}

// Open loads the library, checks the model's graph contract, and opens a session on CUDA, falling
// back to CPU on any CUDA error (ProviderAuto). A missing or corrupt model is an error, never a crash.
func Open(o Options) (*Session, error) {
	if o.Provider == "" {
		o.Provider = ProviderAuto
	}
	if o.IntraOpThreads == 0 {
		o.IntraOpThreads = 2
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	lib, err := ResolveLibrary(o.Library, os.Getenv)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(o.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("serving: model: %w", err)
	}
	if fi.IsDir() || fi.Size() == 0 {
		return nil, fmt.Errorf("serving: model %s is not a non-empty file", o.ModelPath)
	}
	if err := acquireEnv(lib); err != nil {
		return nil, err
	}
	s, err := open(o)
	if err != nil {
		return nil, err
	}
	o.Log.Info("reranker scorer ready", "provider", s.provider, "why", s.reason, "model", o.ModelPath,
		"onnxruntime", ort.GetVersion(), "intra_op_threads", o.IntraOpThreads)
	return s, nil
}

func open(o Options) (*Session, error) {
	ins, outs, err := ort.GetInputOutputInfo(o.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("serving: model %s is not a loadable ONNX model: %w", o.ModelPath, err)
	}
	if err := checkContract(ins, outs, o.inputs(), o.Features); err != nil {
		return nil, fmt.Errorf("serving: model %s: %w", o.ModelPath, err)
	}
	s := &Session{vocab: o.Vocab, maxLen: o.MaxLen, inputs: o.inputs(), features: o.Features}
	s.text, _, _ = inputSet(s.inputs)
	if o.Provider != ProviderCPU {
		sess, err := newSession(o, true)
		if err == nil {
			// Some CUDA failures (missing kernels, driver mismatch) show only at the first Run.
			s.sess = sess
			var warm [][]float32
			if s.features > 0 {
				warm = [][]float32{make([]float32, s.features)}
			}
			_, err = s.ScoreFeatures(context.Background(), [][]int64{{1, 2}}, [][]int64{{1, 1}}, warm)
			if err != nil {
				_ = sess.Destroy()
				s.sess = nil
			}
		}
		if err == nil {
			s.provider, s.reason = ProviderCUDA, "CUDA execution provider initialised and ran a warm-up batch"
			return s, nil
		}
		if o.Provider == ProviderCUDA {
			return nil, fmt.Errorf("serving: CUDA provider required but unavailable: %w", err)
		}
		// Expected on a CPU-only host (auto means "CUDA if there is one"): the ready line says so
		// briefly; ONNX Runtime's long error is for debugging only.
		s.reason = "CUDA unavailable, fell back to CPU (--log-level debug for why)"
		o.Log.Debug("reranker scorer: CUDA execution provider unavailable; using CPU", "error", err.Error())
	} else {
		s.reason = "CPU requested"
	}
	sess, err := newSession(o, false)
	if err != nil {
		return nil, fmt.Errorf("serving: open %s on CPU: %w", o.ModelPath, err)
	}
	s.sess, s.provider = sess, ProviderCPU
	return s, nil
}

func newSession(o Options, cuda bool) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
		return nil, err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	if cuda {
		co, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, fmt.Errorf("CUDA provider options: %w", err)
		}
		defer co.Destroy()
		if err := co.Update(map[string]string{"device_id": strconv.Itoa(o.CUDADevice)}); err != nil {
			return nil, fmt.Errorf("CUDA provider options: %w", err)
		}
		if err := so.AppendExecutionProviderCUDA(co); err != nil {
			return nil, fmt.Errorf("append CUDA provider: %w", err)
		}
	}
	return ort.NewDynamicAdvancedSession(o.ModelPath, o.inputs(), []string{OutputEnergy}, so)
}

// checkContract holds the model to the interface its manifest declares: the listed inputs, by
// name (token inputs int64 [batch, sequence], features float32 [batch, features]), and one float32
// [batch] output. ONNX Runtime itself only notices a wrong name at Run.
func checkContract(ins, outs []ort.InputOutputInfo, inputs []string, features int) error {
	want := map[string]bool{}
	for _, n := range inputs {
		want[n] = false
	}
	for _, in := range ins {
		if _, ok := want[in.Name]; !ok {
			return fmt.Errorf("unexpected input %q (the manifest lists %v)", in.Name, inputs)
		}
		want[in.Name] = true
		if in.Name == InputFeatures {
			if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeFloat || len(in.Dimensions) != 2 ||
				(in.Dimensions[1] > 0 && in.Dimensions[1] != int64(features)) {
				return fmt.Errorf("input %s is %s, want a float32 tensor [batch, %d]", in.Name, in.String(), features)
			}
			continue
		}
		if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeInt64 || len(in.Dimensions) != 2 {
			return fmt.Errorf("input %s is %s, want an int64 tensor [batch, sequence]", in.Name, in.String())
		}
	}
	for name, seen := range want {
		if !seen {
			return fmt.Errorf("missing input %q", name)
		}
	}
	if len(outs) != 1 || outs[0].Name != OutputEnergy {
		names := make([]string, len(outs))
		for i, o := range outs {
			names[i] = o.Name
		}
		return fmt.Errorf("outputs %v, want exactly [%s]", names, OutputEnergy)
	}
	if o := outs[0]; o.OrtValueType != ort.ONNXTypeTensor || o.DataType != ort.TensorElementDataTypeFloat || len(o.Dimensions) != 1 {
		return fmt.Errorf("output %s is %s, want a float32 tensor [batch]", o.Name, o.String())
	}
	return nil
}

// Provider is the execution provider in force: "cuda" or "cpu".
func (s *Session) Provider() string { return s.provider }

// ProviderReason says why that provider is in force.
func (s *Session) ProviderReason() string { return s.reason }

// MaxLen and Vocab are the limits Score enforces.
func (s *Session) MaxLen() int { return s.maxLen }
func (s *Session) Vocab() int  { return s.vocab }

// Features is the width of the model's features input (0: the model reads no features).
func (s *Session) Features() int { return s.features }

// ReadsTokens says whether the model has the token inputs.
func (s *Session) ReadsTokens() bool { return s.text }

// ValidateBatch checks what the CUDA provider would silently accept: every row the same length,
// 1..MaxLen tokens, ids in [0, Vocab), mask values 0 or 1.
func (s *Session) ValidateBatch(ids, masks [][]int64) error {
	if len(ids) == 0 {
		return errors.New("serving: empty batch")
	}
	if len(masks) != len(ids) {
		return fmt.Errorf("serving: %d id rows but %d mask rows", len(ids), len(masks))
	}
	l := len(ids[0])
	if l < 1 || l > s.maxLen {
		return fmt.Errorf("serving: sequence length %d outside [1, %d]", l, s.maxLen)
	}
	for r := range ids {
		if len(ids[r]) != l || len(masks[r]) != l {
			return fmt.Errorf("serving: row %d has %d ids and %d mask values; the batch is %d wide", r, len(ids[r]), len(masks[r]), l)
		}
		for c, id := range ids[r] {
			if id < 0 || id >= int64(s.vocab) {
				return fmt.Errorf("serving: row %d position %d: token id %d outside [0, %d)", r, c, id, s.vocab)
			}
			if m := masks[r][c]; m != 0 && m != 1 {
				return fmt.Errorf("serving: row %d position %d: mask %d, want 0 or 1", r, c, m)
			}
		}
	}
	return nil
}

// Score returns one energy per row of the padded batch of a code-only model. Cancelling ctx
// terminates the run.
func (s *Session) Score(ctx context.Context, ids, masks [][]int64) ([]float32, error) {
	if s.features > 0 {
		return nil, fmt.Errorf("serving: the model reads %d behaviour features per row: use ScoreFeatures", s.features)
	}
	return s.ScoreFeatures(ctx, ids, masks, nil)
}

// ValidateFeatures checks the feature rows: rows × Features finite values (the model reads them
// as they are; a NaN would silently poison the energy).
func (s *Session) ValidateFeatures(rows int, features [][]float32) error {
	if s.features == 0 {
		if features != nil {
			return errors.New("serving: features given to a model that reads none")
		}
		return nil
	}
	if len(features) != rows {
		return fmt.Errorf("serving: %d feature rows for %d rows", len(features), rows)
	}
	for r, f := range features {
		if len(f) != s.features {
			return fmt.Errorf("serving: feature row %d has %d values, the model reads %d", r, len(f), s.features)
		}
		for c, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("serving: feature row %d column %d is %v", r, c, v)
			}
		}
	}
	return nil
}

// ScoreFeatures returns one energy per row: ids and masks are the padded token batch (ignored, and
// may be nil, when the model reads no tokens), features one row per candidate (nil when the model
// reads none). Cancelling ctx terminates the run.
func (s *Session) ScoreFeatures(ctx context.Context, ids, masks [][]int64, features [][]float32) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var in []ort.Value
	defer func() {
		for _, v := range in {
			v.Destroy()
		}
	}()
	b := len(features)
	if s.text {
		if err := s.ValidateBatch(ids, masks); err != nil {
			return nil, err
		}
		b = len(ids)
		l := len(ids[0])
		flatIDs := make([]int64, 0, b*l)
		flatMask := make([]int64, 0, b*l)
		for r := range ids {
			flatIDs = append(flatIDs, ids[r]...)
			flatMask = append(flatMask, masks[r]...)
		}
		shape := ort.NewShape(int64(b), int64(l))
		tIDs, err := ort.NewTensor(shape, flatIDs)
		if err != nil {
			return nil, err
		}
		in = append(in, tIDs)
		tMask, err := ort.NewTensor(shape, flatMask)
		if err != nil {
			return nil, err
		}
		in = append(in, tMask)
	}
	if b == 0 {
		return nil, errors.New("serving: empty batch")
	}
	if err := s.ValidateFeatures(b, features); err != nil {
		return nil, err
	}
	if s.features > 0 {
		flat := make([]float32, 0, b*s.features)
		for _, f := range features {
			flat = append(flat, f...)
		}
		tf, err := ort.NewTensor(ort.NewShape(int64(b), int64(s.features)), flat)
		if err != nil {
			return nil, err
		}
		in = append(in, tf)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(b)))
	if err != nil {
		return nil, err
	}
	defer out.Destroy()
	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, err
	}
	defer ro.Destroy()
	done, stopped := make(chan struct{}), make(chan struct{})
	defer func() { close(done); <-stopped }() // ro must outlive the watcher
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			_ = ro.Terminate()
		case <-done:
		}
	}()
	if err := s.sess.RunWithOptions(in, []ort.Value{out}, ro); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("serving: run: %w", err)
	}
	return append([]float32(nil), out.GetData()...), nil
}

// Close frees the session (the library stays loaded for the process). Score must not run after.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
