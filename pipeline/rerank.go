package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
)

// RerankConfig configures the streaming reranker (rerank run); the CLI's flags fill it.
type RerankConfig struct {
	// Model is a version directory (that version serves, nothing reloads) or a registry directory
	// (its newest version serves at start, newer ones are swapped in).
	Model   string
	Runtime serving.Runtime
	// Bound is how long a request waits for all its candidates before a partial selection.
	Bound time.Duration
	// FlushEvery is how often queued candidates are scored, batched across requests.
	FlushEvery time.Duration
	// ReloadEvery is how often the registry is polled for a new version (0: never).
	ReloadEvery time.Duration
	// ModelsTopic: swap in the versions announced on the models topic, from its last announcement on.
	ModelsTopic bool
	// MaxBatch is the most candidates of one ONNX Runtime run.
	MaxBatch int
	// MaxInFlight is how many candidates (and as many behaviours) are fetched but not yet committed;
	// it must exceed the candidates of the requests open at once.
	MaxInFlight int
	// Metrics, when set, counts the consumers' dead letters.
	Metrics *ops.StageMetrics
}

// Reranker is the streaming reranker. Three consumers feed a reranker.Join: candidates, their
// behaviours, and prompts (for how many candidates each request expects). A flush loop scores what
// is ready, publishes the selections and only then lets their candidates (with their Scores) and
// behaviours be committed, so a crash re-scores, never loses. A registry poll and the models-topic
// follower swap new versions in.
type Reranker struct {
	env        *config.Env
	cfg        RerankConfig
	registry   string // where new versions come from; "" when a version directory was given
	join       *reranker.Join
	versions   *reranker.Versions
	problems   Problems
	selections *streams.Producer[schemas.Selection]

	candidates *streams.Runner[schemas.Candidate, schemas.Score]
	prompts    *streams.Runner[schemas.Prompt, struct{}]
	behaviors  *streams.Runner[schemas.Behavior, struct{}]

	modelEvents, modelEventsRejected atomic.Int64
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

// NewReranker creates the reranker's topics when missing, opens its model and builds its consumers;
// nothing is consumed until Run. Close releases it.
func NewReranker(ctx context.Context, env *config.Env, cfg RerankConfig) (*Reranker, error) {
	if cfg.Bound <= 0 || cfg.FlushEvery <= 0 || cfg.MaxInFlight < 1 || cfg.MaxBatch < 1 {
		return nil, fmt.Errorf("rerank run: --bound, --flush-every, --max-in-flight and --max-batch must be positive")
	}
	r := &Reranker{env: env, cfg: cfg}
	// A registry directory (no manifest.json of its own) is where new versions come from; a version
	// directory pins its version.
	if _, err := os.Stat(filepath.Join(cfg.Model, "manifest.json")); errors.Is(err, os.ErrNotExist) {
		r.registry = cfg.Model
	}
	topics, err := rerankTopics(r.followsModels())
	if err != nil {
		return nil, err
	}
	if err := streams.EnsureTopics(ctx, env.Cluster(), topics); err != nil {
		return nil, err
	}
	open := rerankOpener(cfg.Runtime, cfg.MaxBatch, env.Log)
	first, manifest, err := open(cfg.Model, nil)
	if err != nil {
		return nil, err
	}
	r.join, err = reranker.NewJoin(first, reranker.Options{Bound: cfg.Bound, OnRetire: func(m reranker.Model) {
		m.Close()
		env.Log.Info("reranker model retired", "model", m.Version)
	}})
	if err != nil {
		first.Close()
		return nil, err
	}
	r.versions = reranker.NewVersions(r.join.Processor(), manifest, open, env.Log)
	if err := r.consumers(ctx); err != nil {
		r.Close()
		return nil, err
	}
	env.Log.Info("reranker running", "model", first.Version, "provider", first.Provider(), "registry", r.registry,
		"reload_every", r.pollEvery(), "models_topic", r.followsModels(), "bound", cfg.Bound)
	return r, nil
}

// consumers starts the problems table and the selections producer and builds the three runners.
func (r *Reranker) consumers(ctx context.Context) error {
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	rc, err := schemas.NewRerankCodecs()
	if err != nil {
		return err
	}
	if r.problems, err = StartProblems(ctx, r.env, codecs); err != nil {
		return err
	}
	selectionKey := func(s schemas.Selection) string { return s.RequestID }
	r.selections = streams.NewProducer(r.env.Cluster(), streams.TopicSelections, rc.Selection, selectionKey)
	// Candidates and behaviours stay uncommitted until their request's selection is out; they wait as
	// callbacks in the Join, not in workers, so MaxInFlight bounds them and two workers suffice.
	r.candidates, err = streams.NewAsyncRunner(rerankConfig(r, streams.RunnerConfig[schemas.Candidate, schemas.Score]{
		Group: streams.GroupRerankerCandidates, Input: streams.TopicCandidates, Output: streams.TopicScores,
		InCodec: codecs.Candidate, OutCodec: rc.Score, OutKey: func(s schemas.Score) string { return s.CandidateID },
		Validate: func(c schemas.Candidate) error { return c.Validate() },
	}), rerankAsync[schemas.Candidate, schemas.Score](r.candidate))
	if err != nil {
		return err
	}
	// Prompts and behaviours write nothing: the selections go out through the selections producer.
	prompts := rerankConfig(r, streams.RunnerConfig[schemas.Prompt, struct{}]{
		Group: streams.GroupRerankerPrompts, Input: streams.TopicPrompts, InCodec: codecs.Prompt, NoOutput: true,
	})
	prompts.Workers, prompts.MaxInFlight = 1, 0
	if r.prompts, err = streams.NewRunner(prompts, streams.ProcessorFunc[schemas.Prompt, struct{}](r.prompt)); err != nil {
		return err
	}
	r.behaviors, err = streams.NewAsyncRunner(rerankConfig(r, streams.RunnerConfig[schemas.Behavior, struct{}]{
		Group: streams.GroupRerankerBehaviors, Input: streams.TopicBehaviors, InCodec: codecs.Behavior, NoOutput: true,
		Validate: func(b schemas.Behavior) error { return b.Validate() },
	}), rerankAsync[schemas.Behavior, struct{}](r.behavior))
	return err
}

// rerankConfig completes c with what the reranker's consumers share: cluster, limits, log and the
// dead-letter hook of its input.
func rerankConfig[In, Out any](r *Reranker, c streams.RunnerConfig[In, Out]) streams.RunnerConfig[In, Out] {
	c.Cluster, c.MaxMessageBytes, c.Log = r.env.Cluster(), r.env.Config.MaxMessageBytes, r.env.Log
	c.Workers, c.MaxInFlight = 2, r.cfg.MaxInFlight
	c.OnDeadLettered = r.cfg.Metrics.DeadLettered(c.Input)
	return c
}

// rerankAsync adapts a method of the reranker to streams.AsyncProcessor.
type rerankAsync[In, Out any] func(ctx context.Context, in In, done func([]Out, error))

func (f rerankAsync[In, Out]) Start(ctx context.Context, in In, done func([]Out, error)) {
	f(ctx, in, done)
}

// Stats are the candidates consumer's counters (each candidate processed is one Score written).
func (r *Reranker) Stats() streams.Stats { return r.candidates.Stats() }

// Run consumes until ctx is cancelled, then drains; started (optional) is called once every
// consumer and loop runs. The first error of one stops the others.
func (r *Reranker) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 6)
	for _, f := range []func(context.Context) error{r.flushLoop, r.reloadLoop, r.modelsLoop, r.prompts.Run, r.behaviors.Run, r.candidates.Run} {
		wg.Go(func() {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errc <- err
				cancel()
			}
		})
	}
	if started != nil {
		started()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// Close releases the producer and every model version still open; call it after Run returned.
func (r *Reranker) Close() {
	if r.selections != nil {
		r.selections.Close()
	}
	r.join.Processor().Close()
}
