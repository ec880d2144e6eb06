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
	if len(bs) == 0 {
		return nil
	}
	for i := range bs {
		if err := CheckBehavior(bs[i]); err != nil {
			return err
		}
	}
	b, err := s.conn.PrepareBatch(ctx, insertBehaviors)
	if err != nil {
		return fmt.Errorf("clickhouse: prepare behavior batch: %w", err)
	}
	for i := range bs {
		v := &bs[i]
		n := len(v.Results)
		id, freq, status, fp := make([]string, n), make([]int32, n), make([]string, n), make([]string, n)
		for j, r := range v.Results {
			id[j], freq[j], status[j], fp[j] = r.TestID, r.Frequency, r.Status, r.Fingerprint
		}
		err := b.Append(
			v.CandidateID, v.RequestID, v.ProblemID, v.Benchmark, v.Split, v.Model, v.SampleIndex, v.TestsHash,
			id, freq, status, fp,
			v.RuntimeMs, v.ExecutorVersion, uint64(v.ExecutedAtMs), time.UnixMilli(v.ExecutedAtMs),
		)
		if err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append behavior %s: %w", v.CandidateID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("clickhouse: insert %d behaviors: %w", len(bs), err)
	}
	return nil
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
	err = s.conn.QueryRow(ctx, "SELECT count(), uniqExact(candidate_id) FROM behaviors FINAL").Scan(&rows, &distinctCandidates)
	if err != nil {
		return 0, 0, fmt.Errorf("clickhouse: count behaviors: %w", err)
	}
	return rows, distinctCandidates, nil
}
