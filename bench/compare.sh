#!/usr/bin/env bash
# Before/after benchmarks on one machine: the `make bench` benchmarks of BASE (a git revision) and of
# the working tree, run alternately ROUNDS times (the order swapped every round, so drift favours
# neither), then the median ns/op of each and after/before. Usage: bench/compare.sh BASE [ROUNDS]
set -euo pipefail
base=${1:?usage: bench/compare.sh BASE [ROUNDS]}
rounds=${2:-6}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/before" "$base" >/dev/null
pkgs=(processors/executor sinks/clickhouse streams)
declare -A dir=([before]="$work/before" [after]="$root")
for side in before after; do
  for p in "${pkgs[@]}"; do
    (cd "${dir[$side]}" && go test -c -o "$work/$side-$(basename "$p").test" "./$p")
  done
done
export CODEVERIFY_DATA_DIR=${CODEVERIFY_DATA_DIR:-$root/../shared/data}
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then order="after before"; else order="before after"; fi
  for side in $order; do
    for p in "${pkgs[@]}"; do
      (cd "${dir[$side]}/$p" && "$work/$side-$(basename "$p").test" -test.run '^$' -test.bench . -test.benchtime 2s -test.benchmem 2>/dev/null |
        grep -E '^Benchmark' | sed "s/^/$side /") || true
    done
  done
done | tee "$work/all.log" >/dev/null
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs; $base vs working tree, $rounds rounds"
awk '{ns[$2" "$1] = ns[$2" "$1] " " $4} END { for (k in ns) print k, ns[k] }' "$work/all.log" | sort | awk '
  function median(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { name = $1; side = $2; $1 = $2 = ""; m[name, side] = median($0); names[name] = 1 }
  END { for (n in names) if ((n, "before") in m && (n, "after") in m)
    printf "%-50s before %14.0f ns/op  after %14.0f ns/op  after/before %.3f\n", n, m[n, "before"], m[n, "after"], m[n, "after"] / m[n, "before"] }' | sort
