#!/usr/bin/env bash
# Install whatever corio's build and test scripts need that is missing.
# Debian 12 packages only. Idempotent: when everything is present it only
# runs dpkg-query and prints nothing.
set -euo pipefail

packages=(
  meson ninja-build pkg-config cmake
  g++
  clang
  # clang-14 only *recommends* its sanitizer runtimes; without this package
  # `clang++ -fsanitize=thread` fails to link (no libclang_rt.tsan).
  libclang-rt-14-dev
  liburing-dev libconcurrentqueue-dev libmimalloc-dev
  libgtest-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

((${#missing[@]} == 0)) && exit 0

as_root=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps.sh: missing ${missing[*]}; not root and no sudo" >&2
    exit 1
  fi
  as_root=(sudo)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 ||
   ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
       apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  cat "$log" >&2
  echo "deps.sh: failed to install: ${missing[*]}" >&2
  exit 1
fi
echo "deps.sh: installed ${missing[*]}"
