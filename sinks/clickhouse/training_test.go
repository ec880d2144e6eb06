package clickhouse

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

func TestTrainingRunsRoundTripAndIdempotent(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	at := time.UnixMilli(1_764_000_000_000)
	run := TrainingRun{Version: "20261127T100000Z-abcdef12", Kind: "register", Fold: 0, Folds: 5, DatasetHash: "abc",
		Device: "cpu", AMP: "off", Torch: "1.13", Params: 1234, EpochsRun: 3, BestEpoch: 2, Steps: 30, TrainSeconds: 1.5,
		TrainPairs: 100, ModelMetrics: schemas.ModelMetrics{ValProblems: 4, ValExamples: 40, PairwiseAccuracy: 0.9, AUROC: 0.85, RerankedPass1: 0.5,
			RandomPass1: 0.3, OraclePass: 0.75, K: 16, VerifierPass1AtK: 0.45, OraclePassAtK: math.NaN()}, ParityMaxAbsDiff: 1e-7, CreatedAt: at}
	cv := run
	cv.Version, cv.Kind, cv.Fold = "cv-x", "cv", 3
	// Written twice: a retried insert must not double the rows.
	for range 2 {
		if err := s.WriteTrainingRuns(ctx, []TrainingRun{run, cv}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.TrainingRuns(ctx, run.Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d rows for %s, want 1", len(got), run.Version)
	}
	g := got[0]
	if g.PairwiseAccuracy != 0.9 || g.K != 16 || g.BestEpoch != 2 || !math.IsNaN(g.OraclePassAtK) || !g.CreatedAt.Equal(at) {
		t.Errorf("read back %+v", g)
	}
	all, err := s.TrainingRuns(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[1].Fold != 3 {
		t.Errorf("all runs: %+v", all)
	}
	if err := s.WriteTrainingRuns(ctx, []TrainingRun{{}}); err == nil {
		t.Error("a run without a version was accepted")
	}
}
