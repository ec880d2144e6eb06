package clickhouse

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/codeverify/codeverify/schemas"
)

// ReadVerdicts returns the stored label of every candidate executed at or after since (zero: all),
// one row per candidate (FINAL: redeliveries collapsed, the newest execution kept). Per-test outcomes
// are not read back: a dataset needs the label, its kind and when it was decided.
func (s *Sink) ReadVerdicts(ctx context.Context, since time.Time) ([]schemas.Verdict, error) {
	var sinceMs uint64
	if !since.IsZero() {
		sinceMs = uint64(since.UnixMilli())
	}
	return queryRows(ctx, s.conn, "read verdicts", `SELECT candidate_id, request_id, problem_id, benchmark, split, model, sample_index,
	    toString(label), failure_kind, detail, runtime_ms, executor_version, test_suite_hash, code_sha256, executed_at_ms
	    FROM verdicts FINAL WHERE executed_at_ms >= ? ORDER BY candidate_id`, []any{sinceMs}, func(rows driver.Rows, v *schemas.Verdict) error {
		var at uint64
		err := rows.Scan(&v.CandidateID, &v.RequestID, &v.ProblemID, &v.Benchmark, &v.Split, &v.Model, &v.SampleIndex,
			&v.Label, &v.FailureKind, &v.Detail, &v.RuntimeMs, &v.ExecutorVersion, &v.TestSuiteHash, &v.CodeSHA256, &at)
		v.ExecutedAtMs = int64(at)
		return err
	})
}
