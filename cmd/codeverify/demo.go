package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
	"github.com/spf13/cobra"
)

func (a *app) demoCmd() *cobra.Command {
	var problemsPath, samplesPath, model string
	var temperature, topP float64
	var exOpt executorOptions
	tr := demoTraining{steps: 0, device: "cpu"}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Replay the real CodeGen-16B HumanEval samples through broker → executor → ClickHouse and print the report",
		Long: `Starts the embedded broker (data under VAR_DIR/kafka) unless --brokers is given, publishes the
HumanEval problems and the 10,000 CodeGen-Mono-16B samples, runs the executor processor and the
ClickHouse sink until every published candidate has its verdict in ClickHouse, then prints the
report. With --train-steps N it then trains a small verifier on the labeled topics, registers it and
prints its Stage 4 table on the held-out problems (eval --holdout --n 16 --lookup-clickhouse
--clickhouse --html VAR_DIR/eval-report.html: baseline_pass@1, oracle_pass@16, verifier_pass@1 with
95% intervals, computed in ClickHouse; skipped with a message without ONNX Runtime).
ClickHouse must be up (make demo starts it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := filepath.Join(a.cfg.DataDir, "samples", "codet_humaneval_codegen16b")
			if problemsPath == "" {
				problemsPath = filepath.Join(dir, "HumanEval_for_code_generation.jsonl")
			}
			if samplesPath == "" {
				samplesPath = filepath.Join(dir, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl")
			}
			for _, p := range []string{problemsPath, samplesPath} {
				if _, err := os.Stat(p); err != nil {
					return fmt.Errorf("demo data missing (give --data-dir): %w", err)
				}
			}
			return a.runDemo(cmd.Context(), problemsPath, samplesPath, producers.SampleOptions{Model: model, Temperature: temperature, TopP: topP}, exOpt, tr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&problemsPath, "problems", "", "problems file (default: DATA_DIR/samples/codet_humaneval_codegen16b/HumanEval_for_code_generation.jsonl)")
	f.StringVar(&samplesPath, "samples", "", "samples file (default: the CodeGen-16B dev100 samples)")
	f.StringVar(&model, "model", "codegen-mono-16b", "model that generated the samples")
	f.Float64Var(&temperature, "temperature", 0.8, "sampling temperature of the samples")
	f.Float64Var(&topP, "top-p", 0.95, "top_p of the samples")
	f.IntVar(&tr.steps, "train-steps", tr.steps, "after labelling, train a verifier on the labeled topics for this many steps and register it (0: skip)")
	f.StringVar(&tr.device, "train-device", tr.device, "device for --train-steps: cpu | cuda | auto")
	f.StringVar(&tr.python, "train-python", "", "python with torch and onnx for --train-steps (default: Debian's)")
	f.BoolVar(&exOpt.LookupClickHouse, "lookup-clickhouse", false, "answer candidates already labelled in ClickHouse from there (hit rate in the log)")
	return cmd
}

func (a *app) runDemo(ctx context.Context, problemsPath, samplesPath string, opt producers.SampleOptions, exOpt executorOptions, tr demoTraining) error {
	start := time.Now()
	if len(a.cfg.Brokers) == 0 {
		b, err := streams.StartBroker(filepath.Join(a.cfg.VarDir, "kafka"), a.cfg.EmbeddedPort, a.log)
		if err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		defer b.Close()
		a.log.Info("embedded broker up", "addr", b.Addr())
	}
	if err := streams.EnsureTopics(ctx, a.brokers(), streams.DefaultCatalog()); err != nil {
		return err
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	sink, err := a.openClickHouse(ctx)
	if err != nil {
		return fmt.Errorf("clickhouse (is it running? deploy/clickhouse/start-local.sh): %w", err)
	}
	defer sink.Close()

	np, cands, err := a.publish(ctx, codecs, problemsPath, samplesPath, opt)
	if err != nil {
		return err
	}
	fmt.Printf("published %d problems and %d candidates (%s)\n", np, len(cands), opt.Model)

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
		fmt.Printf("verdicts in ClickHouse: %d/%d (%.0f candidates/s)\n", len(cands)-len(waiting), len(cands), float64(len(cands)-len(waiting))/time.Since(start).Seconds())
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
	runner, closeExecutor, err := a.newExecutorRunner(runCtx, codecs, exOpt)
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	runDone := make(chan struct{})
	// The zygotes stop once the runner has returned (it may still be draining when we return early).
	defer func() { stop(); <-runDone; closeExecutor() }()
	go func() { errc <- runner.Run(runCtx); close(runDone) }()
	go func() { errc <- a.runSink(runCtx, codecs, sink, onWritten) }()
	select {
	case <-allIn:
	case err := <-errc:
		return fmt.Errorf("pipeline stopped early: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	stop() // graceful: both drain and commit
	for range 2 {
		if err := <-errc; err != nil && ctx.Err() == nil && runCtx.Err() == nil {
			return err
		}
	}
	dead, err := streams.ReadDeadLetters(ctx, a.brokers(), "candidates.dlq")
	if err == nil && len(dead) > 0 {
		fmt.Printf("dead-lettered candidates (all time): %d\n", len(dead))
	}
	rows, err := sink.Report(ctx, clickhouse.ReportFilter{Model: opt.Model})
	if err != nil {
		return err
	}
	fmt.Printf("\n%d candidates executed and stored in %s\n\n", len(cands), time.Since(start).Round(time.Second))
	clickhouse.FormatReport(os.Stdout, rows)
	if tr.steps > 0 {
		dir, err := a.demoTrain(ctx, opt.Model, tr)
		if err != nil {
			return err
		}
		return a.demoEvaluate(ctx, dir, problemsPath, samplesPath, os.Stdout)
	}
	return nil
}

// demoTraining is the demo's optional last stage: a small verifier trained on what was just labelled.
type demoTraining struct {
	steps          int
	device, python string
}

// demoTrain replays the labeled topics of the demo's model, trains a small verifier (a CPU-sized
// architecture; `codeverify train` has every knob), registers it under VAR_DIR/models and returns
// the version's directory.
func (a *app) demoTrain(ctx context.Context, model string, tr demoTraining) (string, error) {
	cfg := trainer.DefaultTrainConfig()
	cfg.Tokenizer.MaxLen = 256
	cfg.Arch = trainer.Architecture{DModel: 64, Layers: 1, Heads: 4, FF: 128, Dropout: 0.1}
	cfg.MaxSteps, cfg.Device = tr.steps, tr.device
	if tr.python != "" {
		cfg.Python = tr.python
	}
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	if _, err := trainer.CheckPython(ctx, cfg.Python); err != nil {
		return "", err
	}
	fmt.Printf("\ntraining a verifier on the labeled topics (%d steps, %s)\n", tr.steps, tr.device)
	d := datasetFlags{models: []string{model}, k: 4, folds: 5, seed: 1}
	ds, rep, err := a.loadDataset(ctx, a.brokers(), &d, os.Stdout)
	if err != nil {
		return "", err
	}
	wd := filepath.Join(a.cfg.VarDir, "train", ds.Hash[:12])
	if err := trainer.WriteTrainingFiles(filepath.Join(wd, "data"), ds, cfg.Tokenizer); err != nil {
		return "", err
	}
	cfg.OnEvent = printTrainEvent(os.Stdout)
	cfg.Log = os.Stderr
	return a.trainAndRegister(ctx, a.brokers(), ds, rep, cfg, 0, wd, filepath.Join(a.cfg.VarDir, "models"), false, false)
}

// demoEvalN is how many candidates per problem the demo's Stage 4 table draws.
const demoEvalN = 16

// demoEvaluate prints the Stage 4 table for the model just registered: the eval command's code path
// (the sandbox labels the drawn samples again, ONNX Runtime scores them) on the problems of the
// model's validation fold only, 16 candidates per problem. Without ONNX Runtime it says so and skips.
func (a *app) demoEvaluate(ctx context.Context, modelDir, problemsPath, samplesPath string, w io.Writer) error {
	if _, err := serving.ResolveLibrary("", os.Getenv); err != nil {
		fmt.Fprintf(w, "\nStage 4 table skipped: ONNX Runtime is not available (%v)\n", err)
		return nil
	}
	report := filepath.Join(a.cfg.VarDir, "eval-report.html")
	fmt.Fprintf(w, "\nStage 4 on the held-out problems (eval --holdout --n %d --seed 1 --lookup-clickhouse --clickhouse --html %s):\n", demoEvalN, report)
	o := evalOptions{problems: problemsPath, samples: samplesPath, n: demoEvalN, seed: 1, resamples: 2000, backend: "zygote", holdout: true,
		lookupClickHouse: true, clickhouse: true, html: report,
		scorer: scorerFlags{model: modelDir, provider: serving.ProviderAuto, threads: 2}}
	err := a.eval(ctx, o, w)
	if err == nil {
		fmt.Fprintf(w, "HTML report (energy distributions, per-problem pass rate vs the verifier's pick): %s\n", report)
	}
	if errors.Is(err, serving.ErrNoLibrary) {
		fmt.Fprintf(w, "Stage 4 table skipped: ONNX Runtime could not be loaded (%v)\n", err)
		return nil
	}
	return err
}
