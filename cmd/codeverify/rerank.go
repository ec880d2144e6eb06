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

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
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
	limits(f, map[string][2]string{"threads": {"1", "1024"}, "cuda-device": {"0", "63"}})
}

func (s *scorerFlags) runtime() serving.Runtime {
	return serving.Runtime{Library: s.lib, Provider: s.provider, Threads: s.threads, Device: s.device}
}

func (s *scorerFlags) open(log *slog.Logger) (*serving.Session, serving.Model, error) {
	return s.runtime().Open(s.model, log)
}

func (s *scorerFlags) session(m serving.Model, log *slog.Logger) (*serving.Session, error) {
	return s.runtime().Session(m, log)
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
		Long: `Serves the API and /metrics, /healthz, /readyz on --addr. With --metrics-addr, /metrics,
/healthz and /readyz are served there as well (as by every other service), so a scrape config that
targets the metrics port works for this command too.`,
		Args: cobra.NoArgs,
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
	limits(f, map[string][2]string{"max-body-bytes": {"1024", "1073741824"}, "max-candidates": {"1", "10000"}, "max-batch": {"1", "4096"}})
	return cmd
}

// rerankServe serves until ctx is cancelled. The model opens before the listener answers, so a bad
// model or library is a startup error.
func (a *app) rerankServe(ctx context.Context, o rerankServeOptions, ln net.Listener) error {
	defer ln.Close()
	sess, m, err := o.scorer.open(a.Log)
	if err != nil {
		return err
	}
	defer sess.Close()
	if names := m.Manifest.FeatureNames(); len(names) > 0 {
		return fmt.Errorf("rerank serve: model %s reads %d behaviour features, which the HTTP API does not carry: serve a code-only model, or use rerank run (it joins the behaviors topic)", m.Manifest.Version, len(names))
	}
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
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codeverify_http_requests_total",
		Help: "Requests to /v1/rerank by HTTP status code."}, []string{"code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "codeverify_http_request_seconds",
		Help: "Time to answer a /v1/rerank request, by HTTP status code.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"code"})
	reg.MustRegister(provider, info, requests, latency)
	ready := newReadiness("model")
	ready.set("model", nil) // opened and validated above
	stopMetrics, err := a.serveObservability(ctx, reg, ready)
	if err != nil {
		return err
	}
	defer stopMetrics()

	mux := http.NewServeMux()
	mux.Handle("/v1/rerank", promhttp.InstrumentHandlerCounter(requests, promhttp.InstrumentHandlerDuration(latency,
		reranker.Handler(func() reranker.Model { return model },
			reranker.HandlerOptions{MaxBodyBytes: o.maxBody, MaxCandidates: o.maxCandidates}))))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	a.Log.Info("rerank serving", "addr", ln.Addr().String(), "model", model.Version, "provider", sess.Provider())
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

// rerankTopics are the declared topics the reranker creates when missing: its outputs, its inputs'
// dead-letter topics, behaviors (it may start before anything wrote it) and, when it follows them,
// models.
func rerankTopics(models bool) (streams.Catalog, error) {
	names := []string{streams.TopicScores, streams.TopicSelections, streams.DLQTopic(streams.TopicCandidates),
		streams.DLQTopic(streams.TopicPrompts), streams.DLQTopic(streams.TopicBehaviors), streams.TopicBehaviors}
	if models {
		names = append(names, streams.TopicModels)
	}
	return streams.DefaultTopology().Select(names...)
}

type rerankRunOptions struct {
	scorer      scorerFlags
	bound       time.Duration
	flushEvery  time.Duration
	reloadEvery time.Duration
	modelsTopic bool
	maxBatch    int
	maxInFlight int
}

func (a *app) rerankRunCmd() *cobra.Command {
	var o rerankRunOptions
	cmd := &cobra.Command{
		Use:   "run --model REGISTRY|VERSION_DIR",
		Short: "The streaming reranker: candidates + behaviors (+ prompts for expected counts) → scores and selections topics",
		Long: `Consumes candidates (consumer group ` + streams.GroupRerankerCandidates + `), their behaviours on the generated tests (topic
"` + streams.TopicBehaviors + `", group ` + streams.GroupRerankerBehaviors + `) and prompts (group ` + streams.GroupRerankerPrompts + `, for how many candidates
each request expects). A request is scored once all its candidates are in and, for a model that reads
behaviour features, all their behaviours; its features are computed over its candidates (the same
function the training export uses), and its candidates are scored in batches across the requests
ready together. It writes one Score per candidate to "` + streams.TopicScores + `" and one Selection per request (min
energy, ties to the smaller candidate id) to "` + streams.TopicSelections + `". A request that is not ready within
--bound is scored among the candidates present (a candidate without a behaviour gets the features of
"no tests") and marked partial. Every Score and Selection carries the model version. A candidate and
a behaviour are committed only after their request's Selection (and the candidate's Score) were
acknowledged, so a crash re-scores, never loses.

Hot reload, with --model a registry directory (its newest version serves at start):
  --models-topic (default on) follows the "` + streams.TopicModels + `" topic that train announces each version on,
    from its last announcement on (so one made while the reranker was down is seen at start), with
    its own reader (no consumer group). An announced version is loaded from the event's path, or
    from <registry>/<version> when that path is not on this host, after its model file's sha256
    is checked against the announcement.
  --reload-every polls the registry directory (0: never).
Either way a version is swapped in only when it is newer (created later) than the one serving: new
requests get it, requests under way finish on theirs, so no candidate is scored twice or by a mix.
A version that cannot be used (undecodable event, missing files, checksum mismatch, load failure)
is logged with the reason and counted (codeverify_reranker_model_events_rejected_total,
codeverify_reranker_model_swap_failures_total); the old one keeps serving. With --model a version
directory, that version serves and nothing reloads.`,
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
	f.BoolVar(&o.modelsTopic, "models-topic", true, "swap in the versions announced on the "+streams.TopicModels+" topic (from its last announcement on)")
	f.IntVar(&o.maxBatch, "max-batch", 16, "candidates per ONNX Runtime run")
	f.IntVar(&o.maxInFlight, "max-in-flight", 2048, "candidates fetched but not yet committed (must exceed the candidates of the requests open at once)")
	limits(f, map[string][2]string{
		"bound": {"1ms", "24h"}, "flush-every": {"1ms", "1m"}, "reload-every": {"0s", "24h"}, "max-batch": {"1", "4096"}, "max-in-flight": {"1", "1000000"},
	})
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
	st := &rerankStage{log: a.Log, opts: o, kafka: a.Cluster(), waiting: map[string]*rerankRequest{}, held: map[string][]chan struct{}{},
		sessions: map[string]*serving.Session{}}
	// A registry directory (no manifest.json of its own) is where new versions come from; a version
	// directory pins its version.
	if _, err := os.Stat(filepath.Join(o.scorer.model, "manifest.json")); errors.Is(err, os.ErrNotExist) {
		st.registry = o.scorer.model
	}
	topics, err := rerankTopics(st.followsModels())
	if err != nil {
		return err
	}
	if err := streams.EnsureTopics(ctx, a.Cluster(), topics); err != nil {
		return err
	}
	model, manifest, err := st.load(o.scorer.model, nil)
	if err != nil {
		return err
	}
	st.serving = manifest
	st.p, err = reranker.New(model, reranker.Options{Bound: o.bound, OnRetire: st.retire, OnDrop: st.release})
	if err != nil {
		st.closeAll()
		return err
	}
	defer st.closeAll()
	if st.problems, err = a.problemsTable(ctx, codecs); err != nil {
		return err
	}
	st.selections = streams.NewProducer(a.Cluster(), streams.TopicSelections, rc.Selection, func(s schemas.Selection) string { return s.RequestID })
	defer st.selections.Close()

	reg := prometheus.NewRegistry()
	m, err := newStageMetrics(reg)
	if err != nil {
		return err
	}
	cands, err := streams.NewRunner(streams.RunnerConfig[schemas.Candidate, schemas.Score]{
		Cluster: a.Cluster(), Group: streams.GroupRerankerCandidates, Input: streams.TopicCandidates, Output: streams.TopicScores,
		InCodec: codecs.Candidate, OutCodec: rc.Score,
		OutKey:   func(s schemas.Score) string { return s.CandidateID },
		Validate: func(c schemas.Candidate) error { return c.Validate() },
		// Process waits for the request's selection, so every in-flight candidate holds a worker.
		Workers: o.maxInFlight, MaxInFlight: o.maxInFlight, MaxMessageBytes: a.Config.MaxMessageBytes, Log: a.Log,
		OnDeadLettered: m.deadLettered(streams.TopicCandidates),
	}, streams.ProcessorFunc[schemas.Candidate, schemas.Score](st.candidate))
	if err != nil {
		return err
	}
	// The prompts consumer only records expected counts; it writes nothing (Output is never used).
	prompts, err := streams.NewRunner(streams.RunnerConfig[schemas.Prompt, schemas.Selection]{
		Cluster: a.Cluster(), Group: streams.GroupRerankerPrompts, Input: streams.TopicPrompts, Output: streams.TopicSelections,
		InCodec: codecs.Prompt, OutCodec: rc.Selection,
		OutKey:  func(s schemas.Selection) string { return s.RequestID },
		Workers: 1, MaxMessageBytes: a.Config.MaxMessageBytes, Log: a.Log,
		OnDeadLettered: m.deadLettered(streams.TopicPrompts),
	}, streams.ProcessorFunc[schemas.Prompt, schemas.Selection](st.prompt))
	if err != nil {
		return err
	}
	// Behaviours wait in Process until their request's selection is out, like candidates: each holds
	// a worker. The runner writes nothing for them (Output is never used).
	behaviors, err := streams.NewRunner(streams.RunnerConfig[schemas.Behavior, schemas.Selection]{
		Cluster: a.Cluster(), Group: streams.GroupRerankerBehaviors, Input: streams.TopicBehaviors, Output: streams.TopicSelections,
		InCodec: codecs.Behavior, OutCodec: rc.Selection,
		OutKey:   func(s schemas.Selection) string { return s.RequestID },
		Validate: func(b schemas.Behavior) error { return b.Validate() },
		Workers:  o.maxInFlight, MaxInFlight: o.maxInFlight, MaxMessageBytes: a.Config.MaxMessageBytes, Log: a.Log,
		OnDeadLettered: m.deadLettered(streams.TopicBehaviors),
	}, streams.ProcessorFunc[schemas.Behavior, schemas.Selection](st.behavior))
	if err != nil {
		return err
	}
	a.Log.Info("reranker running", "model", model.Version, "provider", st.provider(model.Version), "registry", st.registry,
		"reload_every", st.pollEvery(), "models_topic", st.followsModels(), "bound", o.bound)
	st.registerMetrics(reg)
	registerRunnerStats(reg, "reranker", cands.Stats)
	isReady := newReadiness(checkKafka, checkStarted)
	stopMetrics, err := a.serveObservability(ctx, reg, isReady)
	if err != nil {
		return err
	}
	defer stopMetrics()
	a.watchKafka(ctx, isReady)
	a.watchLag(ctx, m, lagEvery, consumed{streams.GroupRerankerCandidates, streams.TopicCandidates},
		consumed{streams.GroupRerankerBehaviors, streams.TopicBehaviors}, consumed{streams.GroupRerankerPrompts, streams.TopicPrompts})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 6)
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
	run(st.modelsLoop)
	run(prompts.Run)
	run(behaviors.Run)
	run(cands.Run)
	isReady.set(checkStarted, nil)
	if ready != nil {
		close(ready)
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// rerankStage joins the streams runners with the pure reranker.Processor: candidates wait in
// Process until their request is selected and the selection is acknowledged; a flush loop scores
// and selects; a reload loop (registry) and a models loop (models topic) swap in new versions.
type rerankStage struct {
	log        *slog.Logger
	opts       rerankRunOptions
	kafka      streams.Cluster
	p          *reranker.Processor
	problems   problemLookup
	selections *streams.Producer[schemas.Selection]
	registry   string // where new versions come from; "" when a version directory was given

	swapMu  sync.Mutex     // one load and swap at a time, whichever source offers the version
	serving model.Manifest // the version new requests get

	mu       sync.Mutex
	waiting  map[string]*rerankRequest  // by request id
	held     map[string][]chan struct{} // behaviours waiting for their request's selection, by request id
	sessions map[string]*serving.Session

	swaps, swapFailures, modelEvents, modelEventsRejected, selected, partial atomic.Int64
}

// registerMetrics exposes which provider and model version serve new requests, and the selections.
func (s *rerankStage) registerMetrics(reg *prometheus.Registry) {
	provider := prometheus.NewDesc("codeverify_reranker_provider",
		"1 for the ONNX Runtime execution provider serving new requests (cuda or cpu).", []string{"provider"}, nil)
	version := prometheus.NewDesc("codeverify_reranker_model_info", "1 for the model version serving new requests.", []string{"version"}, nil)
	open := prometheus.NewDesc("codeverify_reranker_open_requests", "Requests seen and not yet selected.", nil, nil)
	reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		v := s.p.Version()
		ch <- prometheus.MustNewConstMetric(provider, prometheus.GaugeValue, 1, s.provider(v))
		ch <- prometheus.MustNewConstMetric(version, prometheus.GaugeValue, 1, v)
		ch <- prometheus.MustNewConstMetric(open, prometheus.GaugeValue, float64(s.p.Open()))
	}))
	for name, c := range map[string]*atomic.Int64{"model_swaps_total": &s.swaps, "model_swap_failures_total": &s.swapFailures,
		"model_events_total": &s.modelEvents, "model_events_rejected_total": &s.modelEventsRejected,
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

// load opens a model version (or a registry's newest) and keeps its session for retire; check
// (optional) vets the manifest, whose model file LoadModel has checked, before a session opens.
func (s *rerankStage) load(dir string, check func(model.Manifest) error) (reranker.Model, model.Manifest, error) {
	m, err := serving.LoadModel(dir)
	if err == nil && check != nil {
		err = check(m.Manifest)
	}
	if err != nil {
		return reranker.Model{}, m.Manifest, err
	}
	sess, err := s.opts.scorer.session(m, s.log)
	if err != nil {
		return reranker.Model{}, m.Manifest, err
	}
	rm := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess, MaxBatch: s.opts.maxBatch,
		Features: m.Manifest.FeatureNames()}
	if err := rm.Validate(); err != nil {
		sess.Close()
		return reranker.Model{}, m.Manifest, err
	}
	s.mu.Lock()
	s.sessions[rm.Version] = sess
	s.mu.Unlock()
	return rm, m.Manifest, nil
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
	if p.RequestID == "" || p.N < 1 || p.Purpose == schemas.PurposeTests {
		return nil, nil // nothing to expect (a prompt for tests yields no candidates)
	}
	return nil, s.p.Expect(p.RequestID, int(p.N), time.Now())
}

// behavior records a candidate's behaviour and holds it (uncommitted) until its request's selection
// is out, so a crash before that replays it with the request's candidates.
func (s *rerankStage) behavior(ctx context.Context, b schemas.Behavior) ([]schemas.Selection, error) {
	if b.RequestID == "" {
		return nil, streams.Permanent(fmt.Errorf("behaviour of %s: no request id to join", b.CandidateID))
	}
	ch := make(chan struct{})
	s.mu.Lock()
	s.held[b.RequestID] = append(s.held[b.RequestID], ch)
	s.mu.Unlock()
	if err := s.p.AddBehavior(b, time.Now()); err != nil {
		s.mu.Lock()
		s.held[b.RequestID] = slices.DeleteFunc(s.held[b.RequestID], func(c chan struct{}) bool { return c == ch })
		if len(s.held[b.RequestID]) == 0 {
			delete(s.held, b.RequestID)
		}
		s.mu.Unlock()
		if errors.Is(err, reranker.ErrSelected) {
			return nil, nil // its request was selected without it: nothing left to do with it
		}
		return nil, streams.Permanent(err)
	}
	select {
	case <-ch:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release lets the behaviours held for a request be committed: its selection is out, or it was
// dropped with no candidate.
func (s *rerankStage) release(requestID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.held[requestID] {
		close(ch)
	}
	delete(s.held, requestID)
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
			for _, ch := range s.held[sel.RequestID] {
				close(ch)
			}
			delete(s.held, sel.RequestID)
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

// modelOffer is a version a reload source found: its files are at dir() once the offer is taken.
type modelOffer struct {
	source  string // "registry" or "models topic", for the logs
	version string
	created time.Time
	dir     func() (string, error)
	check   func(model.Manifest) error // nil: LoadModel's own checks only
}

// newer orders versions as the registry lists them: by creation time, then by name.
func (o modelOffer) newer(than model.Manifest) bool {
	if c := o.created.Compare(than.CreatedAt); c != 0 {
		return c > 0
	}
	return o.version > than.Version
}

// swapIn loads an offered version and makes it the one new requests get, when it is newer than the
// one serving; it reports whether it swapped. Versions only move forward, so the two sources cannot
// swap each other's versions back and forth, and a retiring version is never offered again.
func (s *rerankStage) swapIn(o modelOffer) (bool, error) {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	if !o.newer(s.serving) {
		return false, nil
	}
	dir, err := o.dir()
	var m reranker.Model
	var manifest model.Manifest
	if err == nil {
		m, manifest, err = s.load(dir, o.check)
	}
	if err == nil {
		if err = s.p.Swap(m); err != nil {
			s.retire(m)
		}
	}
	if err != nil {
		s.swapFailures.Add(1)
		return false, err
	}
	s.serving = manifest
	s.swaps.Add(1)
	s.log.Info("reranker model swapped in", "model", o.version, "provider", s.provider(o.version), "source", o.source, "dir", dir)
	return true, nil
}

func (s *rerankStage) pollEvery() time.Duration {
	if s.registry == "" {
		return 0
	}
	return s.opts.reloadEvery
}

func (s *rerankStage) followsModels() bool { return s.registry != "" && s.opts.modelsTopic }

// reloadLoop offers the registry's newest version whenever it polls. A version that fails to load
// is logged once and not retried until a newer one appears.
func (s *rerankStage) reloadLoop(ctx context.Context) error {
	if s.pollEvery() <= 0 {
		return nil
	}
	t := time.NewTicker(s.pollEvery())
	defer t.Stop()
	failed := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		versions, err := model.Registry{Dir: s.registry}.List()
		if err != nil || len(versions) == 0 {
			if err != nil {
				s.log.Warn("model registry poll failed", "dir", s.registry, "err", err)
			}
			continue
		}
		newest := versions[len(versions)-1]
		if newest.Version == failed {
			continue
		}
		dir := filepath.Join(s.registry, newest.Version)
		_, err = s.swapIn(modelOffer{source: "registry", version: newest.Version, created: newest.CreatedAt,
			dir: func() (string, error) { return dir, nil }})
		if err != nil {
			failed = newest.Version
			s.log.Error("new model version not loaded; still serving the old one", "model", newest.Version, "serving", s.p.Version(), "err", err)
		}
	}
}

// modelsLoop follows the models topic from its last announcement on (the newest version announced,
// also when that happened while this reranker was down) and offers every version announced after.
// Its reader is not a consumer group: every replica sees every announcement, and nothing is
// committed because a restart starts from the last announcement again. Errors never stop the
// reranker: the tail resumes after the last event seen, with backoff.
func (s *rerankStage) modelsLoop(ctx context.Context) error {
	if !s.followsModels() {
		return nil
	}
	codec, err := schemas.NewModelEventCodec()
	if err != nil {
		return err
	}
	next := streams.TailLast
	for backoff := time.Second; ; backoff = min(2*backoff, 30*time.Second) {
		err := streams.Tail(ctx, s.kafka, streams.TopicModels, 0, next, func(m streams.Message) {
			next, backoff = m.Offset+1, time.Second
			s.modelEvent(codec, m)
		})
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("following the models topic failed; retrying", "topic", streams.TopicModels, "offset", next, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
}

// modelEvent offers one announced version. A bad event is logged with its reason and counted; the
// version serving keeps serving.
func (s *rerankStage) modelEvent(codec *schemas.Codec[schemas.ModelEvent], m streams.Message) {
	s.modelEvents.Add(1)
	log := s.log.With("topic", streams.TopicModels, "partition", m.Partition, "offset", m.Offset)
	ev, err := model.DecodeEvent(codec, m.Value)
	swapped := false
	if err == nil {
		swapped, err = s.swapIn(modelOffer{source: "models topic", version: ev.Version, created: model.EventTime(ev),
			dir:   func() (string, error) { return s.announcedDir(ev) },
			check: func(m model.Manifest) error { return model.Matches(ev, m) }})
	}
	switch {
	case err != nil:
		s.modelEventsRejected.Add(1)
		log.Error("announced model version not loaded; still serving the old one", "model", ev.Version, "serving", s.p.Version(), "err", err)
	case !swapped:
		log.Info("announced model version is not newer than the one serving; ignored", "model", ev.Version, "serving", s.p.Version())
	}
}

// announcedDir is where an announced version's files are on this host: the trainer's path when it
// exists here, else the same version in this reranker's registry.
func (s *rerankStage) announcedDir(ev schemas.ModelEvent) (string, error) {
	var tried []string
	for _, dir := range []string{ev.Path, filepath.Join(s.registry, ev.Version)} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("version %s: no manifest.json in %s", ev.Version, strings.Join(tried, " or "))
}
