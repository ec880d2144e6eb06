#!/usr/bin/env bash
# Installs the ONNX Runtime 1.29.0 CPU shared library that serving/ loads through onnxruntime_go
# (v1.27.0 needs ORT ≥ 1.24; Debian ships none, and the Go module carries no linux library).
#
# Source: npm onnxruntime-node@1.29.0, fetched with `npm pack` and unpacked with tar: a plain
# `npm install` runs its postinstall, which downloads a CUDA build from outside and fails here.
# The library's sha256 is pinned below; a mismatch deletes the download and fails.
#
# Usage: deploy/ort/setup-ort.sh [--cuda] [DEST]   (DEST, else $CODEVERIFY_ORT_LIB, else ./var/ort/libonnxruntime.so.1.29.0)
# --cuda also installs, next to DEST, the CUDA 13 execution provider of ORT 1.29.0
# (libonnxruntime_providers_cuda.so + _shared.so from npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9,
# ~180 MB download, sha256-pinned; the core library stays onnxruntime-node's: the GPU package's own core
# has no CUDA provider). A GPU host needs CUDA 13 + cuDNN 9 on LD_LIBRARY_PATH (docs: deploy/gpu/README.md).
# Idempotent: an installed library with the pinned hash is left alone. Prints the path on stdout.
set -euo pipefail

CUDA=0
if [[ ${1:-} == --cuda ]]; then
	CUDA=1
	shift
fi
CUDA_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
declare -A CUDA_SHA256=(
	[libonnxruntime_providers_cuda.so]=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037
	[libonnxruntime_providers_shared.so]=c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772
)

ORT_VERSION=1.29.0
ORT_SHA256=89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d # bin/napi-v6/linux/x64/libonnxruntime.so.1
MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${1:-${CODEVERIFY_ORT_LIB:-$repo/var/ort/libonnxruntime.so.$ORT_VERSION}}"

say() { echo "setup-ort: $*" >&2; }

have_ok() { [[ -f "$dest" ]] && [[ "$(sha256sum "$dest" | cut -d' ' -f1)" == "$ORT_SHA256" ]]; }

# install_cuda puts the pinned CUDA provider libraries next to the core library (ORT looks there).
install_cuda() {
	local dir lib ok=1 w got
	dir="$(dirname "$dest")"
	for lib in "${!CUDA_SHA256[@]}"; do
		[[ -f $dir/$lib && "$(sha256sum "$dir/$lib" | cut -d' ' -f1)" == "${CUDA_SHA256[$lib]}" ]] || ok=0
	done
	if [[ $ok == 1 ]]; then
		say "CUDA execution provider already in $dir"
		return 0
	fi
	command -v npm >/dev/null || { say "npm is needed to fetch $CUDA_PKG: apt-get install npm"; return 1; }
	w="$(mktemp -d)"
	say "fetching $CUDA_PKG (~180 MB, npm pack, no install scripts)"
	(cd "$w" && npm pack --silent --ignore-scripts "$CUDA_PKG" >/dev/null) || { rm -rf "$w"; say "npm pack $CUDA_PKG failed"; return 1; }
	for lib in "${!CUDA_SHA256[@]}"; do
		tar -xzf "$w"/*.tgz -C "$w" "package/Plugins/Linux/x64/$lib"
		got="$(sha256sum "$w/package/Plugins/Linux/x64/$lib" | cut -d' ' -f1)"
		if [[ $got != "${CUDA_SHA256[$lib]}" ]]; then
			rm -rf "$w"
			say "sha256 mismatch for $lib: got $got, want ${CUDA_SHA256[$lib]}"
			return 1
		fi
		install -m 0755 "$w/package/Plugins/Linux/x64/$lib" "$dir/$lib.tmp.$$"
		mv -f "$dir/$lib.tmp.$$" "$dir/$lib"
	done
	rm -rf "$w"
	say "installed the CUDA execution provider in $dir (the reranker tries it first, CPU otherwise)"
}

if have_ok; then
	say "ONNX Runtime $ORT_VERSION already at $dest"
	[[ $CUDA == 0 ]] || install_cuda
	echo "$dest"
	exit 0
fi

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*)
	say "only linux x86_64 is packaged here (this is $(uname -s)/$(uname -m)); set CODEVERIFY_ORT_LIB to an ONNX Runtime ≥ 1.24 library"
	exit 1
	;;
esac

if ! command -v npm >/dev/null; then
	if command -v apt-get >/dev/null && [[ $EUID -eq 0 ]]; then
		say "installing npm (apt)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >&2
	else
		say "npm is needed to fetch onnxruntime-node@$ORT_VERSION: apt-get install npm"
		exit 1
	fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say "fetching onnxruntime-node@$ORT_VERSION (npm pack, no install scripts)"
(cd "$work" && npm pack --silent --ignore-scripts "onnxruntime-node@$ORT_VERSION" >/dev/null)
tgz="$work/onnxruntime-node-$ORT_VERSION.tgz"
[[ -f "$tgz" ]] || { say "npm pack produced no $tgz"; exit 1; }
tar -xzf "$tgz" -C "$work" "$MEMBER"

got="$(sha256sum "$work/$MEMBER" | cut -d' ' -f1)"
if [[ "$got" != "$ORT_SHA256" ]]; then
	say "sha256 mismatch for $MEMBER: got $got, want $ORT_SHA256"
	exit 1
fi

mkdir -p "$(dirname "$dest")"
# Rename into place so a concurrent reader never sees half a library.
install -m 0644 "$work/$MEMBER" "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
say "installed ONNX Runtime $ORT_VERSION at $dest"
[[ $CUDA == 0 ]] || install_cuda
echo "$dest"
