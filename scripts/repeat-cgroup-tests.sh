#!/bin/bash
# Runs the cgroup tests (test/system/cgroup.test.ts, and whole-evidence.test.ts's leak that double-
# forks while it is reaped) N times in a row beside two `yes` burners; stops at the first failure.
#   usage: scripts/repeat-cgroup-tests.sh [N]   (from a built checkout, as root; e.g. inside scripts/isolated.sh)
set -u
n=${1:-100}
yes >/dev/null & y1=$!
yes >/dev/null & y2=$!
trap 'kill $y1 $y2' EXIT
for i in $(seq 1 "$n"); do
  if ! { npx vitest run test/system/cgroup.test.ts && npx vitest run test/system/whole-evidence.test.ts -t "double-forks"; } > /tmp/rtrack-cgroup-run.log 2>&1; then
    echo "failed at run $i: /tmp/rtrack-cgroup-run.log"
    exit 1
  fi
  echo "run $i ok"
done
echo "all $n passed"
