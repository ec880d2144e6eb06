package clickhouse

import (
	"context"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ReportFilter narrows a report; an empty field matches everything.
type ReportFilter struct {
	Benchmark string
	Split     string
	Model     string
}

// ReportRow summarises one (benchmark, split, model). PassAtK fields are the mean of the unbiased
// estimator over the problems with at least k samples, and NaN when there are none.
type ReportRow struct {
	Benchmark, Split, Model      string
	Problems, Candidates, Passed uint64
	PassRate                     float64 // Passed / Candidates
	PassAt1, PassAt10, PassAt100 float64
	ZeroPassProblems             uint64 // problems with no passing candidate
}

// reportSQL: the inner query collapses redeliveries (FINAL) and gives each problem its sample
// count n and pass count c; the outer one averages pass@k per group. avgIf over no rows is NaN,
// which is what an undefined pass@k should read as. %s is the WHERE clause.
var reportSQL = `SELECT
    benchmark, split, model,
    count()                   AS problems,
    sum(n)                    AS candidates,
    sum(c)                    AS passed,
    sum(c) / sum(n)           AS pass_rate,
    avgIf(` + passAtKSQL(1) + `, n >= 1)     AS pass_at_1,
    avgIf(` + passAtKSQL(10) + `, n >= 10)   AS pass_at_10,
    avgIf(` + passAtKSQL(100) + `, n >= 100) AS pass_at_100,
    countIf(c = 0)            AS zero_pass_problems
FROM
(
    SELECT benchmark, split, model, problem_id, count() AS n, countIf(label = 'PASS') AS c
    FROM verdicts FINAL
    %s
    GROUP BY benchmark, split, model, problem_id
)
GROUP BY benchmark, split, model
ORDER BY benchmark, split, model`

// Report computes pass rates and pass@1/10/100 per (benchmark, split, model) in the server.
func (s *Sink) Report(ctx context.Context, f ReportFilter) ([]ReportRow, error) {
	where, args := f.where()
	return queryRows(ctx, s.conn, "report", fmt.Sprintf(reportSQL, where), args, func(rows driver.Rows, r *ReportRow) error {
		return rows.Scan(&r.Benchmark, &r.Split, &r.Model, &r.Problems, &r.Candidates, &r.Passed,
			&r.PassRate, &r.PassAt1, &r.PassAt10, &r.PassAt100, &r.ZeroPassProblems)
	})
}

// FormatReport writes rows as an aligned text table; an undefined pass@k prints as "-".
func FormatReport(w io.Writer, rows []ReportRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tsplit\tmodel\tproblems\tcandidates\tpassed\tpass_rate\tpass@1\tpass@10\tpass@100\tzero_pass")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\n",
			r.Benchmark, r.Split, r.Model, r.Problems, r.Candidates, r.Passed,
			pct(r.PassRate), pct(r.PassAt1), pct(r.PassAt10), pct(r.PassAt100), r.ZeroPassProblems)
	}
	tw.Flush()
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*x)
}
