package evaluation

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/codeverify/codeverify/processors/reranker"
)

// writeFigures prints one "name: value [low, high]" line per figure; CodeT's only with generated
// tests, the code-only model's only when one ran.
func writeFigures(w io.Writer, res reranker.EvalResult, n int, withTests, withEnergy bool) {
	fmt.Fprintf(w, "baseline_pass@1: %s\n", res.Baseline)
	fmt.Fprintf(w, "oracle_pass@%d: %s\n", n, res.Oracle)
	if withTests {
		fmt.Fprintf(w, "codet_pass@1: %s\n", res.CodeT)
	}
	if withEnergy {
		fmt.Fprintf(w, "energy_pass@1: %s\n", res.Energy)
	}
	fmt.Fprintf(w, "verifier_pass@1: %s\n", res.Verifier)
	fmt.Fprintf(w, "verifier_minus_baseline: %s\n", res.Gain)
	if withTests {
		fmt.Fprintf(w, "verifier_minus_codet: %s\n", res.VerifierMinusCodeT)
	}
}

// reportRow is one evaluation's row of the side-by-side table and the HTML report.
func reportRow(version, evalID, scope string, n, problems, cands int, res reranker.EvalResult, withTests, withEnergy bool) reranker.ReportRow {
	return reranker.ReportRow{ModelVersion: version, EvalID: evalID, Scope: scope, N: n, Problems: problems, Candidates: cands,
		Baseline: res.Baseline, Oracle: res.Oracle, Verifier: res.Verifier, Gain: res.Gain,
		CodeT: res.CodeT, Energy: res.Energy, VerifierMinusCodeT: res.VerifierMinusCodeT, HasCodeT: withTests, HasEnergy: withEnergy}
}

// writeEvalTable prints the stored evaluations side by side, one row per model version and scope.
func writeEvalTable(w io.Writer, rows []reranker.ReportRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model_version\tscope\tn\tproblems\tcandidates\tbaseline_pass@1\toracle_pass@n\tcodet_pass@1\tenergy_pass@1\tverifier_pass@1\tverifier_minus_baseline\tverifier_minus_codet\teval_id")
	for _, r := range rows {
		codet, energy, minusCodeT := "-", "-", "-"
		if r.HasCodeT {
			codet, minusCodeT = r.CodeT.String(), r.VerifierMinusCodeT.String()
		}
		if r.HasEnergy {
			energy = r.Energy.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ModelVersion, r.Scope, r.N, r.Problems, r.Candidates,
			r.Baseline, r.Oracle, codet, energy, r.Verifier, r.Gain, minusCodeT, r.EvalID)
	}
	return tw.Flush()
}

// writeHTML writes the report page to path and says so on log.
func writeHTML(path string, r reranker.Report, log io.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := reranker.WriteHTML(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s\n", path)
	return nil
}
