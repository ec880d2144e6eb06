package trainer

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/streams"
)

// Run is one training run as it is recorded: the version it trained ("cv-…" for a
// cross-validation), its kind ("register" or "cv"), the dataset and the result.
type Run struct {
	Version, Kind, DatasetHash string
	Result                     *FoldResult
	CreatedAt                  time.Time
}

// Recorder stores training runs (ClickHouse's training_runs table, which this package does not
// reach itself).
type Recorder func(ctx context.Context, runs []Run) error

// RegisterOptions say how a trained version is registered and made known.
type RegisterOptions struct {
	ValFold   int    // the validation fold (recorded in the manifest)
	WorkDir   string // holds WriteTrainingFiles' data/; the fold's outputs go to fold-ValFold/
	ModelsDir string // the model registry
	// Record, if set, records the run; Announce, if it has brokers, gets the version on the models topic.
	Record   Recorder
	Announce streams.Cluster
	// Out receives the metrics, what was done and, last, the version's directory alone on a line.
	Out io.Writer
}

// TrainAndRegister trains with validation fold o.ValFold, registers the version, records and
// announces it, and returns its directory.
func TrainAndRegister(ctx context.Context, ds *Dataset, rep *Replayed, cfg TrainConfig, o RegisterOptions) (string, error) {
	res, err := TrainFold(ctx, ds, cfg, o.ValFold, filepath.Join(o.WorkDir, "data"), filepath.Join(o.WorkDir, fmt.Sprintf("fold-%d", o.ValFold)))
	if err != nil {
		return "", err
	}
	created := time.Now().UTC()
	bo := ds.Options
	m := model.Manifest{
		Version: model.NewVersion(created, ds.Hash), CreatedAt: created, CodeRevision: CodeRevision(),
		Tokenizer: cfg.Tokenizer.Spec(), MaxLen: cfg.Tokenizer.MaxLen, Architecture: res.Arch, Inputs: res.Inputs, Features: res.Features,
		Training: res.Training, Metrics: res.Metrics,
		Dataset: model.DatasetInfo{Hash: ds.Hash, Stats: ds.Stats, K: bo.K, DrawSize: bo.DrawSize, Draws: bo.Draws, Splits: bo.Splits, Benchmarks: bo.Benchmarks,
			Models: bo.Models, Consumed: rep.Consumed, Undecodable: rep.Undecodable, LabelsFrom: rep.LabelsFrom},
	}
	reg := model.Registry{Dir: o.ModelsDir}
	dir, err := reg.Register(res.ONNXPath, m)
	if err != nil {
		return "", err
	}
	WriteMetrics(o.Out, res.Metrics)
	fmt.Fprintf(o.Out, "registered %s at %s\n", m.Version, dir)
	if o.Record != nil {
		if err := o.Record(ctx, []Run{{Version: m.Version, Kind: "register", DatasetHash: ds.Hash, Result: res, CreatedAt: created}}); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if len(o.Announce.Brokers) > 0 {
		if m, err = reg.Get(m.Version); err != nil {
			return "", err
		}
		if err := AnnounceModel(ctx, o.Announce, abs, m); err != nil {
			return "", err
		}
		fmt.Fprintf(o.Out, "announced %s on topic %s\n", m.Version, streams.TopicModels)
	}
	// The version's directory, alone on the last line, for scripts (make verifier).
	fmt.Fprintln(o.Out, abs)
	return dir, nil
}

// CrossValidate trains one model per fold held out (nothing is registered), prints each fold's
// metrics and their mean ± sd over folds on out, and records the runs (when record is set).
func CrossValidate(ctx context.Context, ds *Dataset, cfg TrainConfig, workDir string, record Recorder, out io.Writer) error {
	created := time.Now().UTC()
	version := "cv-" + model.NewVersion(created, ds.Hash)
	var runs []Run
	for fold := range ds.Options.Folds {
		fmt.Fprintf(out, "fold %d/%d\n", fold+1, ds.Options.Folds)
		res, err := TrainFold(ctx, ds, cfg, fold, filepath.Join(workDir, "data"), filepath.Join(workDir, fmt.Sprintf("cv-fold-%d", fold)))
		if err != nil {
			return fmt.Errorf("fold %d: %w", fold, err)
		}
		WriteMetrics(out, res.Metrics)
		runs = append(runs, Run{Version: version, Kind: "cv", DatasetHash: ds.Hash, Result: res, CreatedAt: created})
	}
	col := func(f func(model.Metrics) model.Float) string {
		var xs []float64
		for _, r := range runs {
			if v := float64(f(r.Result.Metrics)); !math.IsNaN(v) {
				xs = append(xs, v)
			}
		}
		mean, sd := meanStd(xs)
		return fmt.Sprintf("%.4f ± %.4f", mean, sd)
	}
	k := cfg.MetricsK
	fmt.Fprintf(out, "\n%d-fold cross-validation by problem (%s), mean ± sd over folds:\n", ds.Options.Folds, version)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "baseline (random) pass@1\t%s\n", col(func(m model.Metrics) model.Float { return m.RandomPass1 }))
	fmt.Fprintf(tw, "oracle pass@%d\t%s\n", k, col(func(m model.Metrics) model.Float { return m.OraclePassAtK }))
	fmt.Fprintf(tw, "verifier pass@1 (of %d)\t%s\n", k, col(func(m model.Metrics) model.Float { return m.VerifierPass1AtK }))
	fmt.Fprintf(tw, "verifier pass@1 (of all)\t%s\n", col(func(m model.Metrics) model.Float { return m.RerankedPass1 }))
	fmt.Fprintf(tw, "pairwise accuracy\t%s\n", col(func(m model.Metrics) model.Float { return m.PairwiseAccuracy }))
	fmt.Fprintf(tw, "AUROC\t%s\n", col(func(m model.Metrics) model.Float { return m.AUROC }))
	tw.Flush()
	if record == nil {
		return nil
	}
	return record(ctx, runs)
}

// CheckValFold rejects a validation fold outside the deal of folds (before any replay or training)
// and a validation fold given (set) together with cross-validation over cv folds, which holds out
// every fold in turn.
func CheckValFold(valFold, folds, cv int, set bool) error {
	if cv > 0 && set {
		return fmt.Errorf("train: --val-fold and --cv exclude each other (--cv validates on every fold in turn)")
	}
	if valFold < 0 || (folds >= 2 && valFold >= folds) {
		return fmt.Errorf("train: --val-fold %d: want 0 … %d (one of the --folds %d problem folds)", valFold, folds-1, folds)
	}
	return nil
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
