#!/usr/bin/env bash
# 5-fold cross-validation BY PROBLEM on the real CodeGen-16B HumanEval samples, every selection method
# side by side. Trains one verifier per validation fold (train --val-fold K) on the labeled topics
# (their behaviours give the features; an export file carries none), then evaluates each on exactly its held-out fold (eval --holdout: 16 drawn samples
# per held-out problem, each run in dual execution against its hidden tests and the model's generated
# tests, ONNX Runtime scores them, ClickHouse computes the figures), pools the folds (eval --pool: every
# problem judged by the model that held it out), and repeats the draw for several seeds, since one draw
# of 16 of 100 samples moves the figures by a few points. The methods share each draw: a random pick
# (baseline), CodeT's dual execution agreement, the code-only model (only with ENERGY_TRAIN_FLAGS) and
# the verifier. Prints the per-fold table of the first draw, the pooled figures per draw, and their
# mean ± sd. Needs ClickHouse up (make demo starts it and fills the topics, verdicts and behaviours).
#
# Usage: trainer/experiments/cv5.sh [OUT_DIR]       (after `make demo`)
# Env:   CV=codeverify binary, FOLDS="0 1 2 3 4", TRAIN_FLAGS (default: the production recipe of
#        make verifier: features-only linear energy, 20 draws of 16 per request, the request
#        objective; seconds per fold), DRAW_SEEDS="1 2 3 4 5",
#        SAMPLES, PROBLEMS, TESTS (CodeT generated test cases of the same problems),
#        ENERGY_TRAIN_FLAGS (train flags of a code-only model per fold, after TRAIN_FLAGS, evaluated as
#        energy_pass@1, e.g. '--no-features --no-text=false --objective pairs --draws 0 --lr 3e-4
#        --batch-size 16 --max-steps 200 --d-model 64 --layers 2 --heads 4 --ff 128 --max-len 256';
#        unset: none is trained)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CV=${CV:-$ROOT/bin/codeverify}
OUT=${1:-$ROOT/var/exp/cv5}
FOLDS=${FOLDS:-0 1 2 3 4}
DATA=${DATA:-../shared/data}
PROBLEMS=${PROBLEMS:-$DATA/samples/codet_humaneval_codegen16b/HumanEval_for_code_generation.jsonl}
SAMPLES=${SAMPLES:-$DATA/samples/codet_humaneval_codegen16b/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl}
TRAIN_FLAGS=${TRAIN_FLAGS:---draw-size 16 --draws 20 --no-text --feature-hidden 0 --objective request --l2 1e-4 --lr 0.01 --max-steps 600 --batch-size 0 --device cpu --threads 2}
GEN_MODEL=${GEN_MODEL:-codegen-mono-16b}
VAR=${VAR:-$ROOT/var}
TESTS=${TESTS:-$DATA/samples/codet_humaneval_codegen16b/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.dev100.jsonl}
DRAW_SEEDS=${DRAW_SEEDS:-1 2 3 4 5}
ENERGY_TRAIN_FLAGS=${ENERGY_TRAIN_FLAGS:-}
mkdir -p "$OUT"
for k in $FOLDS; do
	# Replays the topics (the embedded broker on VAR/kafka, started by train when none is up).
	if [[ ! -f $OUT/fold-$k.model ]]; then
		"$CV" train --var-dir "$VAR" --gen-model "$GEN_MODEL" --val-fold "$k" $TRAIN_FLAGS --models-dir "$OUT/models" \
			--no-clickhouse --no-announce --work-dir "$OUT/work-$k" 2>&1 | tee "$OUT/train-$k.log"
		tail -1 "$OUT/train-$k.log" > "$OUT/fold-$k.model"
	fi
	if [[ -n $ENERGY_TRAIN_FLAGS && ! -f $OUT/fold-$k.energy-model ]]; then
		"$CV" train --var-dir "$VAR" --gen-model "$GEN_MODEL" --val-fold "$k" $TRAIN_FLAGS $ENERGY_TRAIN_FLAGS --models-dir "$OUT/energy-models" \
			--no-clickhouse --no-announce --work-dir "$OUT/energy-work-$k" 2>&1 | tee "$OUT/energy-train-$k.log"
		tail -1 "$OUT/energy-train-$k.log" > "$OUT/fold-$k.energy-model"
	fi
done
all_ids=()
for s in $DRAW_SEEDS; do
	ids=()
	for k in $FOLDS; do
		energy=()
		[[ -z $ENERGY_TRAIN_FLAGS ]] || energy=(--energy-model "$(cat "$OUT/fold-$k.energy-model")")
		"$CV" eval --problems "$PROBLEMS" --samples "$SAMPLES" --tests "$TESTS" --model "$(cat "$OUT/fold-$k.model")" "${energy[@]}" \
			--n 16 --seed "$s" --holdout --clickhouse --html "$OUT/eval-$k-s$s.html" | tee "$OUT/eval-$k-s$s.txt"
		ids+=("$(sed -n 's/^eval_id: \([0-9a-f]*\) .*/\1/p' "$OUT/eval-$k-s$s.txt")")
	done
	(IFS=,; "$CV" eval --pool "${ids[*]}" --seed "$s") | tee "$OUT/pooled-s$s.txt"
	all_ids+=("${ids[@]}")
done
# Every fold of every draw in one bootstrap over problems (each problem averaged over its draws).
(IFS=,; "$CV" eval --pool "${all_ids[*]}" --seed 1) | tee "$OUT/pooled-all.txt"
python3 - "$OUT" "$FOLDS" "$DRAW_SEEDS" <<'PY'
import re, statistics, sys
out, folds, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
wanted = ["baseline_pass@1", "oracle_pass@16", "codet_pass@1", "energy_pass@1", "verifier_pass@1",
          "verifier_minus_baseline", "verifier_minus_codet"]
# The figures every output has (energy_pass@1 only when a code-only model ran).
first = open(f"{out}/pooled-s{seeds[0]}.txt").read()
names = [n for n in wanted if re.search("^" + re.escape(n) + ":", first, re.M)]
sep = "|---" * (len(names) + 1) + "|"
def figs(path):
    txt = open(path).read()
    return [re.search("^" + re.escape(n) + r": (\S+ \[\S+, \S+\])", txt, re.M).group(1) for n in names]
def sd(c):
    return statistics.stdev(c) if len(c) > 1 else 0.0
def table(title, key, items, path, over):
    """One row of figures per item (its output file is path(item)), then their mean ± sd."""
    print(f"\n{title}:\n| {key} | " + " | ".join(names) + " |\n" + sep)
    rows = []
    for i in items:
        v = figs(path(i))
        rows.append([float(x.split()[0]) for x in v])
        print(f"| {i} | " + " | ".join(v) + " |")
    print(f"| mean ± sd over {over} | " + " | ".join(f"{statistics.mean(c):.4f} ± {sd(c):.4f}" for c in zip(*rows)) + " |")
s0 = seeds[0]
table(f"per held-out fold, draw seed {s0}", "held-out fold", folds, lambda k: f"{out}/eval-{k}-s{s0}.txt", "folds")
table(f"pooled over the {len(folds)} folds, per draw seed", "draw seed", seeds, lambda s: f"{out}/pooled-s{s}.txt", "draws")
print("| **pooled over folds and draws** | " + " | ".join(figs(f"{out}/pooled-all.txt")) + " |")
PY
