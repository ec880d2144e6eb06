package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

func (a *app) brokerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker (kfake) on 127.0.0.1, data under VAR_DIR/kafka",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := streams.StartBroker(filepath.Join(a.Config.VarDir, "kafka"), a.Config.EmbeddedPort, a.Log)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := streams.EnsureTopics(cmd.Context(), streams.Cluster{Brokers: []string{b.Addr()}}, streams.DefaultCatalog()); err != nil {
				return err
			}
			a.Log.Info("broker ready", "addr", b.Addr(), "data_dir", filepath.Join(a.Config.VarDir, "kafka"))
			<-cmd.Context().Done()
			return nil
		},
	}
}

func (a *app) topicsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "topics",
		Short: "Create the topic catalog on the brokers (idempotent) and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat := streams.DefaultCatalog()
			if err := a.EnsureTopics(cmd.Context(), cat); err != nil {
				return err
			}
			for _, t := range cat {
				fmt.Printf("%-16s partitions=%d compacted=%v key=%s\n", t.Name, t.Partitions, t.Compacted, t.Key)
			}
			return nil
		},
	}
}

func (a *app) produceCmd() *cobra.Command {
	var problemsPath, samplesPath, testsPath, model string
	var temperature, topP float64
	var noTruncate bool
	cmd := &cobra.Command{
		Use:   "produce --problems FILE [--samples FILE] [--tests FILE]",
		Short: "Publish problems (and pre-generated samples as candidates, generated tests as test sets) to the topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if problemsPath == "" {
				return fmt.Errorf("--problems is required")
			}
			codecs, err := schemas.NewCodecs()
			if err != nil {
				return err
			}
			if err := a.EnsureTopics(cmd.Context(), streams.DefaultCatalog()); err != nil {
				return err
			}
			opt := producers.SampleOptions{Model: model, Temperature: temperature, TopP: topP}
			if noTruncate {
				opt.Stops = []string{}
			}
			// Tests before candidates: the executor runs a candidate against the tests its problem has then.
			if testsPath != "" {
				tcs, err := a.publishTests(cmd.Context(), codecs, problemsPath, testsPath, model)
				if err != nil {
					return err
				}
				asserts := 0
				for _, tc := range tcs {
					asserts += len(tc.Asserts)
				}
				fmt.Printf("published %d test sets (%d distinct asserts) from %s\n", len(tcs), asserts, model)
			}
			np, nc, err := a.publish(cmd.Context(), codecs, problemsPath, samplesPath, opt)
			if err != nil {
				return err
			}
			fmt.Printf("published %d problems, %d candidates\n", np, len(nc))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&problemsPath, "problems", "", "problems file (MBPP .jsonl/.json, HumanEval .jsonl)")
	f.StringVar(&samplesPath, "samples", "", "pre-generated samples (CodeT or human-eval format)")
	f.StringVar(&testsPath, "tests", "", "generated test cases (CodeT test-case format), replayed onto the tests topic")
	genModelFlag(f, &model, "unknown", "name of the model that generated the samples and tests")
	f.Float64Var(&temperature, "temperature", 0, "sampling temperature of the samples")
	f.Float64Var(&topP, "top-p", 1, "top_p of the samples")
	limits(f, map[string][2]string{"temperature": {"0", "2"}, "top-p": {"0", "1"}})
	f.BoolVar(&noTruncate, "no-truncate", false, "do not cut CodeT completions at stop sequences")
	return cmd
}

// publish sends the problems, then the candidates of the samples file; it returns the candidates.
func (a *app) publish(ctx context.Context, codecs *schemas.Codecs, problemsPath, samplesPath string, opt producers.SampleOptions) (int, []schemas.Candidate, error) {
	problems, err := producers.LoadProblems(problemsPath)
	if err != nil {
		return 0, nil, err
	}
	pp := streams.NewProducer(a.Cluster(), streams.TopicProblems, codecs.Problem, func(p schemas.Problem) string { return p.ProblemID })
	defer pp.Close()
	if err := pp.Publish(ctx, problems...); err != nil {
		return 0, nil, fmt.Errorf("publish problems: %w", err)
	}
	if samplesPath == "" {
		return len(problems), nil, nil
	}
	cands, unmatched, err := producers.LoadSamples(samplesPath, problems, opt)
	if err != nil {
		return 0, nil, err
	}
	if len(unmatched) > 0 {
		return 0, nil, fmt.Errorf("%s: %d sample lines match no problem (first: line %d: %s)", samplesPath, len(unmatched), unmatched[0].Line, unmatched[0].Reason)
	}
	cp := streams.NewProducer(a.Cluster(), streams.TopicCandidates, codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	defer cp.Close()
	const chunk = 2000 // bounded request size, still few round trips
	for i := 0; i < len(cands); i += chunk {
		if err := cp.Publish(ctx, cands[i:min(i+chunk, len(cands))]...); err != nil {
			return 0, nil, fmt.Errorf("publish candidates: %w", err)
		}
	}
	return len(problems), cands, nil
}

// publishTests replays a CodeT test-case file onto the tests topic, with CodeT's extraction. Test
// set ids come from the content, so replaying the same file again yields the same ids.
func (a *app) publishTests(ctx context.Context, codecs *schemas.Codecs, problemsPath, testsPath, model string) ([]schemas.TestCase, error) {
	problems, err := producers.LoadProblems(problemsPath)
	if err != nil {
		return nil, err
	}
	tcs, err := producers.LoadCodeTTests(ctx, testsPath, problems, model, testgen.Python{})
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()
	for i := range tcs {
		tcs[i].CreatedAtMs = now
	}
	tp := streams.NewProducer(a.Cluster(), streams.TopicTests, codecs.TestCase, schemas.TestCaseKey)
	defer tp.Close()
	const chunk = 20 // a test set carries its 100 raw generations: keep requests moderate
	for i := 0; i < len(tcs); i += chunk {
		if err := tp.Publish(ctx, tcs[i:min(i+chunk, len(tcs))]...); err != nil {
			return nil, fmt.Errorf("publish tests: %w", err)
		}
	}
	return tcs, nil
}

// executorStage makes sure a candidate's problem is a real miss before the executor sees it, and
// maps the executor's never-succeeding errors to permanent (dead-letter) errors.
type executorStage struct {
	p        *executor.DualProcessor
	problems problemLookup
	metrics  *stageMetrics // nil: none
}

func (s executorStage) Process(ctx context.Context, c schemas.Candidate) ([]executor.Output, error) {
	if err := s.problems.ensure(ctx, c.ProblemID); err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := s.p.Process(ctx, c)
	s.metrics.executed(out, time.Since(start), err)
	if errors.Is(err, executor.ErrUnknownProblem) || errors.Is(err, executor.ErrInvalidProblem) || errors.Is(err, executor.ErrInvalidCandidate) {
		return nil, streams.Permanent(err)
	}
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

// executorOptions are the executor processor's switches beyond the config.
type executorOptions struct {
	// LookupClickHouse answers candidates whose (problem, test suite, code) already has a
	// (non-timeout) verdict in ClickHouse from there instead of executing them again.
	LookupClickHouse bool
	// StatsEvery logs the cache hit rate this often while running (default 1 minute).
	StatsEvery time.Duration
	// metrics, when set, records verdicts, execution time and dead letters.
	metrics *stageMetrics
}

// countingLookup passes lookups to ClickHouse and counts (and logs, sparingly) its errors: the
// executor treats a failed lookup as a miss and executes the candidate.
type countingLookup struct {
	s    *clickhouse.Sink
	log  *slog.Logger
	errs atomic.Int64
}

func (l *countingLookup) LookupVerdict(ctx context.Context, problemID, suiteHash, codeSHA256 string) (string, string, string, bool, error) {
	label, kind, detail, found, err := l.s.LookupVerdict(ctx, problemID, suiteHash, codeSHA256)
	if err != nil && ctx.Err() == nil {
		if n := l.errs.Add(1); n == 1 || n%1000 == 0 {
			l.log.Warn("clickhouse verdict lookup failed; executing instead", "errors", n, "err", err)
		}
	}
	return label, kind, detail, found, err
}

// newExecutorRunner builds the executor processor. The returned close func (never nil when err
// is nil) stops the zygote workers and the lookup connection and logs the cache statistics; call
// it after the runner's Run has returned.
func (a *app) newExecutorRunner(ctx context.Context, codecs *schemas.Codecs, opt executorOptions) (*streams.Runner[schemas.Candidate, executor.Output], func(), error) {
	ex, err := a.NewExecutor("", 0)
	if err != nil {
		return nil, nil, err
	}
	if err := opt.metrics.sandbox(ex); err != nil {
		ex.Close()
		return nil, nil, err
	}
	var lookup *countingLookup
	if opt.LookupClickHouse {
		sink, err := a.OpenClickHouse(ctx)
		if err != nil {
			ex.Close()
			return nil, nil, fmt.Errorf("verdict lookup in ClickHouse: %w", err)
		}
		lookup = &countingLookup{s: sink, log: a.Log}
		ex.SetLookup(lookup)
	}
	logStats := func(msg string) {
		st := ex.CacheStats()
		args := []any{"executed", st.Executed, "memory_hits", st.MemoryHits, "clickhouse_hits", st.StoreHits,
			"hit_rate", fmt.Sprintf("%.3f", st.HitRate()), "clickhouse_lookup", opt.LookupClickHouse, "sandbox_recycles", ex.Recycles()}
		if lookup != nil {
			args = append(args, "lookup_errors", lookup.errs.Load())
		}
		a.Log.Info(msg, args...)
	}
	statsDone := make(chan struct{})
	var statsWG sync.WaitGroup
	statsWG.Add(1)
	go func() {
		defer statsWG.Done()
		every := opt.StatsEvery
		if every <= 0 {
			every = time.Minute
		}
		t := time.NewTicker(every)
		defer t.Stop()
		var last executor.CacheStats
		for {
			select {
			case <-statsDone:
				return
			case <-t.C:
				if st := ex.CacheStats(); st != last {
					last = st
					logStats("executor cache")
				}
			}
		}
	}()
	var closeOnce sync.Once
	closeFn := func() {
		closeOnce.Do(func() {
			close(statsDone)
			statsWG.Wait()
			logStats("executor stopped")
			ex.Close()
			if lookup != nil {
				lookup.s.Close()
			}
		})
	}
	r, err := a.executorRunner(ctx, codecs, ex, opt.metrics)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return r, closeFn, nil
}

func (a *app) executorRunner(ctx context.Context, codecs *schemas.Codecs, ex *executor.Executor, m *stageMetrics) (*streams.Runner[schemas.Candidate, executor.Output], error) {
	problems, err := a.problemsTable(ctx, codecs)
	if err != nil {
		return nil, err
	}
	tests, err := startTable(ctx, a, streams.TopicTests, codecs.TestCase)
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
	a.Log.Info("executor ready", "version", ex.Version(), "backend", ex.Backend(), "problems", problems.t.Len(), "problems_with_generated_tests", tests.Len(),
		"calibrated", calibrated, "isolation", ex.Isolation().String())
	if iso := ex.Isolation(); !strings.HasPrefix(iso.Cgroup, "v1") {
		// Without cgroups only rlimits bound a candidate: a fork bomb or a memory hog is held by
		// RLIMIT_NPROC/RLIMIT_AS per process, not per worker. Running as root (or with a delegated
		// cgroup v1 hierarchy) restores the limits; README "Deploy" says what a non-root run keeps.
		a.Log.Warn("sandbox without cgroup memory and pids limits: only rlimits bound candidates", "cgroup", iso.Cgroup)
	}
	return streams.NewRunner(streams.RunnerConfig[schemas.Candidate, executor.Output]{
		Cluster: a.Cluster(), Group: streams.GroupExecutor, Input: streams.TopicCandidates,
		InCodec: codecs.Candidate, Route: routeExecutorOutput(codecs),
		Validate: func(c schemas.Candidate) error { return c.Validate() },
		Workers:  ex.Workers(), MaxMessageBytes: a.Config.MaxMessageBytes, Log: a.Log,
		// Commits follow fetch order; a deep window keeps workers busy behind a slow (timing-out) candidate.
		MaxInFlight:    64 * ex.Workers(),
		SessionTimeout: a.Config.Group.SessionTimeout, HeartbeatInterval: a.Config.Group.HeartbeatInterval,
		RebalanceTimeout: a.Config.Group.RebalanceTimeout,
		OnDeadLettered:   m.deadLettered(streams.TopicCandidates),
	}, executorStage{p: &executor.DualProcessor{Exec: ex, Problems: problems, Tests: testsLookup{tests}}, problems: problems, metrics: m})
}

func (a *app) reportCmd() *cobra.Command {
	var f clickhouse.ReportFilter
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Pass rates and unbiased pass@k per benchmark/split/model, computed in ClickHouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sink, err := a.OpenClickHouseReadOnly(cmd.Context())
			if err != nil {
				return err
			}
			defer sink.Close()
			rows, err := sink.Report(cmd.Context(), f)
			if err != nil {
				return err
			}
			clickhouse.FormatReport(os.Stdout, rows)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Benchmark, "benchmark", "", "only this benchmark")
	genModelFlag(cmd.Flags(), &f.Model, "", "only this generating model")
	return cmd
}
