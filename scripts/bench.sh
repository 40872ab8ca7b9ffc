#!/usr/bin/env bash
# Build corio in release mode (g++) and print the benchmark suite's headline
# table. Any arguments are passed to build/release/bench/corio-headline.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/deps.sh

dir=build/release
args=(--buildtype=release -Db_ndebug=true)
export CC=gcc CXX=g++
if [[ -f $dir/meson-private/coredata.dat ]] &&
   meson setup --reconfigure "$dir" "${args[@]}" >&2; then
  :
else
  rm -rf "$dir"
  meson setup "$dir" "${args[@]}" >&2
fi
ninja -C "$dir" >&2

exec "$dir/bench/corio-headline" "$@"
