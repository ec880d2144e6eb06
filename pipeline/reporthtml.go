package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"

	"github.com/codeverify/codeverify/report"
	"github.com/codeverify/codeverify/sinks/clickhouse"
)

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
