package clickhouse

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// AgreementRow is how CodeT's agreement between candidates and a model's generated tests does
// for one (benchmark, split, model); docs/sql/codet_top_cluster.sql defines the columns.
type AgreementRow struct {
	Benchmark, Split, Model string
	Requests                uint64
	TopClusterPass          float64 // share of requests whose top agreement cluster holds a passing candidate
	AnyPass                 float64 // share of requests with any passing candidate
	RandomPass              float64 // mean per-request pass rate
}

// agreementSQL is docs/sql/codet_top_cluster.sql without its comments; agreement_test.go holds
// them equal, so the file people run by hand is the query the code runs.
const agreementSQL = `SELECT
    benchmark, split, model,
    count()          AS requests,
    avg(top_pass)    AS top_cluster_pass,
    avg(any_pass)    AS any_pass,
    avg(random_pass) AS random_pass
FROM
(
    SELECT
        benchmark, split, model, request_id,
        groupArray(score)                                    AS scores,
        groupArray(has_pass)                                 AS has_passes,
        arrayReduce('max', scores)                           AS best,
        arrayFilter((h, s) -> s = best, has_passes, scores)  AS top,
        arraySum(top) / length(top)                          AS top_pass,
        max(has_pass)                                        AS any_pass,
        sum(passes) / sum(size)                              AS random_pass
    FROM
    (
        SELECT
            benchmark, split, model, request_id, passed,
            count()                  AS size,
            count() * length(passed) AS score,
            max(label = 'PASS')      AS has_pass,
            sum(label = 'PASS')      AS passes
        FROM
        (
            SELECT
                candidate_id, benchmark, split, model, request_id,
                arraySort(arrayDistinct(arrayFilter((id, st) -> st = 'pass', test_id, test_status))) AS passed
            FROM behaviors FINAL
        )
        ALL INNER JOIN
        (
            SELECT candidate_id, label FROM verdicts FINAL
        ) USING candidate_id
        GROUP BY benchmark, split, model, request_id, passed
    )
    GROUP BY benchmark, split, model, request_id
)
GROUP BY benchmark, split, model
ORDER BY benchmark, split, model`

// Agreement returns, per benchmark, split and model, how often the top CodeT agreement cluster
// (candidates of a request passing the same generated tests, scored by size × tests passed)
// contains a candidate that passes the hidden tests.
func (s *Sink) Agreement(ctx context.Context) ([]AgreementRow, error) {
	rows, err := s.conn.Query(ctx, agreementSQL)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: agreement query: %w", err)
	}
	defer rows.Close()
	var out []AgreementRow
	for rows.Next() {
		var r AgreementRow
		if err := rows.Scan(&r.Benchmark, &r.Split, &r.Model, &r.Requests, &r.TopClusterPass, &r.AnyPass, &r.RandomPass); err != nil {
			return nil, fmt.Errorf("clickhouse: agreement row: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FormatAgreement writes agreement rows as an aligned text table.
func FormatAgreement(w io.Writer, rows []AgreementRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tsplit\tmodel\trequests\ttop_cluster_pass\tany_pass\trandom_pass")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Benchmark, r.Split, r.Model, r.Requests,
			pct(r.TopClusterPass), pct(r.AnyPass), pct(r.RandomPass))
	}
	tw.Flush()
}
