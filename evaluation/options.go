package evaluation

import (
	"fmt"
	"io"
	"os"

	"github.com/codeverify/codeverify/serving"
)

// Options are the eval command's: the model(s), the input, the draw and what to store.
type Options struct {
	Model       string          // the verifier: a version directory or a registry (its newest)
	EnergyModel string          // a code-only model scored beside Model (energy_pass@1)
	Runtime     serving.Runtime // ONNX Runtime settings of both models

	Problems, Samples string   // the input as label takes it, executed
	Tests             string   // a CodeT test-case file: dual execution, CodeT and behaviour features
	FromExport        string   // or an export file: its labels, nothing executed
	Splits            []string // evaluate only problems of these splits (empty: all)
	Holdout           bool     // only the model's validation fold

	N         int    // candidates drawn per problem
	Seed      uint64 // of the draw and the bootstrap
	Resamples int    // bootstrap resamples
	Backend   string // executor backend

	LookupClickHouse bool     // answer already-labelled candidates from ClickHouse's verdicts
	ClickHouse       bool     // store the scored candidates and compute the figures in SQL
	Pool             []string // eval ids whose stored per-problem figures are pooled (no evaluation)
	HTML             string   // write the HTML report to this file

	// Progress receives progress bars, warnings and what was written (nil: os.Stderr).
	Progress io.Writer
}

// validate refuses contradictory or missing inputs before anything is loaded.
func (o Options) validate() error {
	switch {
	case o.Model == "" || o.N < 1:
		return fmt.Errorf("eval: --model and --n ≥ 1 are required")
	case o.FromExport != "" && (o.Problems != "" || o.Samples != ""):
		return fmt.Errorf("eval: --from-export replaces --problems and --samples")
	case o.FromExport != "" && o.LookupClickHouse:
		return fmt.Errorf("eval: --lookup-clickhouse reuses execution labels; an export is labelled already")
	case o.FromExport == "" && (o.Problems == "" || o.Samples == ""):
		return fmt.Errorf("eval: --problems and --samples (or --from-export) are required")
	case o.Tests != "" && o.FromExport != "":
		return fmt.Errorf("eval: --tests executes the samples; an export is not executed")
	case o.Tests != "" && o.LookupClickHouse:
		return fmt.Errorf("eval: --tests needs each sample's behaviour on the generated tests, which stored verdicts do not have")
	}
	return nil
}

// progress is where progress and warnings go.
func (o Options) progress() io.Writer {
	if o.Progress == nil {
		return os.Stderr
	}
	return o.Progress
}
