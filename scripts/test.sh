#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, builds, runs tap,
# and ends with one line "N passed, N failed, N skipped".
# Extra arguments are passed to tap (e.g. a test file under dist/test/).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(find dist/test -name '*.test.js' | sort)
fi
log=$(mktemp)
# tap runs files in parallel; 2 jobs on this 2-core machine keep the lab tests from starving.
npx tap -R tap --jobs=2 --disable-coverage --allow-empty-coverage "${files[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^# \{ total:' "$log" | tail -1)
rm -f "$log"
num() { echo "$summary" | grep -oE "$1: [0-9]+" | grep -oE '[0-9]+' || echo 0; }
pass=$(num pass); fail=$(num fail); skip=$(num skip); todo=$(num todo)
if [ -z "$summary" ]; then fail=$((fail + 1)); rc=1; fi
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "${pass} passed, ${fail} failed, $((skip + todo)) skipped"
exit "$rc"
