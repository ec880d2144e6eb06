#!/usr/bin/env bash
# Runs ON the GPU host (H100/H200, torch venv at /opt/torch/.venv, no internet) from the repository
# root, with what deploy/gpu/prepare.sh built here carried over in .gpu/ (see deploy/gpu/README.md).
#   deploy/gpu/run.sh stage DIR   copy a carried folder (.gpu/cuda-part-a, …, .gpu/base) into $STAGE
#   deploy/gpu/run.sh run         reassemble, then: reranker bench (CUDA, then CPU, same call) and
#                                 timed GPU training on the dataset export; results under $OUT
# Env: STAGE (default /tmp/cv-gpu), OUT (the device tool's output folder; default $STAGE/out),
#      VENV (default /opt/torch/.venv), EPOCHS (10), K (40: FAILs per PASS; ~40k pairs on the
#      CodeGen-16B export), VAL_FOLD (0: which of the 5 problem folds is held out), SKIP_TRAIN=1,
#      SKIP_BENCH=1.
set -euo pipefail
STAGE=${STAGE:-/tmp/cv-gpu}
VENV=${VENV:-/opt/torch/.venv}
OUT=${OUT:-$STAGE/out}
EPOCHS=${EPOCHS:-10}
K=${K:-40}
VAL_FOLD=${VAL_FOLD:-0}

case ${1:-} in
stage)
  [[ -d ${2:-} ]] || { echo "run.sh stage: no folder ${2:-}" >&2; exit 1; }
  mkdir -p "$STAGE" && cp -v "$2"/* "$STAGE"/
  exit 0 ;;
run) ;;
*) echo "usage: $0 stage DIR | run" >&2; exit 2 ;;
esac

mkdir -p "$OUT" "$STAGE/ort" "$STAGE/bin" "$STAGE/lib"
exec > >(tee -a "$OUT/run.log") 2>&1
echo "== $(date -u +%FT%TZ) $(hostname)"
nvidia-smi -L || true
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

echo "== reassemble"
cd "$STAGE"
sha256sum -c SHA256SUMS
parts=(providers.tar.xz.part-*)
[[ -e ${parts[0]} ]] || { echo "no CUDA provider parts in $STAGE (stage .gpu/cuda-part-a, -b, -c first)" >&2; exit 1; }
cat "${parts[@]}" > providers.tar.xz
sha256sum -c providers.tar.xz.sha256
xz -dc providers.tar.xz | tar -C ort -xf -
(cd ort && sha256sum -c ../providers.sha256)
xz -dc libonnxruntime.so.1.29.0.xz > ort/libonnxruntime.so.1.29.0
xz -dc codeverify.xz > bin/codeverify && chmod +x bin/codeverify
xz -dc dataset.jsonl.xz > dataset.jsonl
CV=$STAGE/bin/codeverify
PY=$VENV/bin/python3

echo "== CUDA libraries from the torch venv"
SP=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
CU=$SP/nvidia/cu13/lib
CUDNN=$SP/nvidia/cudnn/lib
ls "$CU"/libcublasLt.so.13 "$CU"/libcublas.so.13 "$CU"/libcurand.so.10 "$CU"/libcudart.so.13 "$CUDNN"/libcudnn.so.9
ln -sf "$CUDNN/libcudnn.so.9" "$STAGE/lib/libcudnn.so" # ORT dlopens the unversioned name; the venv has none
export LD_LIBRARY_PATH=$STAGE/ort:$STAGE/lib:$CU:$CUDNN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CODEVERIFY_ORT_LIB=$STAGE/ort/libonnxruntime.so.1.29.0
export CODEVERIFY_VAR_DIR=$STAGE/var
"$PY" -c 'import torch, onnx; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-", "onnx", onnx.__version__)'

if [[ ${SKIP_BENCH:-} != 1 ]]; then
  echo "== bench reranker: CUDA, then the CPU baseline (same call, same model)"
  "$CV" bench reranker --provider cuda --torch-python "$PY" --iters 200 | tee "$OUT/bench-cuda.txt"
  "$CV" bench reranker --provider cpu --threads 8 --torch-python "$PY" --iters 50 | tee "$OUT/bench-cpu.txt"
fi

if [[ ${SKIP_TRAIN:-} != 1 ]]; then
  echo "== train: --device cuda --amp auto --epochs $EPOCHS, k=$K, on $(wc -l < dataset.jsonl) examples"
  t0=$(date +%s.%N)
  "$CV" train --from-export "$STAGE/dataset.jsonl" --k "$K" --train-python "$PY" --device cuda --amp auto --epochs "$EPOCHS" --val-fold "$VAL_FOLD" \
    --no-clickhouse --models-dir "$STAGE/models" --work-dir "$STAGE/train" 2>&1 | tee "$OUT/train.txt"
  t1=$(date +%s.%N)
  echo "train wall: $(echo "$t1 - $t0" | bc) s" | tee -a "$OUT/train.txt"
  v=$(ls "$STAGE/models" | sort | tail -1)
  mkdir -p "$OUT/model" && cp "$STAGE/models/$v/manifest.json" "$STAGE/models/$v/model.onnx" "$OUT/model/"
  echo "== scoring the trained model on CUDA"
  "$CV" bench reranker --model "$STAGE/models/$v" --provider cuda --iters 100 | tee "$OUT/bench-trained-cuda.txt"
fi
echo "== done $(date -u +%FT%TZ)"
