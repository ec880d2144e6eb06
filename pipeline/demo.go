package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/codeverify/codeverify/evaluation"
	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
)

// DemoOptions are the demo's input, its executor switches and its optional training stage.
type DemoOptions struct {
	// The problems, samples and generated test cases (default: the CodeGen-16B HumanEval dev100
	// files under DATA_DIR/samples/codet_humaneval_codegen16b).
	Problems, Samples, Tests string
	Sample                   producers.SampleOptions
	Executor                 ExecutorOptions
	// TrainSteps > 0 trains a verifier on the labeled topics for that many steps on TrainDevice
	// (cpu | cuda | auto) with TrainPython (default: Debian's), registers it and prints its Stage 4
	// table.
	TrainSteps               int
	TrainDevice, TrainPython string
}

// demoSamples is the demo's default input: CodeGen-Mono-16B's HumanEval samples and test cases.
const demoSamples = "codet_humaneval_codegen16b"

// resolve fills in the default input files and checks that every one exists.
func (o *DemoOptions) resolve(env *config.Env) error {
	dir, err := env.DataPath("samples", demoSamples)
	if err != nil && (o.Problems == "" || o.Samples == "" || o.Tests == "") {
		return err
	}
	for _, f := range []struct {
		path *string
		name string
	}{
		{&o.Problems, "HumanEval_for_code_generation.jsonl"},
		{&o.Samples, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl"},
		{&o.Tests, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.dev100.jsonl"},
	} {
		if *f.path == "" {
			*f.path = filepath.Join(dir, f.name)
		}
		if _, err := os.Stat(*f.path); err != nil {
			return fmt.Errorf("demo data missing (give --data-dir): %w", err)
		}
	}
	return nil
}

// RunDemo replays the samples through broker → executor → ClickHouse: it starts the embedded
// broker unless brokers are configured, publishes the problems, the generated tests and the
// samples, runs the executor and the sink until every candidate has its verdict in ClickHouse,
// then prints the pass-rate report and the dual execution agreement on w, and with TrainSteps
// trains, registers and evaluates a verifier. Progress bars and the trainer's log go to progress.
func RunDemo(ctx context.Context, env *config.Env, o DemoOptions, w, progress io.Writer) error {
	if err := o.resolve(env); err != nil {
		return err
	}
	start := time.Now()
	if len(env.Config.Brokers) == 0 {
		b, err := streams.StartBroker(filepath.Join(env.Config.VarDir, "kafka"), env.Config.EmbeddedPort, env.Log)
		if err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		defer b.Close()
		env.Log.Info("embedded broker up", "addr", b.Addr())
	}
	if err := streams.EnsureTopics(ctx, env.Cluster(), streams.DefaultCatalog()); err != nil {
		return err
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	sink, err := env.OpenClickHouse(ctx)
	if err != nil {
		return fmt.Errorf("clickhouse (is it running? deploy/clickhouse/start-local.sh): %w", err)
	}
	defer sink.Close()
	return runDemo(ctx, env, codecs, sink, o, start, w, progress)
}

// finish ends a demo that got to its report, also after a failed training stage (err): the report
// page VAR_DIR/report.html beside the eval page.
func finish(ctx context.Context, env *config.Env, sink *clickhouse.Sink, err error, w io.Writer) error {
	path := filepath.Join(env.Config.VarDir, "report.html")
	if werr := WriteReportHTML(ctx, sink, clickhouse.ReportFilter{}, path); werr != nil {
		return errors.Join(err, werr)
	}
	fmt.Fprintf(w, "HTML report (pass@k per model, per-problem pass rates, failure kinds, pass rate over time, the newest verifier): %s\n", path)
	return err
}

func runDemo(ctx context.Context, env *config.Env, codecs *schemas.Codecs, sink *clickhouse.Sink, o DemoOptions, start time.Time, w, progress io.Writer) error {
	// The generated tests go first: the executor runs each candidate against the tests its problem
	// has when the candidate arrives.
	tcs, err := PublishTests(ctx, env, codecs, o.Problems, o.Tests, o.Sample.Model)
	if err != nil {
		return err
	}
	withTests := map[string]bool{}
	for _, tc := range tcs {
		withTests[tc.ProblemID] = len(tc.Asserts) > 0
	}
	np, cands, err := Publish(ctx, env, codecs, o.Problems, o.Samples, o.Sample)
	if err != nil {
		return err
	}
	wantBehaviors := 0
	for _, c := range cands {
		if withTests[c.ProblemID] {
			wantBehaviors++
		}
	}
	fmt.Fprintf(w, "published %d problems, %d generated test sets (%d distinct asserts) and %d candidates (%s)\n", np, len(tcs), countAsserts(tcs), len(cands), o.Sample.Model)
	if err := labelAll(ctx, env, codecs, sink, o.Executor, cands, wantBehaviors, start, w); err != nil {
		return err
	}
	dead, err := streams.ReadDeadLetters(ctx, env.Cluster(), streams.DLQTopic(streams.TopicCandidates))
	switch {
	case err != nil: // only a count for the reader: the report below still stands
		fmt.Fprintf(w, "dead-lettered candidates: not read (%v)\n", err)
	case len(dead) > 0:
		fmt.Fprintf(w, "dead-lettered candidates (all time): %d\n", len(dead))
	}
	rows, err := sink.Report(ctx, clickhouse.ReportFilter{Model: o.Sample.Model})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d candidates executed and stored in %s\n\n", len(cands), time.Since(start).Round(time.Second))
	clickhouse.FormatReport(w, rows)
	agree, err := sink.Agreement(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDual execution agreement (docs/sql/codet_top_cluster.sql): how often the top CodeT cluster of a request holds a PASS")
	clickhouse.FormatAgreement(w, agree)
	if o.TrainSteps <= 0 {
		return finish(ctx, env, sink, nil, w)
	}
	dir, err := demoTrain(ctx, env, o, w, progress)
	if err != nil {
		return finish(ctx, env, sink, err, w)
	}
	return finish(ctx, env, sink, demoEvaluate(ctx, env, dir, o, w, progress), w)
}

// labelAll runs the executor and both sinks until every candidate has its verdict in ClickHouse
// and (within a minute more) the behaviours expected are there too, then stops them gracefully.
func labelAll(ctx context.Context, env *config.Env, codecs *schemas.Codecs, sink *clickhouse.Sink, exOpt ExecutorOptions,
	cands []schemas.Candidate, wantBehaviors int, start time.Time, w io.Writer) error {
	waiting := make(map[string]bool, len(cands))
	for _, c := range cands {
		waiting[c.CandidateID] = true
	}
	allIn := make(chan struct{})
	var mu sync.Mutex
	onWritten := func(batch []schemas.Verdict) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range batch {
			delete(waiting, v.CandidateID)
		}
		fmt.Fprintf(w, "verdicts in ClickHouse: %d/%d (%.0f candidates/s)\n", len(cands)-len(waiting), len(cands), float64(len(cands)-len(waiting))/time.Since(start).Seconds())
		if len(waiting) == 0 {
			select {
			case <-allIn:
			default:
				close(allIn)
			}
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runner, closeExecutor, err := NewExecutorRunner(runCtx, env, codecs, exOpt)
	if err != nil {
		return err
	}
	errc := make(chan error, 3)
	runDone := make(chan struct{})
	// The zygotes stop once the runner has returned (it may still be draining when we return early).
	defer func() { stop(); <-runDone; closeExecutor() }()
	go func() { errc <- runner.Run(runCtx); close(runDone) }()
	go func() { errc <- RunVerdictSink(runCtx, env, codecs, sink, onWritten) }()
	go func() { errc <- RunBehaviorSink(runCtx, env, codecs, sink) }()
	select {
	case <-allIn:
	case err := <-errc:
		return fmt.Errorf("pipeline stopped early: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Behaviours are written with their verdicts; their sink may trail the verdicts' a little.
	if err := waitBehaviors(ctx, sink, wantBehaviors, time.Minute, w); err != nil {
		return err
	}
	stop() // graceful: all drain and commit
	for range 3 {
		if err := <-errc; err != nil && ctx.Err() == nil && runCtx.Err() == nil {
			return err
		}
	}
	return nil
}

// waitBehaviors polls until want behaviours are stored or wait has passed, then says how many are
// on w; it returns the context's error when ctx ends first.
func waitBehaviors(ctx context.Context, sink *clickhouse.Sink, want int, wait time.Duration, w io.Writer) error {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		_, n, err := sink.BehaviorCount(ctx)
		if err == nil && n >= uint64(want) || time.Now().After(deadline) {
			fmt.Fprintf(w, "behaviours on generated tests in ClickHouse: %d/%d\n", n, want)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// demoEvalN is how many candidates per problem the demo's Stage 4 table draws.
const demoEvalN = 16

// demoTrain replays the labeled topics of the demo's model, trains a small verifier (a CPU-sized
// architecture; `codeverify train` has every knob), registers it under VAR_DIR/models and returns
// the version's directory.
func demoTrain(ctx context.Context, env *config.Env, o DemoOptions, w, progress io.Writer) (string, error) {
	cfg := trainer.RecipeTrainConfig()
	cfg.MaxSteps, cfg.Device = o.TrainSteps, o.TrainDevice
	if o.TrainPython != "" {
		cfg.Python = o.TrainPython
	}
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	if _, err := trainer.CheckPython(ctx, cfg.Python); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "\ntraining the verifier on the labeled topics (behaviour features, %d steps, %s)\n", o.TrainSteps, o.TrainDevice)
	d := trainer.DatasetSpec{Models: []string{o.Sample.Model}, K: 4, Folds: 5, Seed: 1, DrawSize: demoEvalN, Draws: 20}
	ds, rep, err := evaluation.LoadDataset(ctx, env, env.Cluster(), d, progress, w)
	if err != nil {
		return "", err
	}
	wd := filepath.Join(env.Config.VarDir, "train", ds.Hash[:12])
	if err := trainer.WriteTrainingFiles(filepath.Join(wd, "data"), ds, cfg.Tokenizer); err != nil {
		return "", err
	}
	cfg.OnEvent, cfg.Log = trainer.EventPrinter(w), progress
	return trainer.TrainAndRegister(ctx, ds, rep, cfg, trainer.RegisterOptions{ValFold: 0, WorkDir: wd,
		ModelsDir: filepath.Join(env.Config.VarDir, "models"), Record: evaluation.RecordTrainingRuns(env), Announce: env.Cluster(), Out: w})
}

// demoEvaluate prints the Stage 4 table for the model just registered: the eval command's code path
// (the sandbox runs the drawn samples again against their hidden and generated tests, ONNX Runtime
// scores them, every selection method picks from the same draw) on the problems of the model's
// validation fold only, 16 candidates per problem. Without ONNX Runtime it says so and skips.
func demoEvaluate(ctx context.Context, env *config.Env, modelDir string, o DemoOptions, w, progress io.Writer) error {
	if _, err := serving.ResolveLibrary("", os.Getenv); err != nil {
		fmt.Fprintf(w, "\nStage 4 table skipped: ONNX Runtime is not available (%v)\n", err)
		return nil
	}
	report := filepath.Join(env.Config.VarDir, "eval-report.html")
	fmt.Fprintf(w, "\nStage 4 on the held-out problems (eval --tests --holdout --n %d --seed 1 --clickhouse --html %s):\n", demoEvalN, report)
	err := evaluation.Run(ctx, env, evaluation.Options{Model: modelDir, Runtime: serving.Runtime{Provider: serving.ProviderAuto, Threads: 2},
		Problems: o.Problems, Samples: o.Samples, Tests: o.Tests, N: demoEvalN, Seed: 1, Resamples: 2000, Backend: "zygote", Holdout: true,
		ClickHouse: true, HTML: report, Progress: progress}, w)
	if err == nil {
		fmt.Fprintf(w, "HTML report (every method; energy distributions, per-problem pass rate vs the verifier's pick): %s\n", report)
	}
	if errors.Is(err, serving.ErrNoLibrary) {
		fmt.Fprintf(w, "Stage 4 table skipped: ONNX Runtime could not be loaded (%v)\n", err)
		return nil
	}
	return err
}
