package clickhouse

import "context"

// LookupVerdict returns the verdict already stored for exactly this problem, test suite and code
// (timeouts excluded: they depend on limits and load), so an executor can skip re-running it.
func (s *Sink) LookupVerdict(ctx context.Context, problemID, suiteHash, codeSHA256 string) (label, kind, detail string, found bool, err error) {
	rows, err := s.conn.Query(ctx, `SELECT toString(label), failure_kind, detail FROM verdicts FINAL
	    WHERE problem_id = ? AND test_suite_hash = ? AND code_sha256 = ? AND failure_kind != 'timeout'
	    ORDER BY executed_at_ms DESC LIMIT 1`, problemID, suiteHash, codeSHA256)
	if err != nil {
		return "", "", "", false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&label, &kind, &detail); err != nil {
			return "", "", "", false, err
		}
		found = true
	}
	return label, kind, detail, found, rows.Err()
}
