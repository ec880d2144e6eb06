package main

import (
	"os"

	"github.com/codeverify/codeverify/evaluation"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/spf13/cobra"
)

func (a *app) evalCmd() *cobra.Command {
	var o evaluation.Options
	var sf scorerFlags
	cmd := command("eval (--problems P --samples S [--tests T] | --from-export FILE) --model DIR [--energy-model DIR] --n 16 --seed N",
		"Offline Stage 4: label every sample, run the selection methods side by side, print their pass rates",
		`Labels every sample with the sandboxed executor (as codeverify label), draws --n candidates per
problem (problems with fewer are skipped) from --seed, lets every selection method choose among the
same drawn candidates, and prints, one "name: value [low, high]" per line with 95% bootstrap
intervals over problems (one resampling shared by all figures, so differences are paired):
baseline_pass@1 (a uniformly random candidate), oracle_pass@N (any candidate passes),
codet_pass@1 (with --tests: a random candidate of CodeT's best dual-agreement groups, as CodeT
reports it), energy_pass@1 (with --energy-model: the code-only model's min-energy candidate),
verifier_pass@1 (the --model's min-energy candidate, reading the behaviour features when the model
takes them; ties to the smaller candidate id), verifier_minus_baseline and, with --tests,
verifier_minus_codet.

--tests FILE is a CodeT test-case file for the same problems (CodeT's extraction of the generated
asserts); every drawn sample then runs in dual execution: its hidden tests label it, the generated
asserts give its behaviour, from which CodeT and the verifier's features are computed.

Inputs: --problems and --samples as codeverify label; --lookup-clickhouse answers candidates whose
exact program is already labelled in ClickHouse from there instead of executing them. Or
--from-export FILE, a codeverify export file: its problems, code and labels are used as they are
(nothing executes) and a record with "copies": k counts k times, so the draw samples the
generator's real multiset. --split keeps only problems of these splits (either input).

--holdout keeps only the model's validation fold, recomputed from its manifest over the problems of
the input the trainer would have dealt (for an export: those matching the manifest's split,
benchmark and generating-model filters).

--clickhouse writes every scored candidate to the eval_candidates table under an eval id derived
from the model version, the input's content, the scope, --n and --seed (a rerun replaces its rows),
computes the per-problem figures and their means in SQL (checked against the in-process ones), prints
those, and then a table of every evaluation of the same input stored there, one row per model
version and scope, so versions compare side by side. Both ClickHouse flags use --clickhouse-addr and
--clickhouse-db; without them eval writes nothing and needs no server.

--html FILE writes a self-contained report: the table, the energy distributions of PASS and FAIL
candidates, and per-problem pass rates with the verifier's pick.

--pool ID,ID,... evaluates nothing: it reads those stored evaluations' per-problem figures from
ClickHouse (as --clickhouse printed their eval ids) and prints the figures of the methods every one
of them ran over all their problems with one bootstrap. For a cross-validation (train --val-fold K,
eval --holdout --clickhouse per fold) this is the pooled estimate: every problem judged by the model that never trained on it.
The evaluations share --n; they may be several draws (seeds) of the same folds: then each problem's
figures are averaged over its draws and the bootstrap resamples problems, so the interval is paired
over problems and uses every draw. Every problem must be in the same number of evaluations.`,
		func(cmd *cobra.Command) error {
			o.Model, o.Runtime = sf.model, sf.Runtime
			return evaluation.Run(cmd.Context(), a.Env, o, os.Stdout)
		})
	f := cmd.Flags()
	sf.add(f)
	inputFiles{&o.Problems, &o.Samples, &o.Tests}.bind(f, "problems file (as codeverify label)", "samples file (as codeverify label)",
		"CodeT test-case `FILE` (generated tests of the same problems): dual execution, CodeT and behaviour features")
	f.StringVar(&o.EnergyModel, "energy-model", "", "a code-only model `DIR` evaluated beside --model (energy_pass@1)")
	f.StringVar(&o.FromExport, "from-export", "", "a `FILE` written by codeverify export: problems, code and labels, nothing executed (instead of --problems/--samples)")
	f.StringSliceVar(&o.Splits, "split", nil, "evaluate only problems of these splits (default: all)")
	f.IntVar(&o.N, "n", 16, "candidates drawn per problem")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the draw and the bootstrap")
	f.IntVar(&o.Resamples, "bootstrap", 2000, "bootstrap resamples")
	limits(f, map[string][2]string{"n": {"1", "10000"}, "seed": {"0", "18446744073709551615"}, "bootstrap": {"1", "1000000"}})
	f.StringVar(&o.Backend, "backend", "zygote", "executor backend: zygote or simple")
	f.BoolVar(&o.Holdout, "holdout", false, "evaluate only the problems of the model's validation fold (problems it was not trained on), recomputed from its manifest")
	f.BoolVar(&o.LookupClickHouse, "lookup-clickhouse", false, "answer candidates already labelled in ClickHouse from there (not with --from-export)")
	f.BoolVar(&o.ClickHouse, "clickhouse", false, "write the scored candidates to ClickHouse, compute the figures in SQL and print every stored evaluation of this input")
	f.StringVar(&o.HTML, "html", "", "write an HTML report (table and plots) to this file")
	f.StringSliceVar(&o.Pool, "pool", nil, "pool these stored evaluation ids (the folds of a cross-validation, over one or more draws) instead of evaluating")
	return cmd
}

func (a *app) labelCmd() *cobra.Command {
	var o evaluation.LabelOptions
	cmd := command("label --problems FILE --samples FILE --out FILE", "Label a sample file with the sandboxed executor, without a cluster",
		`Runs every sample against its problem's tests and writes one JSON line per sample
(task_id, sample_index, label, failure_kind, runtime_ms, ...) to --out, then prints pass@k.

--problems: MBPP mbpp.jsonl, sanitized-mbpp.json or a HumanEval-style .jsonl.
--samples:  {"task_id", "completion"|"solution"} per line (human-eval / EvalPlus), or the CodeT
            format {"prompt", "samples": [...]} (programs cut at CodeT's stop sequences unless
            --no-truncate).
Exit status 0 when every sample got a verdict.`,
		func(cmd *cobra.Command) error { return evaluation.Label(cmd.Context(), a.Env, o, os.Stdout, os.Stderr) })
	f := cmd.Flags()
	inputFiles{problems: &o.Problems, samples: &o.Samples}.bind(f, "problems file", "samples file", "")
	f.StringVar(&o.Out, "out", "", "output JSONL")
	genModelFlag(f, &o.Model, "unknown", "name of the model that generated the samples, recorded with each")
	f.BoolVar(&o.NoTruncate, "no-truncate", false, "do not cut CodeT completions at stop sequences")
	f.StringVar(&o.Backend, "backend", executor.BackendZygote, "executor backend: zygote (fast, hardened) or simple (a fresh python3 per candidate)")
	f.BoolVar(&o.Calibrate, "calibrate", true, "per-problem timeouts from the reference solutions (else the configured timeout)")
	f.BoolVar(&o.LookupClickHouse, "lookup-clickhouse", false, "answer candidates already labelled in ClickHouse from there")
	return cmd
}
