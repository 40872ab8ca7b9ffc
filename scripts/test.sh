#!/usr/bin/env bash
# corio's test command: builds and runs the test suite three ways
#   release  g++,     debugoptimized, -Dwerror=true
#   asan     g++,     AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     clang++, ThreadSanitizer
# each in its own build dir under build/. Select a subset with e.g.
#   CORIO_BUILDS="release asan" scripts/test.sh
# The last line of output is always "N passed, M failed" (totals); the exit
# status is non-zero if M > 0 or N == 0.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

scripts/deps.sh || { echo "deps.sh failed" >&2; echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

builds=${CORIO_BUILDS:-release asan tsan}

# Prints "<passed> <failed> <skipped>" for a meson testlog.json
# (one JSON object per line, field "result").
count_results() {
  local log=$1
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$log" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        try:
            r = json.loads(line).get("result")
        except ValueError:
            failed += 1
            continue
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:  # FAIL TIMEOUT ERROR UNEXPECTEDPASS INTERRUPT ...
            failed += 1
print(passed, failed, skipped)
PY
  else
    # Strings inside the JSON (stdout, env) have their quotes escaped, so the
    # only unescaped '"result": "X"' on a line is the field itself.
    grep -o '"result": *"[A-Z]*"' "$log" | sed 's/.*"\([A-Z]*\)"$/\1/' |
      awk '$1 == "OK" || $1 == "EXPECTEDFAIL" { p++; next }
           $1 == "SKIP" { s++; next }
           { f++ }
           END { printf "%d %d %d\n", p, f, s }'
  fi
}

# setup_dir <dir> <meson setup args...>: configure, reconfiguring an existing
# dir and wiping it if that fails.
setup_dir() {
  local dir=$1
  shift
  if [[ -f $dir/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$dir" "$@" && return 0
    echo "reconfigure of $dir failed; wiping it" >&2
  fi
  rm -rf "$dir"
  meson setup "$dir" "$@"
}

total_pass=0
total_fail=0
summary=()

for b in $builds; do
  dir=build/test-$b
  wrap=()
  case $b in
    release)
      cc=gcc cxx=g++ mult=1
      args=(--buildtype=debugoptimized -Dwerror=true)
      ;;
    asan)
      cc=gcc cxx=g++ mult=3
      # Benchmarks are built (not run) in the release leg; skipping them here keeps CI short.
      args=(--buildtype=debugoptimized "-Db_sanitize=address,undefined"
            -Db_lundef=false -Dframe_allocator=system -Dbenchmarks=disabled)
      ;;
    tsan)
      cc=clang cxx=clang++ mult=3
      args=(--buildtype=debugoptimized -Db_sanitize=thread
            -Db_lundef=false -Dframe_allocator=system -Dbenchmarks=disabled)
      # TSan (LLVM 14) cannot map its shadow memory when the kernel's ASLR
      # uses more than 28 bits; run the tests with randomization off then.
      rnd=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
      if ((rnd > 28)) && command -v setarch >/dev/null 2>&1 &&
         setarch "$(uname -m)" -R true 2>/dev/null; then
        wrap=(setarch "$(uname -m)" -R)
      fi
      ;;
    *)
      echo "unknown build '$b' in CORIO_BUILDS (expected release, asan, tsan)" >&2
      summary+=("$b: 0 passed, 1 failed (unknown build)")
      total_fail=$((total_fail + 1))
      continue
      ;;
  esac

  echo "=== $b: $dir ==="
  start=$SECONDS
  pass=0 fail=0 skip=0 note=""
  if ! CC=$cc CXX=$cxx setup_dir "$dir" "${args[@]}"; then
    fail=1 note=" (meson setup failed)"
  elif ! meson compile -C "$dir"; then
    fail=1 note=" (build failed)"
  else
    rm -f "$dir/meson-logs/testlog.json"
    "${wrap[@]}" meson test -C "$dir" --no-rebuild --num-processes 2 \
      --timeout-multiplier "$mult" --print-errorlogs
    rc=$?
    if [[ -s $dir/meson-logs/testlog.json ]]; then
      read -r pass fail skip < <(count_results "$dir/meson-logs/testlog.json")
      : "${pass:=0}" "${fail:=0}" "${skip:=0}"
      if ((rc != 0 && fail == 0)); then
        fail=1 note=" (meson test exited $rc)"
      fi
    elif ((rc != 0)); then
      fail=1 note=" (meson test exited $rc, no testlog.json)"
    fi
  fi
  elapsed=$((SECONDS - start))
  echo "=== $b: done in ${elapsed}s ==="
  line="$b: $pass passed, $fail failed"
  ((skip > 0)) && line+=", $skip skipped"
  summary+=("$line$note [${elapsed}s]")
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
done

echo
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
((total_fail == 0 && total_pass > 0))
