package evaluation

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
)

// This file wires package trainer, which reaches Kafka but not ClickHouse, to the cluster and to
// ClickHouse for the train and export commands: ClickHouse's verdicts as labels, training_runs
// as the record of every run.

// TrainOptions are the train command's.
type TrainOptions struct {
	Dataset trainer.DatasetSpec
	Config  trainer.TrainConfig // its Seed is the dataset's; OnEvent and Log are set here
	// ModelsDir is the registry (default VAR_DIR/models), WorkDir the dataset files and training
	// outputs (default VAR_DIR/train/<dataset hash>). FromExport trains on an export file instead
	// of the topics (no broker; nothing is announced).
	ModelsDir, WorkDir, FromExport string
	ValFold                        int
	ValFoldSet                     bool // ValFold was given, which excludes CV
	CV                             int  // cross-validate over this many folds instead of registering
	NoClickHouse, NoAnnounce       bool
}

// Train replays the labelled topics (or reads an export), trains and registers a version, or
// cross-validates. Progress and train.py's log go to stderr, the rest to stdout.
func Train(ctx context.Context, env *config.Env, o TrainOptions, stdout, stderr io.Writer) error {
	d, cfg := o.Dataset, o.Config
	if o.CV > 0 {
		d.Folds = o.CV
	}
	if err := trainer.CheckValFold(o.ValFold, d.Folds, o.CV, o.ValFoldSet); err != nil {
		return err
	}
	if err := d.BuildOptions().Validate(); err != nil {
		return err
	}
	cfg.Seed = int64(d.Seed)
	if err := cfg.Validate(); err != nil {
		return err
	}
	if _, err := trainer.CheckPython(ctx, cfg.Python); err != nil {
		return err
	}
	modelsDir := o.ModelsDir
	if modelsDir == "" {
		modelsDir = filepath.Join(env.Config.VarDir, "models")
	}
	var record trainer.Recorder
	if !o.NoClickHouse {
		record = RecordTrainingRuns(env)
	}
	run := func(kafka streams.Cluster, ds *trainer.Dataset, rep *trainer.Replayed) error {
		wd := o.WorkDir
		if wd == "" {
			wd = filepath.Join(env.Config.VarDir, "train", ds.Hash[:12])
		}
		if err := trainer.WriteTrainingFiles(filepath.Join(wd, "data"), ds, cfg.Tokenizer); err != nil {
			return err
		}
		cfg.OnEvent, cfg.Log = trainer.EventPrinter(stdout), stderr
		if o.CV > 0 {
			return trainer.CrossValidate(ctx, ds, cfg, wd, record, stdout)
		}
		if o.NoAnnounce {
			kafka = streams.Cluster{}
		}
		_, err := trainer.TrainAndRegister(ctx, ds, rep, cfg, trainer.RegisterOptions{ValFold: o.ValFold, WorkDir: wd, ModelsDir: modelsDir,
			Record: record, Announce: kafka, Out: stdout})
		return err
	}
	if o.FromExport != "" {
		if d.Since != "" || d.Offsets != "" {
			return fmt.Errorf("train: --since and --offsets select topic records; --from-export reads a file")
		}
		rep, err := trainer.ReadExport(o.FromExport)
		if err != nil {
			return err
		}
		ds, rep, err := trainer.BuildReplayed(rep, d, stdout)
		if err != nil {
			return err
		}
		return run(streams.Cluster{}, ds, rep) // no brokers: nothing to announce to
	}
	return env.WithBrokers(ctx, func(kafka streams.Cluster) error {
		ds, rep, err := LoadDataset(ctx, env, kafka, d, stderr, stdout)
		if err != nil {
			return err
		}
		return run(kafka, ds, rep)
	})
}

// Export writes the dataset d gives (replayed from the topics, joined, filtered, deduplicated) to
// out as export records ("-": stdout). The replay's report goes to stderr.
func Export(ctx context.Context, env *config.Env, d trainer.DatasetSpec, out string, stdout, stderr io.Writer) error {
	if out == "" {
		return fmt.Errorf("--out is required")
	}
	return env.WithBrokers(ctx, func(kafka streams.Cluster) error {
		ds, _, err := LoadDataset(ctx, env, kafka, d, stderr, stderr)
		if err != nil {
			return err
		}
		return trainer.WriteExportFile(out, ds, stdout, stderr)
	})
}

// LoadDataset replays the labelled topics of kafka (a progress bar on progress) and builds the
// dataset d gives, reporting on w; ClickHouse's verdicts are the labels with
// trainer.LabelsClickHouse.
func LoadDataset(ctx context.Context, env *config.Env, kafka streams.Cluster, d trainer.DatasetSpec, progress, w io.Writer) (*trainer.Dataset, *trainer.Replayed, error) {
	return trainer.LoadDataset(ctx, kafka, d, clickHouseVerdicts(env), progress, w)
}

// clickHouseVerdicts reads the verdicts table (FINAL: each candidate's newest execution).
func clickHouseVerdicts(env *config.Env) trainer.VerdictSource {
	return func(ctx context.Context, since time.Time) ([]schemas.Verdict, string, error) {
		sink, err := env.OpenClickHouseReadOnly(ctx)
		if err != nil {
			return nil, "", err
		}
		defer sink.Close()
		vs, err := sink.ReadVerdicts(ctx, since)
		if err != nil {
			return nil, "", err
		}
		return vs, fmt.Sprintf("clickhouse %s.verdicts FINAL (%d rows)", sink.Database(), len(vs)), nil
	}
}

// RecordTrainingRuns writes training runs to ClickHouse's training_runs table.
func RecordTrainingRuns(env *config.Env) trainer.Recorder {
	return func(ctx context.Context, runs []trainer.Run) error {
		sink, err := env.OpenClickHouse(ctx)
		if err != nil {
			return fmt.Errorf("clickhouse (or --no-clickhouse): %w", err)
		}
		defer sink.Close()
		rows := make([]clickhouse.TrainingRun, len(runs))
		for i, r := range runs {
			rows[i] = trainingRun(r)
		}
		return sink.WriteTrainingRuns(ctx, rows)
	}
}

func trainingRun(r trainer.Run) clickhouse.TrainingRun {
	t := r.Result.Training
	return clickhouse.TrainingRun{
		Version: r.Version, Kind: r.Kind, Fold: int32(t.ValFold), Folds: int32(t.Folds), DatasetHash: r.DatasetHash, CodeRevision: trainer.CodeRevision(),
		Device: t.Device, AMP: t.AMP, Torch: t.Torch, Params: t.Params, EpochsRun: int32(len(t.History)), BestEpoch: int32(t.BestEpoch),
		Steps: int32(t.Steps), TrainSeconds: t.TrainSeconds, TrainPairs: int64(t.TrainPairs), ModelMetrics: r.Result.Metrics.Event(),
		ParityMaxAbsDiff: t.ParityMaxAbsDiff, CreatedAt: r.CreatedAt,
	}
}
