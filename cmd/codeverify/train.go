package main

import (
	"os"

	"github.com/codeverify/codeverify/evaluation"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
	"github.com/spf13/cobra"
)

// bindDataset binds the flags that choose and replay the labeled data (train and export share them).
func bindDataset(cmd *cobra.Command, d *trainer.DatasetSpec) {
	f := cmd.Flags()
	f.StringSliceVar(&d.Splits, "split", nil, "keep only these splits (default: all)")
	f.StringSliceVar(&d.Benchmarks, "benchmark", nil, "keep only these benchmarks (default: all)")
	f.StringSliceVar(&d.Models, "gen-model", nil, "keep only candidates of these generating models (default: all)")
	f.StringVar(&d.Since, "since", "", "replay verdicts from this RFC 3339 time on (default: the beginning)")
	f.StringVar(&d.Offsets, "offsets", "", "explicit start offsets: topic:partition=offset,… (e.g. verdicts:0=1200)")
	f.StringVar(&d.Labels, "labels", "topic", "where the labels come from: topic (replay verdicts) | clickhouse (verdicts FINAL, e.g. after the topic's retention; --since cuts by execution time)")
	f.IntVar(&d.K, "k", 4, "FAILs sampled per PASS of the same problem")
	f.IntVar(&d.Folds, "folds", 5, "problems are dealt into this many folds; validation is one of them")
	f.IntVar(&d.DrawSize, "draw-size", 16, "train on what is served: a request of more candidates becomes --draws random draws of this many (features and pairs per draw; every PASS×FAIL pair, --k unused)")
	f.IntVar(&d.Draws, "draws", 20, "draws per request of more than --draw-size candidates (0: each request whole, deduplicated, k FAILs per PASS)")
	f.Uint64Var(&d.Seed, "seed", 1, "seed of pairs, folds and training")
	limits(f, map[string][2]string{"k": {"1", "1000"}, "folds": {"2", "100"}, "draw-size": {"2", "10000"}, "draws": {"0", "10000"}, "seed": {"0", "18446744073709551615"}})
}

func (a *app) trainCmd() *cobra.Command {
	o := evaluation.TrainOptions{Config: trainer.DefaultTrainConfig()}
	cfg := &o.Config
	cmd := command("train", "Replay the labeled topics, train the energy verifier (PyTorch), export ONNX, register it",
		`Replays problems, candidates and verdicts with its own readers (no consumer group), joins them,
keeps the chosen splits, drops duplicate (problem, code), pairs each PASS with k FAILs of its problem,
trains train.py (torch + onnx, run by --train-python) with validation on one fold of problems, exports
ONNX (opset 17), checks parity with torch (|Δ| ≤ 1e-4), computes validation metrics, registers the
version under --models-dir, writes the metrics to ClickHouse and announces it on the models topic.
--val-fold K chooses which of the --folds seeded problem folds is held out for validation (default 0);
the manifest records it and eval --holdout evaluates on exactly that fold, so training K = 0…folds-1
gives a 5-fold evaluation by problem. --cv N instead trains N models, one per fold held out, and
reports the metrics over folds (nothing is registered). --from-export FILE trains on a codeverify
export file instead of the topics (no broker; nothing is announced). Behaviours (topic "`+streams.TopicBehaviors+`", by
candidate id) give each candidate its behaviour features, computed per request over its candidates
exactly as the reranker computes them. Trained on what is served: a request of more than --draw-size
candidates (16) becomes --draws (20) random draws of --draw-size (a seed per request and draw), the
features are computed per draw and the pairs are every PASS×FAIL pair within a draw (--draws 0: each
request whole, deduplicated, --k FAILs per PASS). --objective request with --feature-hidden 0 --no-text
is the production recipe (make verifier): a linear energy on the standardised features, margin ranking
averaged per draw, Adam, --max-steps full-batch steps. After registering, the last line printed is the
version's directory.`,
		func(cmd *cobra.Command) error {
			o.ValFoldSet = cmd.Flags().Changed("val-fold")
			return evaluation.Train(cmd.Context(), a.Env, o, os.Stdout, os.Stderr)
		})
	bindDataset(cmd, &o.Dataset)
	f := cmd.Flags()
	f.StringVar(&o.ModelsDir, "models-dir", "", "model registry (default VAR_DIR/models)")
	f.StringVar(&o.FromExport, "from-export", "", "train on a `codeverify export` JSONL file instead of replaying the topics (no broker; the version is not announced)")
	f.StringVar(&o.WorkDir, "work-dir", "", "dataset files and training outputs (default VAR_DIR/train/<dataset hash>)")
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
	f.BoolVar(&cfg.NoFeatures, "no-features", false, "train a code-only model (token inputs only, no behaviour features)")
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
	f.IntVar(&o.ValFold, "val-fold", 0, "validation fold: which of the --folds seeded problem folds is held out (0 … folds-1; recorded in the manifest, used by eval --holdout)")
	f.IntVar(&o.CV, "cv", 0, "cross-validate over this many folds of problems instead of registering a model")
	limits(f, map[string][2]string{
		"max-len": {"8", "65536"}, "d-model": {"1", "16384"}, "layers": {"1", "128"}, "heads": {"1", "256"}, "ff": {"1", "262144"},
		"dropout": {"0", "0.99"}, "feature-hidden": {"0", "65536"}, "text-weight": {"0", "1000"}, "text-dropout": {"0", "1"},
		"l2": {"0", "1000"}, "epochs": {"1", "100000"}, "batch-size": {"0", "1000000"}, "lr": {"1e-9", "10"}, "margin": {"0", "100"},
		"pointwise-weight": {"0", "1000"}, "patience": {"0", "100000"}, "max-steps": {"0", "1000000000"}, "threads": {"0", "1024"},
		"val-fold": {"0", "99"}, "cv": {"0", "100"},
	})
	f.BoolVar(&o.NoClickHouse, "no-clickhouse", false, "do not write the metrics to ClickHouse")
	f.BoolVar(&o.NoAnnounce, "no-announce", false, "do not publish the new version on the models topic")
	return cmd
}

func (a *app) modelsCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{Use: "models", Short: "The model registry: list versions, show one"}
	cmd.PersistentFlags().StringVar(&dir, "models-dir", "", "model registry (default VAR_DIR/models)")
	cmd.AddCommand(command("list", "List registered versions, oldest first, with their validation metrics", "",
		func(*cobra.Command) error { return evaluation.ListModels(a.Env, dir, os.Stdout) }), &cobra.Command{
		Use: "show VERSION|latest", Short: "Print a version's manifest (JSON)", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return evaluation.ShowModel(a.Env, dir, args[0], os.Stdout)
		},
	})
	return cmd
}

func (a *app) exportCmd() *cobra.Command {
	var d trainer.DatasetSpec
	var out string
	cmd := command("export --out FILE.jsonl", "Write the labeled dataset (replayed from the topics, joined, filtered, deduplicated) as JSONL", "",
		func(cmd *cobra.Command) error {
			return evaluation.Export(cmd.Context(), a.Env, d, out, os.Stdout, os.Stderr)
		})
	bindDataset(cmd, &d)
	cmd.Flags().StringVar(&out, "out", "", "output file (- for stdout)")
	return cmd
}
