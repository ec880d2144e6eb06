package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
)

// ExecutorRunner is the executor processor's runner: candidates in, verdicts and behaviours out.
type ExecutorRunner = streams.Runner[schemas.Candidate, executor.Output]

// ExecutorOptions are the executor processor's switches beyond the config.
type ExecutorOptions struct {
	// LookupClickHouse answers candidates whose (problem, test suite, code) already has a
	// (non-timeout) verdict in ClickHouse from there instead of executing them again.
	LookupClickHouse bool
	// StatsEvery logs the cache hit rate this often while running (default 1 minute).
	StatsEvery time.Duration
	// Metrics, when set, records verdicts, execution time and dead letters.
	Metrics *ops.StageMetrics
}

// executorStage makes sure a missing problem is a real miss before the executor sees the candidate
// (the executor marks an unknown problem permanent itself), retries candidates while the tests
// table no longer follows its topic, and records the execution's metrics.
type executorStage struct {
	p        *executor.DualProcessor
	problems Problems
	tests    testsLookup
	metrics  *ops.StageMetrics // nil: none
}

func (s executorStage) Process(ctx context.Context, c schemas.Candidate) ([]executor.Output, error) {
	if err := s.tests.t.Err(); err != nil {
		return nil, fmt.Errorf("tests table: %w", err)
	}
	if err := s.problems.Ensure(ctx, c.ProblemID); err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := s.p.Process(ctx, c)
	s.metrics.Executed(out, time.Since(start), err)
	return out, err
}

// routeExecutorOutput sends verdicts to the verdicts topic and behaviours to the behaviors topic.
func routeExecutorOutput(codecs *schemas.Codecs) func(executor.Output) (streams.Record, error) {
	return func(o executor.Output) (streams.Record, error) {
		if o.Behavior != nil {
			return streams.EncodeRecord(streams.TopicBehaviors, codecs.Behavior, schemas.BehaviorKey(*o.Behavior), *o.Behavior)
		}
		if o.Verdict == nil {
			return streams.Record{}, errors.New("executor output with neither verdict nor behaviour")
		}
		return streams.EncodeRecord(streams.TopicVerdicts, codecs.Verdict, o.Verdict.CandidateID, *o.Verdict)
	}
}

// countingLookup passes lookups to ClickHouse and counts (and logs, sparingly) its errors: the
// executor treats a failed lookup as a miss and executes the candidate.
type countingLookup struct {
	s    *clickhouse.Sink
	log  *slog.Logger
	errs atomic.Int64
}

// LookupVerdict is the sink's LookupVerdict, its errors counted.
func (l *countingLookup) LookupVerdict(ctx context.Context, problemID, suiteHash, codeSHA256 string) (string, string, string, bool, error) {
	label, kind, detail, found, err := l.s.LookupVerdict(ctx, problemID, suiteHash, codeSHA256)
	if err != nil && ctx.Err() == nil {
		if n := l.errs.Add(1); n == 1 || n%1000 == 0 {
			l.log.Warn("clickhouse verdict lookup failed; executing instead", "errors", n, "err", err)
		}
	}
	return label, kind, detail, found, err
}

// NewExecutorRunner builds the executor processor; it returns once the problems and tests tables
// caught up with their topics. The returned close func (never nil when err is nil) stops the
// zygote workers and the lookup connection and logs the cache statistics; call it after the
// runner's Run has returned.
func NewExecutorRunner(ctx context.Context, env *config.Env, codecs *schemas.Codecs, opt ExecutorOptions) (*ExecutorRunner, func(), error) {
	ex, err := env.NewExecutor("", 0)
	if err != nil {
		return nil, nil, err
	}
	if err := opt.Metrics.Sandbox(ex); err != nil {
		ex.Close()
		return nil, nil, err
	}
	var lookup *countingLookup
	if opt.LookupClickHouse {
		sink, err := env.OpenClickHouse(ctx)
		if err != nil {
			ex.Close()
			return nil, nil, fmt.Errorf("verdict lookup in ClickHouse: %w", err)
		}
		lookup = &countingLookup{s: sink, log: env.Log}
		ex.SetLookup(lookup)
	}
	stopStats := logCacheStats(env.Log, ex, opt, lookup)
	var closeOnce sync.Once
	closeFn := func() {
		closeOnce.Do(func() {
			stopStats()
			ex.Close()
			if lookup != nil {
				lookup.s.Close()
			}
		})
	}
	r, err := executorRunner(ctx, env, codecs, ex, opt.Metrics)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return r, closeFn, nil
}

// logCacheStats logs the executor's cache statistics every opt.StatsEvery when they changed; the
// returned func stops it and logs them once more.
func logCacheStats(log *slog.Logger, ex *executor.Executor, opt ExecutorOptions, lookup *countingLookup) func() {
	logStats := func(msg string) {
		st := ex.CacheStats()
		args := []any{"executed", st.Executed, "memory_hits", st.MemoryHits, "clickhouse_hits", st.StoreHits,
			"hit_rate", fmt.Sprintf("%.3f", st.HitRate()), "clickhouse_lookup", opt.LookupClickHouse, "sandbox_recycles", ex.Recycles()}
		if lookup != nil {
			args = append(args, "lookup_errors", lookup.errs.Load())
		}
		log.Info(msg, args...)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		every := opt.StatsEvery
		if every <= 0 {
			every = time.Minute
		}
		t := time.NewTicker(every)
		defer t.Stop()
		var last executor.CacheStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if st := ex.CacheStats(); st != last {
					last = st
					logStats("executor cache")
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		logStats("executor stopped")
	}
}

func executorRunner(ctx context.Context, env *config.Env, codecs *schemas.Codecs, ex *executor.Executor, m *ops.StageMetrics) (*ExecutorRunner, error) {
	problems, err := StartProblems(ctx, env, codecs)
	if err != nil {
		return nil, err
	}
	tests, err := startTable(ctx, env, streams.TopicTests, codecs.TestCase)
	if err != nil {
		return nil, fmt.Errorf("tests table: %w", err)
	}
	// Per-problem timeouts from the reference solutions known at start; problems published later
	// run with the configured timeout.
	known := slices.Collect(maps.Values(problems.t.Snapshot()))
	calibrated, err := ex.Calibrate(ctx, known, executor.Calibration{})
	if err != nil {
		return nil, err
	}
	env.Log.Info("executor ready", "version", ex.Version(), "backend", ex.Backend(), "problems", problems.Len(), "problems_with_generated_tests", tests.Len(),
		"calibrated", calibrated, "isolation", ex.Isolation().String())
	if iso := ex.Isolation(); !strings.HasPrefix(iso.Cgroup, "v1") {
		// Without cgroups only rlimits bound a candidate: a fork bomb or a memory hog is held by
		// RLIMIT_NPROC/RLIMIT_AS per process, not per worker. Running as root (or with a delegated
		// cgroup v1 hierarchy) restores the limits; README "Deploy" says what a non-root run keeps.
		env.Log.Warn("sandbox without cgroup memory and pids limits: only rlimits bound candidates", "cgroup", iso.Cgroup)
	}
	g := env.Config.Group
	return streams.NewRunner(streams.RunnerConfig[schemas.Candidate, executor.Output]{
		Cluster: env.Cluster(), Group: streams.GroupExecutor, Input: streams.TopicCandidates,
		InCodec: codecs.Candidate, Route: routeExecutorOutput(codecs),
		Validate: func(c schemas.Candidate) error { return c.Validate() },
		Workers:  ex.Workers(), MaxMessageBytes: env.Config.MaxMessageBytes, Log: env.Log,
		// Commits follow fetch order; a deep window keeps workers busy behind a slow (timing-out) candidate.
		MaxInFlight:    64 * ex.Workers(),
		SessionTimeout: g.SessionTimeout, HeartbeatInterval: g.HeartbeatInterval, RebalanceTimeout: g.RebalanceTimeout,
		OnDeadLettered: m.DeadLettered(streams.TopicCandidates),
	}, executorStage{p: &executor.DualProcessor{Exec: ex, Problems: problems, Tests: testsLookup{tests}}, problems: problems, tests: testsLookup{tests}, metrics: m})
}
