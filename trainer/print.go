package trainer

import (
	"fmt"
	"io"

	"github.com/codeverify/codeverify/model"
)

// EventPrinter prints train.py's progress events on w, one line each (TrainConfig.OnEvent).
func EventPrinter(w io.Writer) func(Event) {
	return func(e Event) {
		f := e.Fields
		switch e.Name {
		case "start":
			fmt.Fprintf(w, "train.py: torch %v on %v (amp %v), %v parameters, %v train pairs, %v validation pairs\n", f["torch"], f["device"], f["amp"], f["params"], f["train_pairs"], f["val_pairs"])
		case "epoch":
			fmt.Fprintf(w, "  epoch %v: train loss %v, val loss %v, val pairwise acc %v (%vs)\n", f["epoch"], f["train_loss"], f["val_loss"], f["val_pair_accuracy"], f["epoch_seconds"])
		case "step":
			fmt.Fprintf(w, "    step %v: loss %v (%vs)\n", f["step"], f["loss"], f["seconds"])
		case "early_stop":
			fmt.Fprintf(w, "  early stop at epoch %v (best %v)\n", f["epoch"], f["best_epoch"])
		case "parity":
			fmt.Fprintf(w, "  onnx parity: max |Δ| %v (tolerance %v, %v)\n", f["max_abs_diff"], f["tolerance"], f["runtime"])
		case "linear":
			fmt.Fprintf(w, "  linear energy on standardised features: w %v, b %v (train mean %v, std %v)\n", f["weights"], f["bias"], f["mean"], f["std"])
		case "done":
			fmt.Fprintf(w, "  trained in %vs (best epoch %v)\n", f["train_seconds"], f["best_epoch"])
		}
	}
}

// WriteMetrics prints a fold's validation metrics on w.
func WriteMetrics(w io.Writer, m model.Metrics) {
	fmt.Fprintf(w, "validation (%d problems, %d candidates): pairwise acc %.4f, AUROC %.4f\n", m.ValProblems, m.ValExamples, m.PairwiseAccuracy, m.AUROC)
	fmt.Fprintf(w, "  all candidates: reranked pass@1 %.4f, random pass@1 %.4f, oracle %.4f\n", m.RerankedPass1, m.RandomPass1, m.OraclePass)
	fmt.Fprintf(w, "  %d random candidates: verifier pass@1 %.4f, oracle pass@%d %.4f\n", m.K, m.VerifierPass1AtK, m.K, m.OraclePassAtK)
}
