package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// scorerFlags are the ONNX Runtime settings shared by rerank serve, bench reranker and eval.
type scorerFlags struct {
	model    string
	lib      string
	provider string
	threads  int
	device   int
}

func (s *scorerFlags) add(f *pflag.FlagSet) {
	f.StringVar(&s.model, "model", s.model, "model version directory (manifest.json + model.onnx) or registry directory (its newest version)")
	f.StringVar(&s.lib, "ort-lib", "", "ONNX Runtime ≥ 1.24 shared library (default $"+serving.LibraryEnv+", else ./"+serving.LibraryFile+" from deploy/ort/setup-ort.sh)")
	f.StringVar(&s.provider, "provider", serving.ProviderAuto, "execution provider: auto (CUDA, else CPU), cuda, cpu")
	if s.threads == 0 {
		s.threads = 2
	}
	f.IntVar(&s.threads, "threads", s.threads, "ONNX Runtime intra-op threads (CPU provider)")
	f.IntVar(&s.device, "cuda-device", 0, "CUDA device id")
}

// open loads the model and opens a session; the session logs which provider is in force and why.
func (s *scorerFlags) open(log *slog.Logger) (*serving.Session, serving.Model, error) {
	m, err := serving.LoadModel(s.model)
	if err != nil {
		return nil, m, err
	}
	o := m.Options()
	o.Library, o.Provider, o.IntraOpThreads, o.CUDADevice, o.Log = s.lib, s.provider, s.threads, s.device, log
	sess, err := serving.Open(o)
	return sess, m, err
}

func (a *app) rerankCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rerank", Short: "Score candidate programs with the verifier (ONNX Runtime, CUDA first, CPU fallback)"}
	cmd.AddCommand(a.rerankServeCmd(), a.rerankRunCmd())
	return cmd
}

type rerankServeOptions struct {
	scorer        scorerFlags
	addr          string
	maxBody       int64
	maxCandidates int
	maxBatch      int
}

func (a *app) rerankServeCmd() *cobra.Command {
	var o rerankServeOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve POST /v1/rerank (prompt + candidate codes → energies and the min-energy index), /metrics, /healthz, /readyz",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.scorer.model == "" {
				return errors.New("rerank serve: --model is required")
			}
			ln, err := net.Listen("tcp", o.addr)
			if err != nil {
				return err
			}
			return a.rerankServe(cmd.Context(), o, ln)
		},
	}
	f := cmd.Flags()
	o.scorer.add(f)
	f.StringVar(&o.addr, "addr", "127.0.0.1:8088", "listen address")
	f.Int64Var(&o.maxBody, "max-body-bytes", 1<<20, "largest request body")
	f.IntVar(&o.maxCandidates, "max-candidates", 64, "most candidates per request")
	f.IntVar(&o.maxBatch, "max-batch", 16, "candidates per ONNX Runtime run")
	return cmd
}

// rerankServe serves until ctx is cancelled. The model opens before the listener answers, so a bad
// model or library is a startup error.
func (a *app) rerankServe(ctx context.Context, o rerankServeOptions, ln net.Listener) error {
	defer ln.Close()
	sess, m, err := o.scorer.open(a.log)
	if err != nil {
		return err
	}
	defer sess.Close()
	model := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess, MaxBatch: o.maxBatch}
	if err := model.Validate(); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	provider := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codeverify_reranker_provider",
		Help: "1 for the ONNX Runtime execution provider in force (cuda or cpu)."}, []string{"provider"})
	provider.WithLabelValues(sess.Provider()).Set(1)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codeverify_reranker_model_info",
		Help: "1 for the model version being served."}, []string{"version"})
	info.WithLabelValues(model.Version).Set(1)
	reg.MustRegister(provider, info)

	mux := http.NewServeMux()
	mux.Handle("/v1/rerank", reranker.Handler(func() reranker.Model { return model },
		reranker.HandlerOptions{MaxBodyBytes: o.maxBody, MaxCandidates: o.maxCandidates}))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	a.log.Info("rerank serving", "addr", ln.Addr().String(), "model", model.Version, "provider", sess.Provider())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// Topics of the streaming reranker. Scores are keyed like verdicts (by candidate), selections by
// request; both are kept as long as candidates.
const (
	topicScores     = "scores"
	topicSelections = "selections"
	rerankGroup     = "codeverify-reranker"
	rerankPrompts   = "codeverify-reranker-prompts"
)

func rerankTopics() streams.Catalog {
	const month = 4 * 7 * 24 * time.Hour
	return streams.Catalog{
		{Name: topicScores, Partitions: 8, Key: "candidate_id", Retention: month},
		{Name: topicSelections, Partitions: 4, Key: "request_id", Retention: month},
		{Name: streams.DLQTopic(streams.TopicCandidates), Partitions: 1, Key: "the input's key", Retention: month},
		{Name: streams.DLQTopic(streams.TopicPrompts), Partitions: 1, Key: "the input's key", Retention: month},
	}
}

type rerankRunOptions struct {
	scorer      scorerFlags
	bound       time.Duration
	flushEvery  time.Duration
	reloadEvery time.Duration
	maxBatch    int
	maxInFlight int
}

func (a *app) rerankRunCmd() *cobra.Command {
	var o rerankRunOptions
	cmd := &cobra.Command{
		Use:   "run --model REGISTRY|VERSION_DIR",
		Short: "The streaming reranker: candidates (+ prompts for expected counts) → scores and selections topics",
		Long: `Consumes candidates (consumer group ` + rerankGroup + `) and prompts (group ` + rerankPrompts + `, for how many
candidates each request expects), scores candidates in batches across requests, writes one Score per
candidate to "scores" and one Selection per request (min energy, ties to the smaller candidate id) to
"selections". A request whose candidates do not all arrive within --bound is selected among those
present and marked partial. Every Score and Selection carries the model version. A candidate is
committed only after its request's Selection and its own Score were acknowledged, so a crash
re-scores, never loses. With --model a registry directory, its newest version is served and the
directory is polled for newer ones, which are swapped in for requests that start afterwards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.scorer.model == "" {
				return errors.New("rerank run: --model is required")
			}
			return a.rerankRun(cmd.Context(), o, nil)
		},
	}
	f := cmd.Flags()
	o.scorer.add(f)
	f.DurationVar(&o.bound, "bound", 30*time.Second, "how long a request waits for all its candidates before a partial selection")
	f.DurationVar(&o.flushEvery, "flush-every", 50*time.Millisecond, "how often queued candidates are scored (batched across requests)")
	f.DurationVar(&o.reloadEvery, "reload-every", 10*time.Second, "how often the registry is polled for a new version (0: never)")
	f.IntVar(&o.maxBatch, "max-batch", 16, "candidates per ONNX Runtime run")
	f.IntVar(&o.maxInFlight, "max-in-flight", 2048, "candidates fetched but not yet committed (must exceed the candidates of the requests open at once)")
	return cmd
}

// rerankRun runs until ctx is cancelled; ready (optional) is closed once both consumers run.
func (a *app) rerankRun(ctx context.Context, o rerankRunOptions, ready chan<- struct{}) error {
	if o.bound <= 0 || o.flushEvery <= 0 || o.maxInFlight < 1 || o.maxBatch < 1 {
		return fmt.Errorf("rerank run: --bound, --flush-every, --max-in-flight and --max-batch must be positive")
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	rc, err := schemas.NewRerankCodecs()
	if err != nil {
		return err
	}
	if err := streams.EnsureTopics(ctx, a.brokers(), rerankTopics()); err != nil {
		return err
	}
	st := &rerankStage{log: a.log, opts: o, waiting: map[string]*rerankRequest{}, sessions: map[string]*serving.Session{}}
	model, err := st.load(o.scorer.model)
	if err != nil {
		return err
	}
	// A registry directory (no manifest.json of its own) is polled for newer versions.
	if _, err := os.Stat(filepath.Join(o.scorer.model, "manifest.json")); errors.Is(err, os.ErrNotExist) && o.reloadEvery > 0 {
		st.registry = o.scorer.model
	}
	st.p, err = reranker.New(model, reranker.Options{Bound: o.bound, OnRetire: st.retire})
	if err != nil {
		st.closeAll()
		return err
	}
	defer st.closeAll()
	st.problems = &problemTable{refreshEvery: 2 * time.Second, log: a.log, load: func(ctx context.Context) ([]schemas.Problem, error) {
		ps, bad, err := streams.ReadAll(ctx, a.brokers(), streams.TopicProblems, codecs.Problem)
		if bad > 0 {
			a.log.Warn("undecodable records on the problems topic", "count", bad)
		}
		return ps, err
	}}
	if err := st.problems.refresh(ctx); err != nil {
		return fmt.Errorf("load problems table: %w", err)
	}
	st.selections = streams.NewProducer(a.brokers(), topicSelections, rc.Selection, func(s schemas.Selection) string { return s.RequestID })
	defer st.selections.Close()

	cands, err := streams.NewRunner(streams.RunnerConfig[schemas.Candidate, schemas.Score]{
		Brokers: a.brokers(), Group: rerankGroup, Input: streams.TopicCandidates, Output: topicScores,
		InCodec: codecs.Candidate, OutCodec: rc.Score,
		OutKey:   func(s schemas.Score) string { return s.CandidateID },
		Validate: func(c schemas.Candidate) error { return c.Validate() },
		// Process waits for the request's selection, so every in-flight candidate holds a worker.
		Workers: o.maxInFlight, MaxInFlight: o.maxInFlight, MaxMessageBytes: a.cfg.MaxMessageBytes, Log: a.log,
	}, streams.ProcessorFunc[schemas.Candidate, schemas.Score](st.candidate))
	if err != nil {
		return err
	}
	// The prompts consumer only records expected counts; it writes nothing (Output is never used).
	prompts, err := streams.NewRunner(streams.RunnerConfig[schemas.Prompt, schemas.Selection]{
		Brokers: a.brokers(), Group: rerankPrompts, Input: streams.TopicPrompts, Output: topicSelections,
		InCodec: codecs.Prompt, OutCodec: rc.Selection,
		OutKey:  func(s schemas.Selection) string { return s.RequestID },
		Workers: 1, MaxMessageBytes: a.cfg.MaxMessageBytes, Log: a.log,
	}, streams.ProcessorFunc[schemas.Prompt, schemas.Selection](st.prompt))
	if err != nil {
		return err
	}
	a.log.Info("reranker running", "model", model.Version, "provider", st.provider(model.Version), "registry", st.registry, "bound", o.bound)
	reg := prometheus.NewRegistry()
	st.registerMetrics(reg)
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_runner_" + name, Help: help,
			ConstLabels: prometheus.Labels{"processor": "reranker"}}, f))
	}
	counter("processed_total", "candidates scored, selected and committed", func() float64 { return float64(cands.Stats().Processed) })
	counter("outputs_total", "scores produced", func() float64 { return float64(cands.Stats().Outputs) })
	counter("dead_lettered_total", "candidates sent to the dead-letter topic", func() float64 { return float64(cands.Stats().DeadLettered) })
	counter("errors_total", "transient processing errors (retried)", func() float64 { return float64(cands.Stats().Errors) })
	var isReady atomic.Bool
	stopMetrics := a.serveObservability(ctx, reg, &isReady)
	defer stopMetrics()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errc <- err
				cancel()
			}
		}()
	}
	run(st.flushLoop)
	run(st.reloadLoop)
	run(prompts.Run)
	run(cands.Run)
	isReady.Store(true)
	if ready != nil {
		close(ready)
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// rerankStage joins the streams runners with the pure reranker.Processor: candidates wait in
// Process until their request is selected and the selection is acknowledged; a flush loop scores
// and selects; a reload loop swaps in new registry versions.
type rerankStage struct {
	log        *slog.Logger
	opts       rerankRunOptions
	p          *reranker.Processor
	problems   *problemTable
	selections *streams.Producer[schemas.Selection]
	registry   string // polled for new versions; "" when a version directory was given

	mu       sync.Mutex
	waiting  map[string]*rerankRequest // by request id
	sessions map[string]*serving.Session

	swaps, swapFailures, selected, partial atomic.Int64
}

// registerMetrics exposes which provider and model version serve new requests, and the selections.
func (s *rerankStage) registerMetrics(reg *prometheus.Registry) {
	provider := prometheus.NewDesc("codeverify_reranker_provider",
		"1 for the ONNX Runtime execution provider serving new requests (cuda or cpu).", []string{"provider"}, nil)
	version := prometheus.NewDesc("codeverify_reranker_model_info", "1 for the model version serving new requests.", []string{"version"}, nil)
	reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		v := s.p.Version()
		ch <- prometheus.MustNewConstMetric(provider, prometheus.GaugeValue, 1, s.provider(v))
		ch <- prometheus.MustNewConstMetric(version, prometheus.GaugeValue, 1, v)
	}))
	for name, c := range map[string]*atomic.Int64{"model_swaps_total": &s.swaps, "model_swap_failures_total": &s.swapFailures,
		"selections_total": &s.selected, "partial_selections_total": &s.partial} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_reranker_" + name,
			Help: strings.ReplaceAll(strings.TrimSuffix(name, "_total"), "_", " ")}, func() float64 { return float64(c.Load()) }))
	}
}

type rerankRequest struct {
	problemID string
	waiters   map[string][]chan schemas.Score // by candidate id; a redelivered duplicate waits too
	scores    map[string]schemas.Score
}

// load opens a model version (or a registry's newest) and keeps its session for retire.
func (s *rerankStage) load(dir string) (reranker.Model, error) {
	sf := s.opts.scorer
	sf.model = dir
	sess, m, err := sf.open(s.log)
	if err != nil {
		return reranker.Model{}, err
	}
	model := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess, MaxBatch: s.opts.maxBatch}
	if err := model.Validate(); err != nil {
		sess.Close()
		return reranker.Model{}, err
	}
	s.mu.Lock()
	s.sessions[model.Version] = sess
	s.mu.Unlock()
	return model, nil
}

func (s *rerankStage) provider(version string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.sessions[version]; sess != nil {
		return sess.Provider()
	}
	return ""
}

// retire closes the session of a version no request uses any more (called by the Processor).
func (s *rerankStage) retire(m reranker.Model) {
	s.mu.Lock()
	sess := s.sessions[m.Version]
	delete(s.sessions, m.Version)
	s.mu.Unlock()
	if sess != nil {
		sess.Close()
		s.log.Info("reranker model retired", "model", m.Version)
	}
}

func (s *rerankStage) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v, sess := range s.sessions {
		sess.Close()
		delete(s.sessions, v)
	}
}

func (s *rerankStage) prompt(_ context.Context, p schemas.Prompt) ([]schemas.Selection, error) {
	if p.RequestID == "" || p.N < 1 {
		return nil, nil // nothing to expect
	}
	return nil, s.p.Expect(p.RequestID, int(p.N), time.Now())
}

func (s *rerankStage) candidate(ctx context.Context, c schemas.Candidate) ([]schemas.Score, error) {
	if c.RequestID == "" {
		return nil, streams.Permanent(fmt.Errorf("candidate %s: no request id to select within", c.CandidateID))
	}
	prob, ok := s.problems.Problem(c.ProblemID)
	if !ok {
		return nil, streams.Permanent(fmt.Errorf("candidate %s: unknown problem %s", c.CandidateID, c.ProblemID))
	}
	ch := make(chan schemas.Score, 1)
	s.mu.Lock()
	r := s.waiting[c.RequestID]
	if r == nil {
		r = &rerankRequest{problemID: c.ProblemID, waiters: map[string][]chan schemas.Score{}, scores: map[string]schemas.Score{}}
		s.waiting[c.RequestID] = r
	}
	r.waiters[c.CandidateID] = append(r.waiters[c.CandidateID], ch)
	s.mu.Unlock()
	err := s.p.Add(reranker.Candidate{RequestID: c.RequestID, CandidateID: c.CandidateID, Prompt: prob.Prompt, Code: c.Code}, time.Now())
	if err != nil {
		s.mu.Lock()
		if r := s.waiting[c.RequestID]; r != nil {
			r.waiters[c.CandidateID] = slices.DeleteFunc(r.waiters[c.CandidateID], func(w chan schemas.Score) bool { return w == ch })
			if len(r.waiters[c.CandidateID]) == 0 {
				delete(r.waiters, c.CandidateID)
			}
			if len(r.waiters) == 0 {
				delete(s.waiting, c.RequestID)
			}
		}
		s.mu.Unlock()
		if errors.Is(err, reranker.ErrSelected) {
			return nil, nil // a late duplicate: its score and its request's selection are out already
		}
		return nil, streams.Permanent(err)
	}
	select {
	case sc := <-ch:
		return []schemas.Score{sc}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// flushLoop scores what is queued, publishes the selections, then releases their candidates.
func (s *rerankStage) flushLoop(ctx context.Context) error {
	t := time.NewTicker(s.opts.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Now()
		scores, sels, err := s.p.Flush(ctx, now)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("reranker scoring failed; the candidates stay queued", "err", err)
		}
		s.mu.Lock()
		for _, sc := range scores {
			if r := s.waiting[sc.RequestID]; r != nil {
				r.scores[sc.CandidateID] = schemas.Score{CandidateID: sc.CandidateID, RequestID: sc.RequestID, ProblemID: r.problemID,
					Energy: float64(sc.Energy), ModelVersion: sc.ModelVersion, ScoredAtMs: now.UnixMilli()}
			}
		}
		out := make([]schemas.Selection, len(sels))
		for i, sel := range sels {
			var pid string
			if r := s.waiting[sel.RequestID]; r != nil {
				pid = r.problemID
			}
			out[i] = schemas.Selection{RequestID: sel.RequestID, ProblemID: pid, CandidateID: sel.CandidateID, Energy: float64(sel.Energy),
				Candidates: int32(sel.Candidates), Expected: int32(sel.Expected), Partial: sel.Partial, ModelVersion: sel.ModelVersion,
				SelectedAtMs: now.UnixMilli()}
		}
		s.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		// Until the selections are acknowledged their candidates stay uncommitted; retry until shutdown.
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
			err := s.selections.Publish(ctx, out...)
			if err == nil {
				break
			}
			s.log.Warn("publishing selections failed; retrying", "err", err, "selections", len(out))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
		s.mu.Lock()
		for _, sel := range out {
			s.selected.Add(1)
			if sel.Partial {
				s.partial.Add(1)
			}
			r := s.waiting[sel.RequestID]
			delete(s.waiting, sel.RequestID)
			if r == nil {
				continue
			}
			for cid, chans := range r.waiters {
				sc, ok := r.scores[cid]
				if !ok {
					continue // cannot happen: a request is selected only when all its candidates are scored
				}
				for _, ch := range chans {
					ch <- sc
				}
			}
		}
		s.mu.Unlock()
	}
}

// reloadLoop swaps in the registry's newest version when it changes. A version that fails to load
// is logged once and not retried until a newer one appears.
func (s *rerankStage) reloadLoop(ctx context.Context) error {
	if s.registry == "" {
		return nil
	}
	t := time.NewTicker(s.opts.reloadEvery)
	defer t.Stop()
	failed := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		versions, err := trainer.Registry{Dir: s.registry}.List()
		if err != nil || len(versions) == 0 {
			if err != nil {
				s.log.Warn("model registry poll failed", "dir", s.registry, "err", err)
			}
			continue
		}
		newest := versions[len(versions)-1].Version
		if newest == s.p.Version() || newest == failed {
			continue
		}
		m, err := s.load(filepath.Join(s.registry, newest))
		if err == nil {
			err = s.p.Swap(m)
			if err != nil {
				s.retire(m)
			}
		}
		if err != nil {
			failed = newest
			s.swapFailures.Add(1)
			s.log.Error("new model version not loaded; still serving the old one", "model", newest, "serving", s.p.Version(), "err", err)
			continue
		}
		s.swaps.Add(1)
		s.log.Info("reranker model swapped in", "model", newest, "provider", s.provider(newest))
	}
}
