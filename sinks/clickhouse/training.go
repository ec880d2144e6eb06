package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/codeverify/codeverify/schemas"
)

// TrainingRun is one row of training_runs: a verifier training run and its validation metrics.
type TrainingRun struct {
	Version      string
	Kind         string // "register" for a registered version, "cv" for a cross-validation fold
	Fold, Folds  int32
	DatasetHash  string
	CodeRevision string
	Device, AMP  string
	Torch        string
	Params       int64
	EpochsRun    int32
	BestEpoch    int32
	Steps        int32
	TrainSeconds float64
	TrainPairs   int64
	// The validation metrics, as the models topic announces them.
	schemas.ModelMetrics
	ParityMaxAbsDiff float64
	CreatedAt        time.Time
}

const insertTrainingRuns = `INSERT INTO training_runs (
    version, kind, fold, folds, dataset_hash, code_revision, device, amp, torch, params,
    epochs_run, best_epoch, steps, train_seconds, train_pairs, val_problems, val_examples,
    pairwise_accuracy, auroc, reranked_pass1, random_pass1, oracle_pass, k,
    verifier_pass1_at_k, oracle_pass_at_k, parity_max_abs_diff, created_at_ms, created_at)`

// WriteTrainingRuns inserts runs as one batch.
func (s *Sink) WriteTrainingRuns(ctx context.Context, runs []TrainingRun) error {
	return insertRows(ctx, s.conn, insertTrainingRuns, "training run", runs,
		func(r TrainingRun) error {
			if r.Version == "" {
				return fmt.Errorf("clickhouse: training run without a version")
			}
			return nil
		},
		func(r TrainingRun) string { return fmt.Sprintf("%s/%d", r.Version, r.Fold) },
		func(r TrainingRun) []any {
			return []any{r.Version, r.Kind, r.Fold, r.Folds, r.DatasetHash, r.CodeRevision, r.Device, r.AMP, r.Torch, r.Params,
				r.EpochsRun, r.BestEpoch, r.Steps, r.TrainSeconds, r.TrainPairs, r.ValProblems, r.ValExamples,
				r.PairwiseAccuracy, r.AUROC, r.RerankedPass1, r.RandomPass1, r.OraclePass, r.K,
				r.VerifierPass1AtK, r.OraclePassAtK, r.ParityMaxAbsDiff, uint64(r.CreatedAt.UnixMilli()), r.CreatedAt}
		})
}

// TrainingRuns reads the runs of one version (every version when version is ""), by version and fold.
func (s *Sink) TrainingRuns(ctx context.Context, version string) ([]TrainingRun, error) {
	q := `SELECT version, kind, fold, folds, dataset_hash, code_revision, device, amp, torch, params,
    epochs_run, best_epoch, steps, train_seconds, train_pairs, val_problems, val_examples,
    pairwise_accuracy, auroc, reranked_pass1, random_pass1, oracle_pass, k,
    verifier_pass1_at_k, oracle_pass_at_k, parity_max_abs_diff, created_at_ms
FROM training_runs FINAL WHERE (? = '' OR version = ?) ORDER BY version, fold`
	return queryRows(ctx, s.conn, "read training runs", q, []any{version, version}, func(rows driver.Rows, r *TrainingRun) error {
		var ms uint64
		err := rows.Scan(&r.Version, &r.Kind, &r.Fold, &r.Folds, &r.DatasetHash, &r.CodeRevision, &r.Device, &r.AMP, &r.Torch, &r.Params,
			&r.EpochsRun, &r.BestEpoch, &r.Steps, &r.TrainSeconds, &r.TrainPairs, &r.ValProblems, &r.ValExamples,
			&r.PairwiseAccuracy, &r.AUROC, &r.RerankedPass1, &r.RandomPass1, &r.OraclePass, &r.K,
			&r.VerifierPass1AtK, &r.OraclePassAtK, &r.ParityMaxAbsDiff, &ms)
		r.CreatedAt = time.UnixMilli(int64(ms))
		return err
	})
}
