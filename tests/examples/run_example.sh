#!/usr/bin/env bash
# run_example.sh PROGRAM EXPECTED [RUNS]
# Runs `PROGRAM --virtual` RUNS times (default 1) and compares its stdout line for line with
# the file EXPECTED. Fails on the first run whose output differs or whose exit status is not 0,
# showing the diff (expected vs actual) and the program's stderr.
set -uo pipefail

if (($# < 2 || $# > 3)); then
  echo "usage: $0 PROGRAM EXPECTED [RUNS]" >&2
  exit 2
fi
program=$1 expected=$2 runs=${3:-1}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for ((run = 1; run <= runs; run++)); do
  "$program" --virtual >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if ((rc != 0)) || ! diff -u --label expected --label actual "$expected" "$tmp/out" >"$tmp/diff"; then
    echo "FAIL: run $run of $runs: $program --virtual (exit status $rc)"
    cat "$tmp/diff"
    if [[ -s $tmp/err ]]; then
      echo "--- stderr:"
      cat "$tmp/err"
    fi
    exit 1
  fi
done
echo "OK: $runs run(s) of $(basename "$program") --virtual match $(basename "$expected")"
