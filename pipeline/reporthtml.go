package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/report"
	"github.com/codeverify/codeverify/sinks/clickhouse"
)

// Report prints the pass rates and unbiased pass@k of the verdicts f selects on w, computed in
// ClickHouse, and with htmlPath also writes the report page there.
func Report(ctx context.Context, env *config.Env, f clickhouse.ReportFilter, htmlPath string, w io.Writer) error {
	sink, err := env.OpenClickHouseReadOnly(ctx)
	if err != nil {
		return err
	}
	defer sink.Close()
	rows, err := sink.Report(ctx, f)
	if err != nil {
		return err
	}
	clickhouse.FormatReport(w, rows)
	if htmlPath == "" {
		return nil
	}
	return WriteReportHTML(ctx, sink, f, htmlPath)
}

// WriteReportHTML writes the charts of the verdicts f selects and of the newest stored evaluation to
// path as one self-contained HTML page.
func WriteReportHTML(ctx context.Context, sink *clickhouse.Sink, f clickhouse.ReportFilter, path string) error {
	tallies, err := sink.ReportTallies(ctx, f)
	run, cands, err2 := sink.NewestEval(ctx)
	p := report.Page{Title: "codeverify report", EvalVersion: run.ModelVersion, EvalScope: run.Scope}
	for _, t := range tallies {
		p.Tallies = append(p.Tallies, report.Tally(t))
	}
	for _, c := range cands {
		p.Eval = append(p.Eval, report.Candidate{ProblemID: c.ProblemID, CandidateID: c.CandidateID, Pass: c.Pass, Energy: c.Energy})
	}
	var b bytes.Buffer
	if err := errors.Join(err, err2, report.Write(&b, p)); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
