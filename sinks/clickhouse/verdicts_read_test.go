package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// TestReadVerdicts: every candidate once, with its newest label, cut by execution time.
func TestReadVerdicts(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	a := verdict("mbpp", "train", "m1", "mbpp/7", 0, true)
	b := verdict("mbpp", "train", "m1", "mbpp/7", 1, false)
	bLater := b // b re-executed later: PASS now
	bLater.Label, bLater.FailureKind, bLater.ExecutedAtMs = schemas.Pass, schemas.KindNone, b.ExecutedAtMs+60_000
	// Written in two inserts (two parts), with a redelivery of a: FINAL must collapse both.
	if err := s.WriteVerdicts(ctx, []schemas.Verdict{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteVerdicts(ctx, []schemas.Verdict{a, bLater}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadVerdicts(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("want 2 verdicts (one per candidate), got %d: %+v", len(all), all)
	}
	byID := map[string]int{}
	for i, v := range all {
		byID[v.CandidateID] = i
	}
	got := all[byID[a.CandidateID]]
	if got.Label != "PASS" || got.ProblemID != a.ProblemID || got.Split != "train" || got.SampleIndex != 0 || got.ExecutedAtMs != a.ExecutedAtMs ||
		got.CodeSHA256 != a.CodeSHA256 || got.TestSuiteHash != a.TestSuiteHash {
		t.Errorf("a read back as %+v, wrote %+v", got, a)
	}
	if got := all[byID[b.CandidateID]]; got.Label != "PASS" || got.ExecutedAtMs != bLater.ExecutedAtMs {
		t.Errorf("b: want the later execution's PASS, got %+v", got)
	}
	since, err := s.ReadVerdicts(ctx, time.UnixMilli(bLater.ExecutedAtMs))
	if err != nil || len(since) != 1 || since[0].CandidateID != b.CandidateID {
		t.Errorf("since the re-execution: want only b, got %+v (%v)", since, err)
	}
}
