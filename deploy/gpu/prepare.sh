#!/usr/bin/env bash
# Prepares, on the build machine (Debian, x86-64, with the repository's var/ set up by make demo),
# everything deploy/gpu/run.sh needs on a GPU host that has no internet, no Go and no ClickHouse.
# Output: the ignored folder .gpu/ at the repository root, one sub-folder per device-tool carry
# (each ≤ 64 MiB):
#   .gpu/cuda-part-a, -b, -c  the CUDA provider libraries of ORT 1.29.0 for CUDA 13 (npm
#                             com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9), tar | xz -6 | split -b 55M
#   .gpu/base                 codeverify (CGO, x86-64, xz), the ORT 1.29.0 core library (xz) from
#                             var/ort, a labeled dataset export (xz), SHA256SUMS
# Usage: deploy/gpu/prepare.sh [--no-fetch]   (--no-fetch: everything but the 230 MB npm download)
# Env: DATA_EXPORT=file.jsonl uses that export instead of exporting the demo's codegen-mono-16b labels.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export PATH=/usr/local/go/bin:$PATH
PKG=com.github.asus4.onnxruntime.linux-x64-gpu
VER=0.4.9
ORT_CORE=${ORT_CORE:-$ROOT/var/ort/libonnxruntime.so.1.29.0}
GPU=$ROOT/.gpu
FETCH=1
[[ ${1:-} == --no-fetch ]] && FETCH=0
LIMIT=$((64 * 1024 * 1024))

git check-ignore -q .gpu/x || { echo "prepare: .gpu/ is not git-ignored; refusing to write build outputs into the tree" >&2; exit 1; }
[[ $(uname -m) == x86_64 ]] || { echo "prepare: build on x86-64 (the GPU host is x86-64)" >&2; exit 1; }
[[ -f $ORT_CORE ]] || { echo "prepare: no ORT core library at $ORT_CORE (run make ort)" >&2; exit 1; }
mkdir -p "$GPU/base" "$GPU/work"

echo "== codeverify (CGO, linux/amd64)"
CGO_ENABLED=1 GOOS=linux GOARCH=amd64 go build -trimpath -o "$GPU/work/codeverify" ./cmd/codeverify
echo "   needs glibc $(objdump -T "$GPU/work/codeverify" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1 || echo '?')"
xz -6 -T2 -c "$GPU/work/codeverify" > "$GPU/base/codeverify.xz"

echo "== ORT core library ($ORT_CORE)"
xz -6 -T2 -c "$ORT_CORE" > "$GPU/base/libonnxruntime.so.1.29.0.xz"

echo "== labeled dataset export"
if [[ -n ${DATA_EXPORT:-} ]]; then
  cp "$DATA_EXPORT" "$GPU/work/dataset.jsonl"
else
  # The demo's labels (10,000 real CodeGen-16B HumanEval samples) replayed from the embedded broker.
  CODEVERIFY_VAR_DIR=$ROOT/var "$GPU/work/codeverify" export --gen-model codegen-mono-16b --out "$GPU/work/dataset.jsonl"
fi
xz -6 -T2 -c "$GPU/work/dataset.jsonl" > "$GPU/base/dataset.jsonl.xz"

if [[ $FETCH == 1 ]]; then
  echo "== npm pack $PKG@$VER (~230 MB)"
  npm view "$PKG@$VER" version >/dev/null || { echo "prepare: $PKG@$VER is not in the npm registry" >&2; exit 1; }
  tgz=$GPU/work/$PKG-$VER.tgz
  [[ -f $tgz ]] || (cd "$GPU/work" && npm pack "$PKG@$VER" --silent >/dev/null)
  rm -rf "$GPU/work/pkg" && mkdir -p "$GPU/work/pkg" "$GPU/work/providers"
  for lib in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
    member=$(tar -tzf "$tgz" | grep -E "(^|/)$lib\$" | grep -i linux | head -1 || true)
    [[ -n $member ]] || member=$(tar -tzf "$tgz" | grep -E "(^|/)$lib\$" | head -1 || true)
    [[ -n $member ]] || { echo "prepare: $lib not found in $tgz" >&2; exit 1; }
    tar -xzf "$tgz" -C "$GPU/work/pkg" "$member"
    cp "$GPU/work/pkg/$member" "$GPU/work/providers/$lib"   # whole: stripping kernels breaks it
  done
  (cd "$GPU/work/providers" && sha256sum libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so) > "$GPU/work/providers.sha256"
  tar -C "$GPU/work/providers" -cf - libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so | xz -6 -T2 > "$GPU/work/providers.tar.xz"
  rm -rf "$GPU"/cuda-part-* "$GPU/work/split" && mkdir -p "$GPU/work/split"
  split -b 55M -a 1 "$GPU/work/providers.tar.xz" "$GPU/work/split/providers.tar.xz.part-"
  for p in "$GPU"/work/split/providers.tar.xz.part-*; do
    s=${p##*-}
    mkdir -p "$GPU/cuda-part-$s" && mv "$p" "$GPU/cuda-part-$s/"
  done
  cp "$GPU/work/providers.sha256" "$GPU/base/"
  (cd "$GPU/work" && sha256sum providers.tar.xz) > "$GPU/base/providers.tar.xz.sha256"
else
  echo "== --no-fetch: CUDA provider parts not (re)built"
fi

(cd "$GPU/base" && sha256sum codeverify.xz libonnxruntime.so.1.29.0.xz dataset.jsonl.xz > SHA256SUMS)
echo "== carries (device-tool limit 64 MiB each)"
for d in "$GPU"/base "$GPU"/cuda-part-*; do
  [[ -d $d ]] || continue
  n=$(du -sb "$d" | cut -f1)
  flag=ok; (( n > LIMIT )) && flag="TOO BIG"
  printf '   %-28s %6.1f MiB  %s\n' "${d#$ROOT/}" "$(echo "$n / 1048576" | bc -l)" "$flag"
done
echo "dataset: $(wc -l < "$GPU/work/dataset.jsonl") examples"
