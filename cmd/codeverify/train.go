package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
	"github.com/spf13/cobra"
)

// datasetFlags choose and replay the labeled data (train and export share them).
type datasetFlags struct {
	splits, benchmarks, models []string
	since, offsets, labels     string
	k, folds                   int
	drawSize, draws            int
	seed                       uint64
}

func (d *datasetFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&d.splits, "split", nil, "keep only these splits (default: all)")
	f.StringSliceVar(&d.benchmarks, "benchmark", nil, "keep only these benchmarks (default: all)")
	f.StringSliceVar(&d.models, "gen-model", nil, "keep only candidates of these generating models (default: all)")
	f.StringVar(&d.since, "since", "", "replay verdicts from this RFC 3339 time on (default: the beginning)")
	f.StringVar(&d.offsets, "offsets", "", "explicit start offsets: topic:partition=offset,… (e.g. verdicts:0=1200)")
	f.StringVar(&d.labels, "labels", "topic", "where the labels come from: topic (replay verdicts) | clickhouse (verdicts FINAL, e.g. after the topic's retention; --since cuts by execution time)")
	f.IntVar(&d.k, "k", 4, "FAILs sampled per PASS of the same problem")
	f.IntVar(&d.folds, "folds", 5, "problems are dealt into this many folds; validation is one of them")
	f.IntVar(&d.drawSize, "draw-size", 16, "train on what is served: a request of more candidates becomes --draws random draws of this many (features and pairs per draw; every PASS×FAIL pair, --k unused)")
	f.IntVar(&d.draws, "draws", 20, "draws per request of more than --draw-size candidates (0: each request whole, deduplicated, k FAILs per PASS)")
	f.Uint64Var(&d.seed, "seed", 1, "seed of pairs, folds and training")
	limits(f, map[string][2]string{
		"k": {"1", "1000"}, "folds": {"2", "100"}, "draw-size": {"2", "10000"}, "draws": {"0", "10000"}, "seed": {"0", "18446744073709551615"},
	})
}

func (d *datasetFlags) replayOptions(progress io.Writer) (trainer.ReplayOptions, error) {
	opt := trainer.ReplayOptions{Progress: progress}
	if d.since != "" {
		t, err := time.Parse(time.RFC3339, d.since)
		if err != nil {
			return opt, fmt.Errorf("--since: %w", err)
		}
		opt.Since = t
	}
	offs, err := trainer.ParseOffsets(d.offsets)
	if err != nil {
		return opt, err
	}
	opt.Offsets = offs
	return opt, nil
}

func (d *datasetFlags) buildOptions() trainer.BuildOptions {
	o := trainer.BuildOptions{Splits: d.splits, Benchmarks: d.benchmarks, Models: d.models, K: d.k, Seed: d.seed, Folds: d.folds}
	if d.draws > 0 {
		o.DrawSize, o.Draws = d.drawSize, d.draws
	}
	return o
}

// withBrokers runs fn against the configured brokers, or against the embedded broker on VAR_DIR/kafka:
// one already listening on the embedded port (codeverify broker) is used, else one is started here.
func (a *app) withBrokers(ctx context.Context, fn func(kafka streams.Cluster) error) error {
	if len(a.Config.Brokers) == 0 {
		addr := a.Brokers()[0]
		if c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond); err == nil {
			c.Close()
		} else {
			b, err := streams.StartBroker(filepath.Join(a.Config.VarDir, "kafka"), a.Config.EmbeddedPort, a.Log)
			if err != nil {
				return fmt.Errorf("embedded broker: %w", err)
			}
			defer b.Close()
		}
	} else if err := a.BrokersReachable(ctx); err != nil {
		return err
	}
	return fn(a.Cluster())
}

// loadDataset replays the labeled topics and builds the dataset, reporting what it did on w.
func (a *app) loadDataset(ctx context.Context, kafka streams.Cluster, d *datasetFlags, w io.Writer) (*trainer.Dataset, *trainer.Replayed, error) {
	ropt, err := d.replayOptions(os.Stderr)
	if err != nil {
		return nil, nil, err
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return nil, nil, err
	}
	switch d.labels {
	case "topic", "":
	case "clickhouse":
		if _, ok := ropt.Offsets[streams.TopicVerdicts]; ok {
			return nil, nil, fmt.Errorf("--labels clickhouse reads no verdicts topic: drop the verdicts offsets")
		}
		ropt.NoVerdicts = true
	default:
		return nil, nil, fmt.Errorf("--labels %q: want topic or clickhouse", d.labels)
	}
	rep, err := trainer.ReplayLabeled(ctx, kafka, codecs, ropt)
	if err != nil {
		return nil, nil, err
	}
	if ropt.NoVerdicts {
		sink, err := a.OpenClickHouseReadOnly(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("--labels clickhouse: %w", err)
		}
		defer sink.Close()
		if rep.Verdicts, err = sink.ReadVerdicts(ctx, ropt.Since); err != nil {
			return nil, nil, fmt.Errorf("--labels clickhouse: %w", err)
		}
		rep.LabelsFrom = fmt.Sprintf("clickhouse %s.verdicts FINAL (%d rows)", sink.Database(), len(rep.Verdicts))
		fmt.Fprintf(w, "labels: %s\n", rep.LabelsFrom)
	}
	return buildDataset(rep, d, w)
}

// buildDataset joins what was replayed (or read from an export) into the dataset, reporting on w.
func buildDataset(rep *trainer.Replayed, d *datasetFlags, w io.Writer) (*trainer.Dataset, *trainer.Replayed, error) {
	ds, err := trainer.BuildWithBehaviors(rep.Problems, rep.Candidates, rep.Verdicts, rep.Behaviors, d.buildOptions())
	if err != nil {
		return nil, nil, err
	}
	s := ds.Stats
	fmt.Fprintf(w, "replayed %d problems, %d candidates, %d verdicts, %d behaviours (undecodable: %v)\n", len(rep.Problems), len(rep.Candidates), len(rep.Verdicts), len(rep.Behaviors), rep.Undecodable)
	if ds.Options.Drawn() {
		fmt.Fprintf(w, "dataset %s: %d problems, %d requests (%d drawn from: %d draws of %d candidates; %d whole) = %d draws, %d examples (%d PASS, %d FAIL), %d PASS×FAIL pairs within draws\n",
			ds.Hash[:12], s.Problems, s.Requests, s.RequestsDrawn, s.Draws, s.DrawSize, s.RequestsWhole, s.Groups, s.Examples, s.Pass, s.Fail, s.Pairs)
	} else {
		fmt.Fprintf(w, "dataset %s: %d problems, %d requests, %d examples (%d PASS, %d FAIL), %d pairs within requests (k=%d)\n", ds.Hash[:12], s.Problems, s.Requests, s.Examples, s.Pass, s.Fail, s.Pairs, d.k)
	}
	fmt.Fprintf(w, "  behaviour features (%d): %d examples with a behaviour, %d without (features of \"no tests\"), %d behaviours without a candidate; %d requests without a PASS×FAIL pair\n",
		len(ds.Features.Names), s.ExamplesWithBehavior, s.ExamplesWithoutBehavior, s.BehaviorsWithoutCandidate, s.RequestsWithoutPairs)
	if s.ExamplesWithBehavior == 0 {
		fmt.Fprintf(w, "  warning: no candidate has a behaviour (nothing on the %s topic?): the features carry no signal\n", streams.TopicBehaviors)
	}
	fmt.Fprintf(w, "  problems without PASS %d, without FAIL %d; duplicates dropped %d, filtered out %d, candidates without verdict %d, verdicts without candidate %d, candidates without problem %d\n",
		s.ProblemsWithoutPass, s.ProblemsWithoutFail, s.DuplicatesDropped, s.FilteredOut, s.CandidatesWithoutVerdict, s.VerdictsWithoutCandidate, s.CandidatesWithoutProblem)
	return ds, rep, nil
}

// readExport reads a `codeverify export` file back as problems, candidates and verdicts, so a host
// without the topics (a GPU machine) can train on exactly that data. --since/--offsets do not apply.
func readExport(path string) (*trainer.Replayed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &trainer.Replayed{Undecodable: map[string]int{}}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var r exportRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if r.ProblemID == "" || r.CandidateID == "" || (r.Label != schemas.Pass && r.Label != schemas.Fail) {
			return nil, fmt.Errorf("%s:%d: not an export record (problem %q, candidate %q, label %q)", path, n, r.ProblemID, r.CandidateID, r.Label)
		}
		if !seen[r.ProblemID] {
			seen[r.ProblemID] = true
			rep.Problems = append(rep.Problems, schemas.Problem{ProblemID: r.ProblemID, Benchmark: r.Benchmark, Split: r.Split, Prompt: r.Prompt})
		}
		// The de-duplicated copies come back under derived ids that sort after the original, so the
		// dataset keeps the original and counts the copies, as it does from the topics.
		for c := range max(r.Copies, 1) {
			id := r.CandidateID
			if c > 0 {
				id = fmt.Sprintf("%s#copy-%d", r.CandidateID, c)
			}
			rep.Candidates = append(rep.Candidates, schemas.Candidate{CandidateID: id, RequestID: r.ProblemID, ProblemID: r.ProblemID,
				Benchmark: r.Benchmark, Split: r.Split, SampleIndex: r.SampleIndex, Code: r.Code, Model: r.Model})
			rep.Verdicts = append(rep.Verdicts, schemas.Verdict{CandidateID: id, RequestID: r.ProblemID, ProblemID: r.ProblemID,
				Benchmark: r.Benchmark, Split: r.Split, Model: r.Model, SampleIndex: r.SampleIndex, Label: r.Label, FailureKind: r.FailureKind})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

func (a *app) trainCmd() *cobra.Command {
	var d datasetFlags
	cfg := trainer.DefaultTrainConfig()
	var modelsDir, workDir, fromExport string
	var cv, valFold int
	var noClickHouse, noAnnounce bool
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Replay the labeled topics, train the energy verifier (PyTorch), export ONNX, register it",
		Long: `Replays problems, candidates and verdicts with its own readers (no consumer group), joins them,
keeps the chosen splits, drops duplicate (problem, code), pairs each PASS with k FAILs of its problem,
trains train.py (torch + onnx, run by --train-python) with validation on one fold of problems, exports
ONNX (opset 17), checks parity with torch (|Δ| ≤ 1e-4), computes validation metrics, registers the
version under --models-dir, writes the metrics to ClickHouse and announces it on the models topic.
--val-fold K chooses which of the --folds seeded problem folds is held out for validation (default 0);
the manifest records it and eval --holdout evaluates on exactly that fold, so training K = 0…folds-1
gives a 5-fold evaluation by problem. --cv N instead trains N models, one per fold held out, and
reports the metrics over folds (nothing is registered). --from-export FILE trains on a codeverify
export file instead of the topics (no broker; nothing is announced). Behaviours (topic "` + streams.TopicBehaviors + `", by
candidate id) give each candidate its behaviour features, computed per request over its candidates
exactly as the reranker computes them. Trained on what is served: a request of more than --draw-size
candidates (16) becomes --draws (20) random draws of --draw-size (a seed per request and draw), the
features are computed per draw and the pairs are every PASS×FAIL pair within a draw (--draws 0: each
request whole, deduplicated, --k FAILs per PASS). --objective request with --feature-hidden 0 --no-text
is the production recipe (make verifier): a linear energy on the standardised features, margin ranking
averaged per draw, Adam, --max-steps full-batch steps. After registering, the last line printed is the
version's directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cv > 0 {
				d.folds = cv
			}
			if err := checkValFold(valFold, d.folds, cv, cmd.Flags().Changed("val-fold")); err != nil {
				return err
			}
			if err := d.buildOptions().Validate(); err != nil {
				return err
			}
			cfg.Seed = int64(d.seed)
			if err := cfg.Validate(); err != nil {
				return err
			}
			if _, err := trainer.CheckPython(ctx, cfg.Python); err != nil {
				return err
			}
			if modelsDir == "" {
				modelsDir = filepath.Join(a.Config.VarDir, "models")
			}
			run := func(kafka streams.Cluster, ds *trainer.Dataset, rep *trainer.Replayed) error {
				wd := workDir
				if wd == "" {
					wd = filepath.Join(a.Config.VarDir, "train", ds.Hash[:12])
				}
				if err := trainer.WriteTrainingFiles(filepath.Join(wd, "data"), ds, cfg.Tokenizer); err != nil {
					return err
				}
				cfg.OnEvent = printTrainEvent(os.Stdout)
				cfg.Log = os.Stderr
				if cv > 0 {
					return a.crossValidate(ctx, ds, cfg, wd, noClickHouse)
				}
				_, err := a.trainAndRegister(ctx, kafka, ds, rep, cfg, valFold, wd, modelsDir, noClickHouse, noAnnounce || len(kafka.Brokers) == 0)
				return err
			}
			if fromExport != "" {
				if d.since != "" || d.offsets != "" {
					return fmt.Errorf("train: --since and --offsets select topic records; --from-export reads a file")
				}
				rep, err := readExport(fromExport)
				if err != nil {
					return err
				}
				ds, rep, err := buildDataset(rep, &d, os.Stdout)
				if err != nil {
					return err
				}
				return run(streams.Cluster{}, ds, rep) // no brokers: nothing to announce to
			}
			return a.WithBrokers(ctx, func(kafka streams.Cluster) error {
				ds, rep, err := a.loadDataset(ctx, kafka, &d, os.Stdout)
				if err != nil {
					return err
				}
				return run(kafka, ds, rep)
			})
		},
	}
	d.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&modelsDir, "models-dir", "", "model registry (default VAR_DIR/models)")
	f.StringVar(&fromExport, "from-export", "", "train on a `codeverify export` JSONL file instead of replaying the topics (no broker; the version is not announced)")
	f.StringVar(&workDir, "work-dir", "", "dataset files and training outputs (default VAR_DIR/train/<dataset hash>)")
	f.StringVar(&cfg.Python, "train-python", cfg.Python, "python with torch and onnx (a GPU host: its torch venv's python)")
	f.IntVar(&cfg.Tokenizer.MaxLen, "max-len", cfg.Tokenizer.MaxLen, "max tokens (bytes) per [CLS] prompt [SEP] code")
	f.IntVar(&cfg.Arch.DModel, "d-model", cfg.Arch.DModel, "encoder width")
	f.IntVar(&cfg.Arch.Layers, "layers", cfg.Arch.Layers, "encoder layers")
	f.IntVar(&cfg.Arch.Heads, "heads", cfg.Arch.Heads, "attention heads")
	f.IntVar(&cfg.Arch.FF, "ff", cfg.Arch.FF, "feed-forward width")
	f.Float64Var(&cfg.Arch.Dropout, "dropout", cfg.Arch.Dropout, "dropout")
	f.IntVar(&cfg.Arch.FeatureHidden, "feature-hidden", cfg.Arch.FeatureHidden, "hidden width of the behaviour-feature MLP (2 layers); 0: a linear head b + w·x on the standardised features")
	f.Float64Var(&cfg.Arch.TextWeight, "text-weight", cfg.Arch.TextWeight, "scale of the token branch's energy")
	f.BoolVar(&cfg.Arch.NoText, "no-text", false, "no token branch: a features-only model (graph input: features)")
	f.Float64Var(&cfg.Arch.TextDropout, "text-dropout", cfg.Arch.TextDropout, "training only: probability of dropping a row's token term, so the behaviour features must rank on their own")
	f.BoolVar(&cfg.NoFeatures, "no-features", false, "train a code-only model (token inputs only), as before behaviour features")
	f.StringVar(&cfg.Objective, "objective", cfg.Objective, "pairs: minibatches of pairs + pointwise loss, AdamW, epochs with early stopping | request: the research's margin ranking averaged per request (draw) then over requests, --l2 on the feature weights, Adam, --max-steps steps over --batch-size requests (0: full batch)")
	f.Float64Var(&cfg.L2, "l2", cfg.L2, "request objective: L2 penalty on the feature head's weights (not its bias)")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs (over the training pairs; pairs objective)")
	f.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "pairs per step (pairs objective) or requests per step (request objective; 0: all, full batch)")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "AdamW learning rate (Adam for the feature head with the request objective)")
	f.Float64Var(&cfg.Margin, "margin", cfg.Margin, "ranking margin: E(pass) + margin ≤ E(fail)")
	f.Float64Var(&cfg.PointwiseWeight, "pointwise-weight", cfg.PointwiseWeight, "weight of the pointwise loss (PASS → 0, FAIL → 1)")
	f.IntVar(&cfg.Patience, "patience", cfg.Patience, "early stopping: epochs without a better validation loss (pairs objective)")
	f.IntVar(&cfg.MaxSteps, "max-steps", 0, "stop after this many optimizer steps (0: no limit; the request objective trains exactly this many)")
	f.StringVar(&cfg.Device, "device", cfg.Device, "auto | cpu | cuda")
	f.StringVar(&cfg.AMP, "amp", cfg.AMP, "mixed precision: auto (on with CUDA) | on | off")
	f.IntVar(&cfg.Threads, "threads", 0, "torch CPU threads (0: torch's default)")
	f.IntVar(&valFold, "val-fold", 0, "validation fold: which of the --folds seeded problem folds is held out (0 … folds-1; recorded in the manifest, used by eval --holdout)")
	f.IntVar(&cv, "cv", 0, "cross-validate over this many folds of problems instead of registering a model")
	limits(f, map[string][2]string{
		"max-len": {"8", "65536"}, "d-model": {"1", "16384"}, "layers": {"1", "128"}, "heads": {"1", "256"}, "ff": {"1", "262144"},
		"dropout": {"0", "0.99"}, "feature-hidden": {"0", "65536"}, "text-weight": {"0", "1000"}, "text-dropout": {"0", "1"},
		"l2": {"0", "1000"}, "epochs": {"1", "100000"}, "batch-size": {"0", "1000000"}, "lr": {"1e-9", "10"}, "margin": {"0", "100"},
		"pointwise-weight": {"0", "1000"}, "patience": {"0", "100000"}, "max-steps": {"0", "1000000000"}, "threads": {"0", "1024"},
		"val-fold": {"0", "99"}, "cv": {"0", "100"},
	})
	f.BoolVar(&noClickHouse, "no-clickhouse", false, "do not write the metrics to ClickHouse")
	f.BoolVar(&noAnnounce, "no-announce", false, "do not publish the new version on the models topic")
	return cmd
}

func printTrainEvent(w io.Writer) func(trainer.Event) {
	return func(e trainer.Event) {
		f := e.Fields
		switch e.Name {
		case "start":
			fmt.Fprintf(w, "train.py: torch %v on %v (amp %v), %v parameters, %v train pairs, %v validation pairs\n", f["torch"], f["device"], f["amp"], f["params"], f["train_pairs"], f["val_pairs"])
		case "epoch":
			fmt.Fprintf(w, "  epoch %v: train loss %v, val loss %v, val pairwise acc %v (%vs)\n", f["epoch"], f["train_loss"], f["val_loss"], f["val_pair_accuracy"], f["epoch_seconds"])
		case "step":
			fmt.Fprintf(w, "    step %v: loss %v (%vs)\n", f["step"], f["loss"], f["seconds"])
		case "early_stop":
			fmt.Fprintf(w, "  early stop at epoch %v (best %v)\n", f["epoch"], f["best_epoch"])
		case "parity":
			fmt.Fprintf(w, "  onnx parity: max |Δ| %v (tolerance %v, %v)\n", f["max_abs_diff"], f["tolerance"], f["runtime"])
		case "linear":
			fmt.Fprintf(w, "  linear energy on standardised features: w %v, b %v (train mean %v, std %v)\n", f["weights"], f["bias"], f["mean"], f["std"])
		case "done":
			fmt.Fprintf(w, "  trained in %vs (best epoch %v)\n", f["train_seconds"], f["best_epoch"])
		}
	}
}

// checkValFold rejects a validation fold outside the deal (before any replay or training) and
// --val-fold together with --cv (which holds out every fold in turn).
func checkValFold(valFold, folds, cv int, set bool) error {
	if cv > 0 && set {
		return fmt.Errorf("train: --val-fold and --cv exclude each other (--cv validates on every fold in turn)")
	}
	if valFold < 0 || (folds >= 2 && valFold >= folds) {
		return fmt.Errorf("train: --val-fold %d: want 0 … %d (one of the --folds %d problem folds)", valFold, folds-1, folds)
	}
	return nil
}

// trainAndRegister trains with validation fold valFold, registers the version and returns its directory.
func (a *app) trainAndRegister(ctx context.Context, kafka streams.Cluster, ds *trainer.Dataset, rep *trainer.Replayed, cfg trainer.TrainConfig, valFold int, wd, modelsDir string, noClickHouse, noAnnounce bool) (string, error) {
	res, err := trainer.TrainFold(ctx, ds, cfg, valFold, filepath.Join(wd, "data"), filepath.Join(wd, fmt.Sprintf("fold-%d", valFold)))
	if err != nil {
		return "", err
	}
	created := time.Now().UTC()
	o := ds.Options
	m := model.Manifest{
		Version: model.NewVersion(created, ds.Hash), CreatedAt: created, CodeRevision: trainer.CodeRevision(),
		Tokenizer: cfg.Tokenizer.Spec(), MaxLen: cfg.Tokenizer.MaxLen, Architecture: res.Arch, Inputs: res.Inputs, Features: res.Features,
		Training: res.Training, Metrics: res.Metrics,
		Dataset: model.DatasetInfo{Hash: ds.Hash, Stats: ds.Stats, K: o.K, DrawSize: o.DrawSize, Draws: o.Draws, Splits: o.Splits, Benchmarks: o.Benchmarks, Models: o.Models,
			Consumed: rep.Consumed, Undecodable: rep.Undecodable, LabelsFrom: rep.LabelsFrom},
	}
	dir, err := model.Registry{Dir: modelsDir}.Register(res.ONNXPath, m)
	if err != nil {
		return "", err
	}
	printMetrics(os.Stdout, res.Metrics)
	fmt.Printf("registered %s at %s\n", m.Version, dir)
	if !noClickHouse {
		if err := a.writeTrainingRuns(ctx, []clickhouse.TrainingRun{trainingRun(m.Version, "register", ds.Hash, res, created)}); err != nil {
			return "", err
		}
	}
	if !noAnnounce {
		if m, err = (model.Registry{Dir: modelsDir}).Get(m.Version); err != nil {
			return "", err
		}
		abs, _ := filepath.Abs(dir)
		if err := trainer.AnnounceModel(ctx, kafka, abs, m); err != nil {
			return "", err
		}
		fmt.Printf("announced %s on topic %s\n", m.Version, streams.TopicModels)
	}
	// The version's directory, alone on the last line, for scripts (make verifier).
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	fmt.Println(abs)
	return dir, nil
}

func (a *app) writeTrainingRuns(ctx context.Context, runs []clickhouse.TrainingRun) error {
	sink, err := a.OpenClickHouse(ctx)
	if err != nil {
		return fmt.Errorf("clickhouse (or --no-clickhouse): %w", err)
	}
	defer sink.Close()
	return sink.WriteTrainingRuns(ctx, runs)
}

func trainingRun(version, kind, datasetHash string, r *trainer.FoldResult, created time.Time) clickhouse.TrainingRun {
	t, m := r.Training, r.Metrics
	return clickhouse.TrainingRun{
		Version: version, Kind: kind, Fold: int32(t.ValFold), Folds: int32(t.Folds), DatasetHash: datasetHash, CodeRevision: trainer.CodeRevision(),
		Device: t.Device, AMP: t.AMP, Torch: t.Torch, Params: t.Params, EpochsRun: int32(len(t.History)), BestEpoch: int32(t.BestEpoch),
		Steps: int32(t.Steps), TrainSeconds: t.TrainSeconds, TrainPairs: int64(t.TrainPairs), ValProblems: int32(m.ValProblems),
		ValExamples: int32(m.ValExamples), PairwiseAccuracy: float64(m.PairwiseAccuracy), AUROC: float64(m.AUROC),
		RerankedPass1: float64(m.RerankedPass1), RandomPass1: float64(m.RandomPass1), OraclePass: float64(m.OraclePass), K: int32(m.K),
		VerifierPass1AtK: float64(m.VerifierPass1AtK), OraclePassAtK: float64(m.OraclePassAtK), ParityMaxAbsDiff: t.ParityMaxAbsDiff, CreatedAt: created,
	}
}

func printMetrics(w io.Writer, m model.Metrics) {
	fmt.Fprintf(w, "validation (%d problems, %d candidates): pairwise acc %.4f, AUROC %.4f\n", m.ValProblems, m.ValExamples, m.PairwiseAccuracy, m.AUROC)
	fmt.Fprintf(w, "  all candidates: reranked pass@1 %.4f, random pass@1 %.4f, oracle %.4f\n", m.RerankedPass1, m.RandomPass1, m.OraclePass)
	fmt.Fprintf(w, "  %d random candidates: verifier pass@1 %.4f, oracle pass@%d %.4f\n", m.K, m.VerifierPass1AtK, m.K, m.OraclePassAtK)
}

func (a *app) crossValidate(ctx context.Context, ds *trainer.Dataset, cfg trainer.TrainConfig, wd string, noClickHouse bool) error {
	created := time.Now().UTC()
	version := "cv-" + model.NewVersion(created, ds.Hash)
	var runs []clickhouse.TrainingRun
	var results []*trainer.FoldResult
	for fold := range ds.Options.Folds {
		fmt.Printf("fold %d/%d\n", fold+1, ds.Options.Folds)
		res, err := trainer.TrainFold(ctx, ds, cfg, fold, filepath.Join(wd, "data"), filepath.Join(wd, fmt.Sprintf("cv-fold-%d", fold)))
		if err != nil {
			return fmt.Errorf("fold %d: %w", fold, err)
		}
		printMetrics(os.Stdout, res.Metrics)
		results = append(results, res)
		runs = append(runs, trainingRun(version, "cv", ds.Hash, res, created))
	}
	col := func(f func(model.Metrics) model.Float) string {
		var xs []float64
		for _, r := range results {
			if v := float64(f(r.Metrics)); !math.IsNaN(v) {
				xs = append(xs, v)
			}
		}
		mean, sd := meanStd(xs)
		return fmt.Sprintf("%.4f ± %.4f", mean, sd)
	}
	k := cfg.MetricsK
	fmt.Printf("\n%d-fold cross-validation by problem (%s), mean ± sd over folds:\n", ds.Options.Folds, version)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "baseline (random) pass@1\t%s\n", col(func(m model.Metrics) model.Float { return m.RandomPass1 }))
	fmt.Fprintf(tw, "oracle pass@%d\t%s\n", k, col(func(m model.Metrics) model.Float { return m.OraclePassAtK }))
	fmt.Fprintf(tw, "verifier pass@1 (of %d)\t%s\n", k, col(func(m model.Metrics) model.Float { return m.VerifierPass1AtK }))
	fmt.Fprintf(tw, "verifier pass@1 (of all)\t%s\n", col(func(m model.Metrics) model.Float { return m.RerankedPass1 }))
	fmt.Fprintf(tw, "pairwise accuracy\t%s\n", col(func(m model.Metrics) model.Float { return m.PairwiseAccuracy }))
	fmt.Fprintf(tw, "AUROC\t%s\n", col(func(m model.Metrics) model.Float { return m.AUROC }))
	tw.Flush()
	if noClickHouse {
		return nil
	}
	return a.writeTrainingRuns(ctx, runs)
}

func meanStd(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	mean := s / float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	if len(xs) > 1 {
		v /= float64(len(xs) - 1)
	}
	return mean, math.Sqrt(v)
}

func (a *app) modelsCmd() *cobra.Command {
	var modelsDir string
	// The registry must exist: an empty listing of a mistyped or defaulted-elsewhere path would
	// read as "no models".
	dir := func() (string, error) {
		d := modelsDir
		if d == "" {
			d = filepath.Join(a.Config.VarDir, "models")
		}
		return config.ExistingDir(d, "model registry", "--models-dir (or --var-dir, CODEVERIFY_VAR_DIR)")
	}
	cmd := &cobra.Command{Use: "models", Short: "The model registry: list versions, show one"}
	cmd.PersistentFlags().StringVar(&modelsDir, "models-dir", "", "model registry (default VAR_DIR/models)")
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List registered versions, oldest first, with their validation metrics",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			d, err := dir()
			if err != nil {
				return err
			}
			ms, err := model.Registry{Dir: d}.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "version\tcreated\tdataset\texamples\tdevice\tpair_acc\tauroc\tpass@1\trandom\toracle")
			for _, m := range ms {
				x := m.Metrics
				fmt.Fprintf(tw, "%s\t%s\t%.12s\t%d\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\n", m.Version, m.CreatedAt.Format(time.RFC3339), m.Dataset.Hash,
					m.Dataset.Stats.Examples, m.Training.Device, x.PairwiseAccuracy, x.AUROC, x.RerankedPass1, x.RandomPass1, x.OraclePass)
			}
			return tw.Flush()
		},
	}, &cobra.Command{
		Use:   "show VERSION|latest",
		Short: "Print a version's manifest (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			d, err := dir()
			if err != nil {
				return err
			}
			reg := model.Registry{Dir: d}
			version := args[0]
			if version == "latest" {
				ms, err := reg.List()
				if err != nil {
					return err
				}
				if len(ms) == 0 {
					return fmt.Errorf("no models in %s", reg.Dir)
				}
				version = ms[len(ms)-1].Version
			}
			m, err := reg.Get(version)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		},
	})
	return cmd
}

// exportRecord is one line of the dataset artifact (the seed's data_synthetic_code.jsonl).
type exportRecord struct {
	ProblemID   string `json:"problem_id"`
	Split       string `json:"split"`
	Prompt      string `json:"prompt"`
	Code        string `json:"code"`
	Label       string `json:"label"`
	FailureKind string `json:"failure_kind"`
	Model       string `json:"model"`
	Benchmark   string `json:"benchmark"`
	CandidateID string `json:"candidate_id"`
	SampleIndex int32  `json:"sample_index"`
	// Copies is how many candidates had this exact (problem, code) before de-duplication (absent: 1);
	// train --from-export restores them, so the dataset (and its hash) is the one the topics give.
	Copies int `json:"copies,omitempty"`
}

func (a *app) exportCmd() *cobra.Command {
	var d datasetFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export --out FILE.jsonl",
		Short: "Write the labeled dataset (replayed from the topics, joined, filtered, deduplicated) as JSONL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			return a.WithBrokers(cmd.Context(), func(kafka streams.Cluster) error {
				ds, _, err := a.loadDataset(cmd.Context(), kafka, &d, os.Stderr)
				if err != nil {
					return err
				}
				return writeExport(out, ds)
			})
		},
	}
	d.bind(cmd)
	cmd.Flags().StringVar(&out, "out", "", "output file (- for stdout)")
	return cmd
}

// copiesField is what the export writes for Copies: nothing for the usual single copy.
func copiesField(n int) int {
	if n <= 1 {
		return 0
	}
	return n
}

func writeExport(path string, ds *trainer.Dataset) error {
	var w io.Writer = os.Stdout
	var f *os.File
	if path != "-" {
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range ds.Examples {
		if err := enc.Encode(exportRecord{ProblemID: e.ProblemID, Split: e.Split, Prompt: e.Prompt, Code: e.Code, Label: e.Label,
			FailureKind: e.FailureKind, Model: e.Model, Benchmark: e.Benchmark, CandidateID: e.CandidateID, SampleIndex: e.SampleIndex,
			Copies: copiesField(e.Copies)}); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %d examples to %s\n", len(ds.Examples), path)
	}
	return nil
}
