package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/codeverify/codeverify/internal/permanent"
	"github.com/codeverify/codeverify/schemas"
)

// The column list is explicit: 18.16 cannot prepare "INSERT INTO t" without one, and naming the
// columns keeps the insert working when a later migration adds a column with a default.
const insertVerdicts = `INSERT INTO verdicts (
    candidate_id, request_id, problem_id, benchmark, split, model, sample_index,
    label, failure_kind, detail,
    test_index, test_passed, test_kind, test_message,
    runtime_ms, executor_version, test_suite_hash, code_sha256, executed_at_ms, executed_at)`

// WriteVerdicts inserts vs as one batch and returns after the server accepted it, so a caller can
// commit its input offsets afterwards. It refuses the whole batch if any verdict fails CheckVerdict:
// callers that must not lose the good rows to a bad one run CheckVerdict first and set the bad ones
// aside. Rewriting a verdict already stored is harmless: reads collapse rows by candidate_id.
func (s *Sink) WriteVerdicts(ctx context.Context, vs []schemas.Verdict) error {
	return insertRows(ctx, s.conn, insertVerdicts, "verdict", vs, CheckVerdict,
		func(v schemas.Verdict) string { return v.CandidateID }, verdictValues)
}

// verdictValues is v in insertVerdicts' column order, its test outcomes as parallel arrays.
func verdictValues(v schemas.Verdict) []any {
	n := len(v.Tests)
	idx, passed, kind, msg := make([]int32, n), make([]uint8, n), make([]string, n), make([]string, n)
	for j, t := range v.Tests {
		idx[j], passed[j], kind[j], msg[j] = t.Index, u8(t.Passed), t.Kind, t.Message
	}
	return []any{
		v.CandidateID, v.RequestID, v.ProblemID, v.Benchmark, v.Split, v.Model, v.SampleIndex,
		v.Label, v.FailureKind, v.Detail,
		idx, passed, kind, msg,
		v.RuntimeMs, v.ExecutorVersion, v.TestSuiteHash, v.CodeSHA256,
		uint64(v.ExecutedAtMs), time.UnixMilli(v.ExecutedAtMs),
	}
}

// ErrInvalidRow marks an event that can never be written: retrying it cannot succeed, so it is
// permanent (internal/permanent) and belongs in a dead-letter topic. Other write errors (the server
// down, a timeout) are transient.
var ErrInvalidRow = permanent.New("clickhouse: invalid row")

// CheckVerdict reports why v cannot be stored; the error wraps ErrInvalidRow.
func CheckVerdict(v schemas.Verdict) error {
	switch {
	case v.CandidateID == "":
		return fmt.Errorf("%w: verdict with empty candidate_id (problem %q, sample %d)", ErrInvalidRow, v.ProblemID, v.SampleIndex)
	case v.Label != schemas.Pass && v.Label != schemas.Fail:
		return fmt.Errorf("%w: verdict %s: label %q is neither %s nor %s", ErrInvalidRow, v.CandidateID, v.Label, schemas.Pass, schemas.Fail)
	case v.ExecutedAtMs < 0:
		// executed_at_ms is the ReplacingMergeTree version column, which must be unsigned.
		return fmt.Errorf("%w: verdict %s: negative executed_at_ms %d", ErrInvalidRow, v.CandidateID, v.ExecutedAtMs)
	}
	return nil
}

// VerdictCount returns the number of stored verdicts after collapsing redeliveries, and the number
// of distinct candidate ids; the two are equal when deduplication works.
func (s *Sink) VerdictCount(ctx context.Context) (rows uint64, distinctCandidates uint64, err error) {
	return s.countCandidates(ctx, "verdicts")
}

// countCandidates counts the rows of a table keyed by candidate_id after collapsing redeliveries,
// and its distinct candidate ids. table is one of the package's own table names, never input.
func (s *Sink) countCandidates(ctx context.Context, table string) (rows uint64, distinctCandidates uint64, err error) {
	// uniqExact reads a column, which also keeps any server from answering count() from part
	// metadata while ignoring FINAL.
	err = s.conn.QueryRow(ctx, "SELECT count(), uniqExact(candidate_id) FROM "+table+" FINAL").Scan(&rows, &distinctCandidates)
	if err != nil {
		return 0, 0, fmt.Errorf("clickhouse: count %s: %w", table, err)
	}
	return rows, distinctCandidates, nil
}
