#!/bin/sh
# Builds and runs tests/subproject/consumer the way a user would: a fresh project directory
# whose subprojects/corio is this repository (a symlink), configured, built and run.
#   run_consumer.sh REPO_ROOT CONSUMER_DIR MESON NINJA [CXX]
set -eu
repo_root=$1
consumer_dir=$2
meson=$3
ninja=$4
cxx=${5:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/corio-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

mkdir -p "$tmp/src/subprojects"
cp -R "$consumer_dir"/. "$tmp/src/"
ln -s "$repo_root" "$tmp/src/subprojects/corio"

# A sanitizer build of the parent must not leak its runtime options into this plain build.
unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS MSAN_OPTIONS LSAN_OPTIONS

if [ -n "$cxx" ]; then
  CXX=$cxx "$meson" setup "$tmp/build" "$tmp/src" --buildtype=debugoptimized
else
  "$meson" setup "$tmp/build" "$tmp/src" --buildtype=debugoptimized
fi
"$ninja" -C "$tmp/build"
"$tmp/build/consumer"
