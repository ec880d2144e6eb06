package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"
)

// The graph contract train.py exports and the reranker feeds.
const (
	InputIDs     = "input_ids"
	InputMask    = "attention_mask"
	OutputEnergy = "energy"
)

// Provider choices for Options.Provider.
const (
	ProviderAuto = "auto" // CUDA when it works, else CPU
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda" // CUDA or a startup error
)

// Options configure a Session. Zero values: auto provider, 2 intra-op threads.
type Options struct {
	Library        string // ONNX Runtime shared library; see ResolveLibrary
	ModelPath      string // model.onnx
	Vocab          int    // token ids must be < Vocab
	MaxLen         int    // rows must be ≤ MaxLen tokens (the position table)
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
	}
	switch o.Provider {
	case "", ProviderAuto, ProviderCPU, ProviderCUDA:
	default:
		return fmt.Errorf("serving: provider %q, want auto, cpu or cuda", o.Provider)
	}
	return nil
}

// Session scores padded token batches. Score is safe for concurrent use (ONNX Runtime sessions are).
type Session struct {
	sess     *ort.DynamicAdvancedSession
	provider string
	reason   string
	vocab    int
	maxLen   int
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
	if err := checkContract(ins, outs); err != nil {
		return nil, fmt.Errorf("serving: model %s: %w", o.ModelPath, err)
	}
	s := &Session{vocab: o.Vocab, maxLen: o.MaxLen}
	if o.Provider != ProviderCPU {
		sess, err := newSession(o, true)
		if err == nil {
			// Some CUDA failures (missing kernels, driver mismatch) show only at the first Run.
			s.sess = sess
			_, err = s.Score(context.Background(), [][]int64{{1, 2}}, [][]int64{{1, 1}})
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
		s.reason = "CUDA unavailable, fell back to CPU: " + err.Error()
		o.Log.Warn("reranker scorer: CUDA execution provider unavailable; using CPU", "error", err.Error())
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
	return ort.NewDynamicAdvancedSession(o.ModelPath, []string{InputIDs, InputMask}, []string{OutputEnergy}, so)
}

// checkContract holds the model to the exported interface: two int64 [batch, sequence] inputs and
// one float32 [batch] output, by name. ONNX Runtime itself only notices a wrong name at Run.
func checkContract(ins, outs []ort.InputOutputInfo) error {
	want := map[string]bool{InputIDs: false, InputMask: false}
	for _, in := range ins {
		if _, ok := want[in.Name]; !ok {
			return fmt.Errorf("unexpected input %q (want %s, %s)", in.Name, InputIDs, InputMask)
		}
		want[in.Name] = true
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

// Score returns one energy per row of the padded batch. Cancelling ctx terminates the run.
func (s *Session) Score(ctx context.Context, ids, masks [][]int64) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.ValidateBatch(ids, masks); err != nil {
		return nil, err
	}
	b, l := len(ids), len(ids[0])
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
	defer tIDs.Destroy()
	tMask, err := ort.NewTensor(shape, flatMask)
	if err != nil {
		return nil, err
	}
	defer tMask.Destroy()
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
	if err := s.sess.RunWithOptions([]ort.Value{tIDs, tMask}, []ort.Value{out}, ro); err != nil {
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
