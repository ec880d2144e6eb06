#!/usr/bin/env bash
# 5-fold cross-validation BY PROBLEM on the real CodeGen-16B HumanEval labels (issue 5/6 figures).
# Trains one verifier per validation fold (train --val-fold K) from an export of the labeled topics,
# then evaluates each on exactly its held-out fold (eval --holdout: 16 drawn samples per held-out
# problem, labels reused from ClickHouse or executed, ONNX Runtime scores them, ClickHouse computes the
# figures) and prints the per-fold table, mean ± sd over folds, and the pooled figures (eval --pool).
# Needs ClickHouse up (make demo starts it and fills the topics and verdicts).
#
# Usage: trainer/experiments/cv5.sh [OUT_DIR]       (after `make demo`, which fills the topics)
# Env:   CV=codeverify binary, FOLDS="0 1 2 3 4", TRAIN_FLAGS (model size/steps), DRAW_SEED, SAMPLES, PROBLEMS
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CV=${CV:-$ROOT/bin/codeverify}
OUT=${1:-$ROOT/var/exp/cv5}
FOLDS=${FOLDS:-0 1 2 3 4}
DATA=${DATA:-../shared/data}
PROBLEMS=${PROBLEMS:-$DATA/samples/codet_humaneval_codegen16b/HumanEval_for_code_generation.jsonl}
SAMPLES=${SAMPLES:-$DATA/samples/codet_humaneval_codegen16b/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl}
TRAIN_FLAGS=${TRAIN_FLAGS:---d-model 64 --layers 2 --heads 4 --ff 128 --max-len 256 --batch-size 16 --max-steps 200}
DRAW_SEED=${DRAW_SEED:-1}
mkdir -p "$OUT"
[[ -f $OUT/export.jsonl ]] || "$CV" export --gen-model codegen-mono-16b --out "$OUT/export.jsonl"
for k in $FOLDS; do
	if [[ ! -f $OUT/fold-$k.model ]]; then
		"$CV" train --from-export "$OUT/export.jsonl" --val-fold "$k" $TRAIN_FLAGS --models-dir "$OUT/models" \
			--no-clickhouse --work-dir "$OUT/work-$k" 2>&1 | tee "$OUT/train-$k.log"
		ls -td "$OUT"/models/*/ | head -1 > "$OUT/fold-$k.model"
	fi
	"$CV" eval --problems "$PROBLEMS" --samples "$SAMPLES" --model "$(cat "$OUT/fold-$k.model")" \
		--n 16 --seed "$DRAW_SEED" --holdout --lookup-clickhouse --clickhouse --html "$OUT/eval-$k.html" | tee "$OUT/eval-$k.txt"
done
# Pooled: every problem judged by the model that held it out, one bootstrap over all of them (SQL rows).
ids=$(for k in $FOLDS; do sed -n 's/^eval_id: \([0-9a-f]*\) .*/\1/p' "$OUT/eval-$k.txt"; done | paste -sd,)
"$CV" eval --pool "$ids" | tee "$OUT/pooled.txt"
python3 - "$OUT" $FOLDS <<'PY'
import re, statistics, sys
out, folds = sys.argv[1], sys.argv[2:]
names = ["baseline_pass@1", "oracle_pass@16", "verifier_pass@1"]
rows = []
print("| held-out fold | " + " | ".join(names) + " |\n|---|---|---|---|")
for k in folds:
    txt = open(f"{out}/eval-{k}.txt").read()
    vals = [re.search(re.escape(n) + r": (\S+ \[\S+, \S+\])", txt).group(1) for n in names]
    rows.append([float(v.split()[0]) for v in vals])
    print(f"| {k} | " + " | ".join(vals) + " |")
cols = list(zip(*rows))
print("| mean ± sd | " + " | ".join(f"{statistics.mean(c):.4f} ± {statistics.stdev(c) if len(c) > 1 else 0:.4f}" for c in cols) + " |")
PY
