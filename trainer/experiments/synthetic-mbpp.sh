#!/usr/bin/env bash
# Synthetic MBPP at scale (figures reported separately and labeled SYNTHETIC): the synthetic
# mutation source on MBPP train (374 problems × 100) and test (500 × 16) through a broker of its own,
# labeled by the executor processor, exported, a verifier trained on train, evaluated on test.
#
# Usage: trainer/experiments/synthetic-mbpp.sh [OUT_DIR]
# Env:   CV=codeverify binary, PORT (embedded broker, default 9192), TRAIN_FLAGS, DRAW_SEED
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CV=${CV:-$ROOT/bin/codeverify}
OUT=${1:-$ROOT/var/exp/synthetic-mbpp}
PORT=${PORT:-9192}
DATA=${DATA:-../shared/data}
TRAIN_FLAGS=${TRAIN_FLAGS:---d-model 64 --layers 2 --heads 4 --ff 128 --max-len 256 --batch-size 16 --max-steps 200}
DRAW_SEED=${DRAW_SEED:-1}
B=(--brokers "127.0.0.1:$PORT" --var-dir "$OUT/var")
mkdir -p "$OUT/var"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

"$CV" broker --var-dir "$OUT/var" --embedded-port "$PORT" >"$OUT/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do "$CV" topics "${B[@]}" >/dev/null 2>&1 && break; sleep 0.2; done
"$CV" synthesize "${B[@]}" --problems "$DATA/mbpp/mbpp.jsonl" --split train --n 100 --run synth-train
"$CV" synthesize "${B[@]}" --problems "$DATA/mbpp/mbpp.jsonl" --split test --n 16 --run synth-test
"$CV" execute "${B[@]}" >"$OUT/execute.log" 2>&1 &
pids+=($!)
# The executor is done when the replay finds every candidate labeled.
while :; do
	# (export fails with "no labeled candidates" until the first verdicts are in)
	left=$({ "$CV" export "${B[@]}" --out /dev/null 2>&1 || true; } | sed -n 's/.*candidates without verdict \([0-9]*\).*/\1/p')
	echo "synthetic-mbpp: candidates without verdict: ${left:-?}"
	[[ ${left:-1} == 0 ]] && break
	sleep 10
done
"$CV" export "${B[@]}" --split train --out "$OUT/train.jsonl"
"$CV" export "${B[@]}" --split test --out "$OUT/test.jsonl"
if [[ ! -f $OUT/model ]]; then
	"$CV" train --from-export "$OUT/train.jsonl" $TRAIN_FLAGS --models-dir "$OUT/models" --no-clickhouse \
		--work-dir "$OUT/work" 2>&1 | tee "$OUT/train.log"
	ls -td "$OUT"/models/*/ | head -1 > "$OUT/model"
fi
"$CV" eval --from-export "$OUT/test.jsonl" --split test --model "$(cat "$OUT/model")" --n 16 --seed "$DRAW_SEED" --clickhouse \
	--html "$OUT/report.html" | tee "$OUT/eval.txt"
