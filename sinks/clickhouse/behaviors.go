package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

const insertBehaviors = `INSERT INTO behaviors (
    candidate_id, request_id, problem_id, benchmark, split, model, sample_index, tests_hash,
    test_id, test_frequency, test_status, test_fingerprint,
    runtime_ms, executor_version, executed_at_ms, executed_at)`

// WriteBehaviors inserts bs as one batch and returns after the server accepted it. Like
// WriteVerdicts it refuses the whole batch if any behaviour fails CheckBehavior, and rewriting a
// stored behaviour is harmless (reads collapse rows by candidate_id).
func (s *Sink) WriteBehaviors(ctx context.Context, bs []schemas.Behavior) error {
	return insertRows(ctx, s.conn, insertBehaviors, "behavior", bs, CheckBehavior,
		func(b schemas.Behavior) string { return b.CandidateID }, behaviorValues)
}

// behaviorValues is b in insertBehaviors' column order, its results as parallel arrays.
func behaviorValues(b schemas.Behavior) []any {
	n := len(b.Results)
	id, freq, status, fp := make([]string, n), make([]int32, n), make([]string, n), make([]string, n)
	for j, r := range b.Results {
		id[j], freq[j], status[j], fp[j] = r.TestID, r.Frequency, r.Status, r.Fingerprint
	}
	return []any{
		b.CandidateID, b.RequestID, b.ProblemID, b.Benchmark, b.Split, b.Model, b.SampleIndex, b.TestsHash,
		id, freq, status, fp,
		b.RuntimeMs, b.ExecutorVersion, uint64(b.ExecutedAtMs), time.UnixMilli(b.ExecutedAtMs),
	}
}

// CheckBehavior reports why b cannot be stored; the error wraps ErrInvalidRow.
func CheckBehavior(b schemas.Behavior) error {
	if err := b.Validate(); err != nil { // ids and statuses
		return fmt.Errorf("%w: %v", ErrInvalidRow, err)
	}
	if b.ExecutedAtMs < 0 {
		return fmt.Errorf("%w: behavior %s: negative executed_at_ms %d", ErrInvalidRow, b.CandidateID, b.ExecutedAtMs)
	}
	for i, r := range b.Results {
		// Agreement compares candidates by the test ids they pass: a result without one is noise.
		if r.TestID == "" {
			return fmt.Errorf("%w: behavior %s: result %d has an empty test_id", ErrInvalidRow, b.CandidateID, i)
		}
	}
	return nil
}

// BehaviorCount returns the number of stored behaviours after collapsing redeliveries, and the
// number of distinct candidate ids.
func (s *Sink) BehaviorCount(ctx context.Context) (rows uint64, distinctCandidates uint64, err error) {
	return s.countCandidates(ctx, "behaviors")
}
