package serving

import "log/slog"

// Runtime is how a model is run, apart from the model itself: the library, the execution provider
// and its threads or device. The reranker, the evaluation and the benchmark share it.
type Runtime struct {
	Library  string // ONNX Runtime shared library; see ResolveLibrary
	Provider string // ProviderAuto, ProviderCUDA or ProviderCPU
	Threads  int    // intra-op threads (CPU provider)
	Device   int    // CUDA device id
}

// Session opens a session on a loaded model with these settings; it logs which provider is in force
// and why.
func (r Runtime) Session(m Model, log *slog.Logger) (*Session, error) {
	o := m.Options()
	o.Library, o.Provider, o.IntraOpThreads, o.CUDADevice, o.Log = r.Library, r.Provider, r.Threads, r.Device, log
	return Open(o)
}

// Open loads the model at path (a version directory, or a registry's newest version) and opens a
// session on it.
func (r Runtime) Open(path string, log *slog.Logger) (*Session, Model, error) {
	m, err := LoadModel(path)
	if err != nil {
		return nil, m, err
	}
	s, err := r.Session(m, log)
	return s, m, err
}
