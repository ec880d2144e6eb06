#!/usr/bin/env bash
# Installs what codeverify needs on a fresh Debian bookworm machine (idempotent, as root):
# python3 for the sandbox, curl for health checks, chromium for the tests that render the HTML reports
# headless (`make test` requires it). ClickHouse is installed by clickhouse/start-local.sh.
set -euo pipefail
need=()
[ -x /usr/bin/python3 ] || need+=(python3)
command -v curl >/dev/null || need+=(curl)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || { echo "setup: Go 1.26 is required (/usr/local/go)" >&2; exit 1; }
# The verifier trainer (codeverify train, trainer/train.py) runs on Debian's torch 1.13 (CPU) and onnx,
# called as /usr/bin/python3: about 36 s to install on a fresh machine (measured), skipped when present.
if ! /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx
fi
# The deployment files' validators (deploy/deploy_test.go; each test skips without its tool):
# docker-compose 1.29 (`docker-compose config`; 0.5 MB download with --no-install-recommends),
# kubectl (`kubectl kustomize`; Debian's kubernetes-client 1.20, 8 MB, only when no kubectl is on PATH:
# the package would replace one installed otherwise) and promtool (`promtool check/test rules`,
# taken out of Debian's prometheus package, 19 MB download: installing that package instead would
# add 330 MB of web assets and a Prometheus server on :9090 started by its postinst).
# They are conveniences for the tests, not needs of codeverify: a failed install is reported and the
# tests that need the tool skip.
tools=()
command -v docker-compose >/dev/null || tools+=(docker-compose)
command -v kubectl >/dev/null || tools+=(kubernetes-client)
if ((${#tools[@]})); then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tools[@]}"; } ||
    echo "setup: could not install ${tools[*]}; the deploy tests that need them will skip" >&2
fi
if ! command -v promtool >/dev/null; then
  w="$(mktemp -d)" && chmod 0755 "$w" # apt's _apt user downloads into it
  { apt-get update -qq && (cd "$w" && apt-get download -qq prometheus && dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool) &&
    install -m 0755 "$w/usr/bin/promtool" /usr/local/bin/promtool; } ||
    echo "setup: could not extract promtool; the alert-rule tests will skip" >&2
  rm -rf "$w"
fi
# Debian's torch calls the system BLAS (libblas.so.3); without OpenBLAS that is the reference BLAS and
# training runs ~3× slower (measured here: 0.9 s vs 2.8 s per step of 48 × 256 tokens, d=64, 2 layers).
if [ ! -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] && [ "$(uname -m)" = x86_64 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread
fi
