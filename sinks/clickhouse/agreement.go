package clickhouse

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
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

// agreementFile is the query with its header comment. docs/sql/codet_top_cluster.sql, where people
// read and run it by hand, is a link to this file, so there is one copy.
//
//go:embed sql/codet_top_cluster.sql
var agreementFile string

// Agreement returns, per benchmark, split and model, how often the top CodeT agreement cluster
// (candidates of a request passing the same generated tests, scored by size × tests passed)
// contains a candidate that passes the hidden tests.
func (s *Sink) Agreement(ctx context.Context) ([]AgreementRow, error) {
	q, err := singleStatement(agreementFile)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: agreement query: %w", err)
	}
	return queryRows(ctx, s.conn, "agreement query", q, nil, func(rows driver.Rows, r *AgreementRow) error {
		return rows.Scan(&r.Benchmark, &r.Split, &r.Model, &r.Requests, &r.TopClusterPass, &r.AnyPass, &r.RandomPass)
	})
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
