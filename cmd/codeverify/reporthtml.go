package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"

	reportpage "github.com/codeverify/codeverify/report"
	"github.com/codeverify/codeverify/sinks/clickhouse"
)

// writeReportHTML writes the charts of the verdicts f selects and of the newest stored evaluation
// to path as one HTML page; nothing when path is empty (report without --html).
func writeReportHTML(ctx context.Context, sink *clickhouse.Sink, f clickhouse.ReportFilter, path string) error {
	if path == "" {
		return nil
	}
	tallies, err := sink.ReportTallies(ctx, f)
	run, cands, err2 := sink.NewestEval(ctx)
	p := reportpage.Page{Title: "codeverify report", EvalVersion: run.ModelVersion, EvalScope: run.Scope}
	for _, t := range tallies {
		p.Tallies = append(p.Tallies, reportpage.Tally(t))
	}
	for _, c := range cands {
		p.Eval = append(p.Eval, reportpage.Candidate{ProblemID: c.ProblemID, CandidateID: c.CandidateID, Pass: c.Pass, Energy: c.Energy})
	}
	var b bytes.Buffer
	if err := errors.Join(err, err2, reportpage.Write(&b, p)); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// demoReport ends the demo with the report page beside the eval page, even after a failed stage.
func (a *app) demoReport(ctx context.Context, sink *clickhouse.Sink, err error) error {
	return errors.Join(err, writeReportHTML(ctx, sink, clickhouse.ReportFilter{}, filepath.Join(a.Config.VarDir, "report.html")))
}
